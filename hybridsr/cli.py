"""The ``hybridsr`` command line (thin: it only drives :class:`HybridSRRegressor`).

``hybridsr fit data.csv --target y`` searches for ``y`` as a formula of the
other columns, prints the Pareto front, and writes it as CSV (``--output``,
default ``<data>.front.csv`` beside the data) and JSON (``--json``, default
the CSV's path with ``.json``)::

    hybridsr fit data.csv --target y --unary-operators sin cos --niterations 20

Operators are listed after their option, separated by spaces; quote ``*``
and custom definitions in the shell: ``--binary-operators + - '*' /
'special(x, y) = cos(x) * (x + y)'``.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import sys
from pathlib import Path
from typing import Sequence

from .config import SearchConfig

__all__ = ["main", "build_parser"]

#: The search's defaults, shown in the help and used when an option is not given.
_DEFAULTS = {f.name: f.default for f in dataclasses.fields(SearchConfig)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hybridsr", description="Symbolic regression: find formulas that fit data.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_fit_parser(commands)
    return parser


def _add_fit_parser(commands) -> None:
    fit = commands.add_parser(
        "fit", help="search for formulas of a CSV column", description=(
            "Search for the target column as a formula of the other columns of a CSV file, "
            "print the Pareto front, and write it as CSV and JSON."))
    fit.add_argument("data", type=Path, help="CSV file with a header row")
    fit.add_argument("--target", required=True, help="the column to explain")
    fit.add_argument("--features", nargs="+", metavar="COLUMN",
                     help="the input columns (default: every column but the target and weights)")
    fit.add_argument("--weights", metavar="COLUMN", help="a column of row weights for the loss")

    ops = fit.add_argument_group("operators")
    ops.add_argument("--binary-operators", nargs="+", default=["+", "-", "*", "/"], metavar="OP",
                     help="two-argument operators or definitions (default: + - * /)")
    ops.add_argument("--unary-operators", nargs="*", default=[], metavar="OP",
                     help="one-argument operators or definitions, e.g. sin cos exp (default: none)")

    search = fit.add_argument_group("search")
    for option, name, text in (
            ("--niterations", "niterations", "iterations"),
            ("--populations", "populations", "islands"),
            ("--population-size", "population_size", "members per island"),
            ("--ncycles-per-iteration", "ncycles_per_iteration",
             "tournament-mutation cycles per island and iteration"),
            ("--maxsize", "maxsize", "largest complexity of a formula")):
        search.add_argument(option, type=int, default=_DEFAULTS[name], metavar="N",
                            help=f"{text} (default: %(default)s)")
    search.add_argument("--loss", default="mse", help="mse, mae or huber (default: mse)")
    search.add_argument("--timeout", type=float, metavar="SECONDS",
                        help="stop after this many seconds")
    search.add_argument("--max-evals", type=int, metavar="N",
                        help="stop after this many candidate evaluations")
    search.add_argument("--model-selection", default="best",
                        help="which equation to mark as picked: best, accuracy or score "
                             "(default: best)")
    search.add_argument("--n-jobs", type=int, default=1, metavar="N",
                        help="worker processes (-1: every core; default: 1)")
    search.add_argument("--random-state", type=int, metavar="SEED", help="seed, for reproducible runs")

    out = fit.add_argument_group("output")
    out.add_argument("--output", type=Path, metavar="CSV",
                     help="where to write the front (default: <data>.front.csv); it is also "
                          "rewritten after every iteration")
    out.add_argument("--json", type=Path, metavar="PATH",
                     help="where to write the JSON summary (default: the CSV path with .json)")
    out.add_argument("--verbosity", type=int, default=1, metavar="LEVEL",
                     help="0: silent; 1: a progress line on a terminal (default); 2: a line per "
                          "iteration")
    fit.set_defaults(handler=run_fit)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hybridsr`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"hybridsr {args.command}: error: {error}", file=sys.stderr)
        return 2


def run_fit(args: argparse.Namespace) -> int:
    """``hybridsr fit``: load, search, print and save the front."""
    from .estimator import HybridSRRegressor
    from .export import format_front, front_records, select_index, write_front_csv, write_json

    frame = _read_csv(args.data)
    _check_columns(frame, [args.target, *([args.weights] if args.weights else []),
                           *(args.features or [])])
    features = args.features or [c for c in frame.columns if c not in (args.target, args.weights)]
    if not features:
        raise ValueError(f"{args.data} has no input columns besides the target {args.target!r}")
    output = args.output or args.data.with_suffix(".front.csv")
    json_path = args.json or output.with_suffix(".json")

    model = HybridSRRegressor(
        binary_operators=tuple(args.binary_operators), unary_operators=tuple(args.unary_operators),
        niterations=args.niterations, populations=args.populations,
        population_size=args.population_size, ncycles_per_iteration=args.ncycles_per_iteration,
        # The default tournament cannot exceed a small population.
        tournament_selection_n=min(_DEFAULTS["tournament_selection_n"], args.population_size),
        maxsize=args.maxsize,
        loss=args.loss, timeout_in_seconds=args.timeout, max_evals=args.max_evals,
        model_selection=args.model_selection, n_jobs=args.n_jobs,
        random_state=args.random_state, verbosity=args.verbosity, output_file=output)
    weights = frame[args.weights].to_numpy() if args.weights else None
    model.fit(frame[features], frame[args.target].to_numpy(), weights=weights)

    table = model.equations_
    selected = select_index(table, model.model_selection)
    result = model.search_results_[0]
    print(f"Pareto front of {args.target} ({len(frame)} rows; stopped by {result.stop_reason} "
          f"after {result.n_iterations} iterations, {result.n_evals:,} evaluations, "
          f"{result.elapsed:.1f} s):")
    print(format_front(table, selected))
    print(f"picked ({model.model_selection}): {args.target} = {table['equation'].iloc[selected]}")
    write_json({
        "data": str(args.data),
        "target": args.target,
        "features": [str(c) for c in features],
        "variable_names": list(model.variable_names_),
        "model_selection": model.model_selection,
        "selected": selected,
        "stop_reason": result.stop_reason,
        "n_iterations": result.n_iterations,
        "n_evals": result.n_evals,
        "elapsed_seconds": result.elapsed,
        "equations": front_records(table, model.language_, selected),
    }, json_path)
    write_front_csv(table, output)  # the final table (the search rewrote it each iteration)
    print(f"wrote {output} and {json_path}")
    return 0


def _read_csv(path: Path):
    import pandas as pd

    if not path.is_file():
        raise ValueError(f"no data file at {str(path)!r}; pass the path of a CSV file")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read {str(path)!r} as CSV with a header row: {error}") from None


def _check_columns(frame, names: list[str]) -> None:
    columns = [str(c) for c in frame.columns]
    for name in names:
        if name not in columns:
            near = difflib.get_close_matches(name, columns, n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"no column {name!r} in the data; its columns are {columns}.{hint}")


if __name__ == "__main__":
    sys.exit(main())
