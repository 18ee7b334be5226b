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
    _add_bench_parser(commands)
    _add_transformer_parser(commands)
    return parser


def _add_bench_parser(commands) -> None:
    bench = commands.add_parser(
        "bench", help="run methods on a benchmark suite and tabulate which laws they recover",
        description=(
            "Run each (method, problem, seed) in its own process with a hard time limit, judge "
            "the result (exact and selected / exact on the front / accurate / failed), save JSON "
            "lines in --out and print the table. Repeating a run skips what is done. "
            "`hybridsr bench report DIR` rebuilds the tables from saved results."))
    bench.add_argument("action", nargs="*", metavar="report DIR",
                       help="`report DIR`: print and export the tables of saved results")
    bench.add_argument("--rejudge", action="store_true",
                       help="with `report DIR`: judge the saved formulas again with this version")
    bench.add_argument("--suite", default="empirical",
                       help="empirical, feynman, nguyen, seed, or a path to your own suite "
                            "(default: empirical)")
    bench.add_argument("--problems", metavar="NAMES",
                       help="comma-separated problem names to run (default: the whole suite)")
    bench.add_argument("--methods", default="hybridsr-full", metavar="NAMES",
                       help="comma-separated: hybridsr-full (GP seeded by the sparse basis fits "
                            "and the teacher's structure), hybridsr (student-guided GP), "
                            "hybridsr-gp (GP alone), hybridsr-structure (GP seeded by the "
                            "teacher's separability and symmetries), hybridsr-transformer (GP "
                            "seeded by the transformer), eql, student, transformer, and the peers "
                            "operon, gplearn, feyn (default: hybridsr-full)")
    bench.add_argument("--seeds", type=int, default=5, metavar="N", help="seeds 0..N-1 (default: 5)")
    bench.add_argument("--time", type=float, default=60.0, metavar="SECONDS",
                       help="time budget of each run (default: 60)")
    bench.add_argument("--noise", type=float, metavar="FRACTION",
                       help="Gaussian noise with this fraction of std(y) (default: the problem's)")
    bench.add_argument("--n-samples", type=int, metavar="N", help="training rows (default: the problem's)")
    bench.add_argument("--out", type=Path, default=Path("results"), metavar="DIR",
                       help="results directory (default: results)")
    bench.add_argument("--n-jobs", type=int, default=1, metavar="N",
                       help="cores each method may use (default: 1)")
    bench.add_argument("--parallel", type=int, default=1, metavar="N",
                       help="jobs run at once; keep parallel * n-jobs within the cores (default: 1)")
    bench.add_argument("--task-index", type=int, default=0, metavar="I",
                       help="this task's index in a job array (default: 0)")
    bench.add_argument("--num-tasks", type=int, default=1, metavar="N",
                       help="tasks in the job array; jobs are dealt round-robin (default: 1)")
    bench.add_argument("--cluster", metavar="WHERE",
                       help="run the jobs as Dask tasks: local, slurm, pbs, sge, lsf or a scheduler "
                            "address (needs pip install \"hybridsr[cluster]\"); instead of "
                            "--parallel and --task-index/--num-tasks")
    bench.add_argument("--cluster-option", action="append", default=[], metavar="KEY=VALUE",
                       help="a cluster setting, repeatable, e.g. --cluster-option cores=4 "
                            "--cluster-option memory=8GB --cluster-option jobs=10 "
                            "--cluster-option 'job_extra_directives=[\"--exclusive\"]'")
    bench.set_defaults(handler=run_bench)


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
    search.add_argument("--guidance", nargs="*", default=[], metavar="NAME",
                        help="candidate generators that seed the search: student, structure, "
                             "sparse, transformer "
                             "(default: none, plain GP)")

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
    except (ValueError, TypeError, OSError, ImportError) as error:
        # ImportError: an optional extra that is not installed (its message says which).
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
        random_state=args.random_state, verbosity=args.verbosity, output_file=output,
        guidance=list(args.guidance) or None)
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


def run_bench(args: argparse.Namespace) -> int:
    """``hybridsr bench``: run what is left of a benchmark, then print and export its table."""
    from .bench.report import write_reports

    if args.action:
        if args.action[0] != "report" or len(args.action) > 2:
            raise ValueError(f"unknown bench action {' '.join(args.action)!r}; "
                             "use `hybridsr bench report DIR` or options only")
        out = Path(args.action[1]) if len(args.action) == 2 else args.out
        if not out.is_dir():
            raise ValueError(f"no results directory at {str(out)!r}")
        if args.rejudge:
            from .bench.report import load_results, rejudge_results
            from .datasets import get_suite

            problems = {}
            for suite in sorted({r.get("suite") for r in load_results(out)} - {None}):
                try:
                    problems.update((p.name, p) for p in get_suite(suite))
                except ValueError:
                    print(f"suite {suite!r} is not available here; its records keep their outcomes")
            print(f"{rejudge_results(out, problems)} outcome(s) changed on judging again")
        write_reports(out)
        print((out / "summary.txt").read_text(), end="")
        print(f"wrote {out / 'summary.txt'}, summary.md and summary.csv")
        _write_plots(out)
        return 0

    from .bench.methods import METHOD_NAMES
    from .bench.runner import run_benchmark
    from .datasets import get_suite

    problems = get_suite(args.suite)
    if args.problems:
        wanted = [name.strip() for name in args.problems.split(",") if name.strip()]
        names = {p.name for p in problems}
        missing = [name for name in wanted if name not in names]
        if missing:
            near = difflib.get_close_matches(missing[0], sorted(names), n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"problem(s) {missing} are not in suite {args.suite!r}.{hint} "
                             f"Its problems: {sorted(names)}")
        problems = [p for p in problems if p.name in wanted]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for method in methods:
        if method not in METHOD_NAMES:
            near = difflib.get_close_matches(method, METHOD_NAMES, n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"unknown method {method!r}; choose from {list(METHOD_NAMES)}.{hint}")
    if args.seeds < 1 or args.time <= 0:
        raise ValueError("--seeds must be at least 1 and --time positive")
    if args.n_jobs < 1 or args.parallel < 1:
        raise ValueError("--n-jobs and --parallel must be at least 1")
    if args.cluster_option and not args.cluster:
        raise ValueError("--cluster-option needs --cluster (local, slurm, pbs, sge, lsf or an address)")
    run_benchmark(problems, methods, list(range(args.seeds)), args.time, args.out,
                  noise=args.noise, n_samples=args.n_samples, task_index=args.task_index,
                  num_tasks=args.num_tasks, n_jobs=args.n_jobs, parallel=args.parallel,
                  cluster=args.cluster, cluster_options=_cluster_options(args.cluster_option))
    write_reports(args.out)
    print((Path(args.out) / "summary.txt").read_text(), end="")
    _write_plots(args.out)
    return 0


def _cluster_options(pairs: list[str]) -> dict:
    """``--cluster-option KEY=VALUE`` pairs as a dict; values read as Python literals when
    they are one (``4``, ``["--exclusive"]``), else kept as text (``8GB``)."""
    import ast

    options = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--cluster-option {pair!r} is not KEY=VALUE, e.g. cores=4")
        try:
            options[key.strip()] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            options[key.strip()] = text
    return options


def _write_plots(out: Path) -> None:
    """The recovery, time-to-solution and Pareto-front pictures, when matplotlib is installed."""
    try:
        from .bench.plots import write_plots

        paths = write_plots(out)
    except ImportError as error:
        print(f"no plots: {error}")
        return
    names = [p.name for p in paths if p.parent == Path(out)]
    fronts = len(paths) - len(names)
    print(f"wrote {len(paths)} plot(s) in {out} ({', '.join(names)}"
          + (f", {fronts} in fronts/)" if fronts else ")"))


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


# ------------------------------------------------------------------ transformer
def _add_transformer_parser(commands) -> None:
    transformer = commands.add_parser(
        "transformer", help="train the SR-Transformer (data points in, formula out)",
        description=(
            "`hybridsr transformer train` trains an SR-Transformer from scratch on generated "
            "formulas (CPU) and writes its weights; the same options and seed give the same "
            "weights. The package ships one trained this way (hybridsr/transformer/"
            "sr_transformer.pt; its training options are stored in the file)."))
    actions = transformer.add_subparsers(dest="action", metavar="ACTION", required=True)
    train = actions.add_parser("train", help="train a model and save its weights")
    train.add_argument("--out", type=Path, default=Path("sr_transformer.pt"), metavar="PATH",
                       help="weights file, rewritten at every checkpoint (default: sr_transformer.pt)")
    train.add_argument("--pool", type=Path, metavar="PATH",
                       help="keep the skeleton pool here and reuse it when the settings match "
                            "(default: <out>.pool.txt)")
    from .transformer.config import TransformerConfig  # no torch: config and options only
    from .transformer.training_options import TrainingOptions

    config, options = TransformerConfig(), TrainingOptions()
    for field, text in (("steps", "optimiser steps"), ("batch_size", "datasets per step"),
                        ("min_points", "fewest points of a dataset"),
                        ("max_points", "most points of a dataset"),
                        ("warmup", "learning-rate warm-up steps"),
                        ("pool_attempts", "random trees drawn for the skeleton pool"),
                        ("max_operators", "most operators of a random tree"),
                        ("seed", "seed of the whole run"), ("threads", "torch threads"),
                        ("jobs", "processes building the pool"),
                        ("checkpoint_every", "steps between checkpoints"),
                        ("log_every", "steps between progress lines")):
        train.add_argument("--" + field.replace("_", "-"), type=int, default=getattr(options, field),
                           metavar="N", help=f"{text} (default: %(default)s)")
    train.add_argument("--learning-rate", type=float, default=options.learning_rate, metavar="LR",
                       help="peak learning rate (default: %(default)s)")
    train.add_argument("--max-seconds", type=float, metavar="SECONDS",
                       help="stop early after this long (the file is then marked incomplete)")
    for field in ("d_model", "n_heads", "n_encoder_layers", "n_decoder_layers", "d_feedforward",
                  "d_number", "max_length", "max_variables"):
        train.add_argument("--" + field.replace("_", "-"), type=int, default=getattr(config, field),
                           metavar="N", help=f"network setting (default: %(default)s)")
    train.add_argument("--constants", default=config.constants, choices=("skeleton", "float"),
                       help="write constants as placeholders refitted afterwards, or as float "
                            "tokens (default: %(default)s)")
    train.set_defaults(handler=run_transformer)


def run_transformer(args: argparse.Namespace) -> int:
    """``hybridsr transformer train``: train a model and save it."""
    from .transformer.config import TransformerConfig
    from .transformer.training import train
    from .transformer.training_options import TrainingOptions

    config = TransformerConfig(**{f: getattr(args, f) for f in (
        "d_model", "n_heads", "n_encoder_layers", "n_decoder_layers", "d_feedforward", "d_number",
        "max_length", "max_variables", "constants")})
    options = TrainingOptions(**{f: getattr(args, f) for f in (
        "steps", "batch_size", "min_points", "max_points", "warmup", "pool_attempts",
        "max_operators", "seed", "threads", "jobs", "checkpoint_every", "log_every",
        "learning_rate", "max_seconds")})
    pool = args.pool or args.out.with_name(args.out.name + ".pool.txt")
    train(config, options, args.out, pool_path=pool, log=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
