"""The Pareto front as a table, model selection, and the front's exports.

A search ends with a hall of fame: the best equation found at each
complexity, ascending. :func:`equations_table` turns it into the table that
:attr:`HybridSRRegressor.equations_ <hybridsr.estimator.HybridSRRegressor>`
holds, with PySR's columns:

``complexity``, ``loss``, ``score``
    ``score`` is the drop in log-loss per unit of complexity from the
    previous (simpler) equation, ``-Δlog(loss) / Δcomplexity`` (0 for the
    first, inf where the loss reaches 0). Losses below the table's
    ``loss_floor`` (kept in ``table.attrs``; see :func:`rounding_loss_floor`)
    count as equal to it, so that an exact formula and a longer one that
    differs from it only by float64 rounding do not score as a huge
    improvement.
``validation_loss``
    The mean loss on held-out folds with the constants refitted on the
    other rows (:mod:`hybridsr.validation`); NaN when not computed.
``equation``
    PySR-style text, ``((2.5 * x0) + sin(x1))``, constants in full.
``sympy``
    The sympy expression, in :func:`~hybridsr.expr.readable_form`: a fitted
    constant that equals a simple number (``1/(4*pi)``, ``3/2``) to 9
    significant digits is written as that number, and a fraction's
    redundant scale is divided out; ``equation`` keeps every constant as
    fitted.
``lambda``
    An :class:`EquationFunction`: a picklable numpy callable taking ``X``.
``tree``
    The expression tree, for evaluation with the kernels.

:func:`select_index` implements the ``model_selection`` rules, and the
``write_*`` functions save a front as CSV or JSON atomically (a temporary
file renamed into place), so a reader never sees half a file.
"""

from __future__ import annotations

import json
import math
import os
import uuid
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from .config import check_choice
from .expr import Language, evaluate_tree, readable_form, to_latex, to_string, tree_to_sympy
from .gp.scoring import loss_floor

__all__ = ["MODEL_SELECTIONS", "BEST_LOSS_FACTOR", "EquationFunction", "pareto_scores",
           "rounding_loss_floor", "beats_on_most_rows", "RowLosses", "SIGN_TEST_DEVIATIONS",
           "front_frame", "equations_table", "select_index", "check_index", "format_front",
           "front_records", "write_front_csv", "write_json", "write_text_atomic"]

#: Valid values of ``model_selection``.
MODEL_SELECTIONS = frozenset({"best", "accuracy", "score"})
#: "best" picks the highest score among equations whose loss is at most this
#: multiple of the lowest loss (PySR's rule).
BEST_LOSS_FACTOR = 1.5
#: Columns shown by :func:`format_front` and written by :func:`write_front_csv`.
SHOWN_COLUMNS = ("complexity", "loss", "score", "equation")
#: Prediction errors up to this many float64 epsilons of the targets' scale
#: count as rounding (a sum of a few hundred rounded terms stays below it).
ROUNDING_EPSILONS = 1000.0


class EquationFunction:
    """An equation as a numpy function of ``X`` (the ``lambda`` column).

    Evaluates with numpy (:func:`~hybridsr.expr.evaluate_tree`), so it needs
    no compiled kernels; NaN or inf where an operator leaves its domain.

    Parameters
    ----------
    tree : Individual
    language : Language
    """

    def __init__(self, tree, language: Language):
        self.tree = tree
        self.language = language

    def __call__(self, X) -> np.ndarray:
        """Values at the rows of ``X``, an array or DataFrame of shape (n_samples, n_features)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.language.n_features:
            raise ValueError(f"X must have shape (n_samples, {self.language.n_features}), "
                             f"got {X.shape}")
        return evaluate_tree(self.tree, self.language, X)

    def __repr__(self) -> str:
        return f"EquationFunction({to_string(self.tree, self.language)})"


def rounding_loss_floor(y, loss: str = "mse", huber_delta: float = 1.0) -> float:
    """The loss that float64 rounding alone can cause on targets ``y``.

    An error of ``ROUNDING_EPSILONS * eps * rms(y)`` on every row, put
    through the loss; equations whose losses are below it are equally exact.
    """
    return loss_floor(y, loss, huber_delta, ROUNDING_EPSILONS * float(np.finfo(np.float64).eps))


def pareto_scores(losses: Sequence[float], complexities: Sequence[float],
                  loss_floor: float = 0.0) -> np.ndarray:
    """``-Δlog(loss) / Δcomplexity`` between consecutive front entries (0 for the first).

    Losses are first raised to ``loss_floor``. A loss of 0 after a positive
    one scores inf; a step that does not raise the complexity, or from one
    zero loss to another, scores 0.
    """
    losses = np.maximum(np.asarray(losses, dtype=np.float64), loss_floor)
    complexities = np.asarray(complexities, dtype=np.float64)
    scores = np.zeros(len(losses))
    for i in range(1, len(losses)):
        previous, current = losses[i - 1], losses[i]
        step = complexities[i] - complexities[i - 1]
        if step <= 0 or not (np.isfinite(previous) and np.isfinite(current)):
            continue
        if current <= 0:
            scores[i] = math.inf if previous > 0 else 0.0
        elif previous > 0:
            scores[i] = -math.log(current / previous) / step
    return scores


def front_frame(front: Iterable, language: Language, loss_floor: float = 0.0) -> pd.DataFrame:
    """The cheap part of the table: complexity, loss, score, equation and tree.

    Parameters
    ----------
    front : iterable of members
        Objects with ``tree``, ``loss`` and ``complexity`` attributes (the
        search's hall of fame); sorted here by complexity.
    language : Language
    loss_floor : float, default 0.0
        Losses below this count as equal to it in scores and selection
        (stored as ``table.attrs["loss_floor"]``).
    """
    members = sorted(front, key=lambda m: m.complexity)
    complexities = [float(m.complexity) for m in members]
    losses = [float(m.loss) for m in members]
    table = pd.DataFrame({
        "complexity": pd.Series(complexities, dtype=np.float64),
        "loss": pd.Series(losses, dtype=np.float64),
        "score": pd.Series(pareto_scores(losses, complexities, loss_floor), dtype=np.float64),
        "equation": pd.Series([to_string(m.tree, language) for m in members], dtype=object),
        "tree": pd.Series([m.tree for m in members], dtype=object),
    })
    table.attrs["loss_floor"] = float(loss_floor)
    return table


class RowLosses:
    """Held-out losses row by row (one row per equation), as an equations table keeps them
    in ``attrs``. Compares by value: pandas compares the attrs of tables it concatenates
    (``nlargest`` does), and an array has no single truth value."""

    __slots__ = ("values",)

    def __init__(self, values):
        self.values = np.asarray(values, dtype=np.float64)

    def __eq__(self, other) -> bool:
        return isinstance(other, RowLosses) and np.array_equal(self.values, other.values)

    __hash__ = None


def equations_table(front: Iterable, language: Language, loss_floor: float = 0.0,
                    validation_losses: Sequence[float] | None = None,
                    validation_row_losses: np.ndarray | None = None) -> pd.DataFrame:
    """The full table of a front (see the module docstring for the columns).

    ``validation_losses``, in the front's complexity order, fill the
    ``validation_loss`` column (NaN without them). ``validation_row_losses``
    (one row of held-out losses per equation, same order) are kept in
    ``table.attrs["validation_row_losses"]`` (a :class:`RowLosses`) for
    :func:`select_index`.
    """
    table = front_frame(front, language, loss_floor)
    trees = list(table["tree"])
    if validation_losses is None:
        validation_losses = np.full(len(trees), np.nan)
    elif len(validation_losses) != len(trees):
        raise ValueError(f"got {len(validation_losses)} validation losses for {len(trees)} equations")
    table.insert(3, "validation_loss", pd.Series(validation_losses, dtype=np.float64))
    if validation_row_losses is not None:
        if len(validation_row_losses) != len(trees):
            raise ValueError(f"got held-out row losses of {len(validation_row_losses)} equations "
                             f"for {len(trees)}")
        table.attrs["validation_row_losses"] = RowLosses(validation_row_losses)
    table.insert(5, "sympy", pd.Series([readable_form(tree_to_sympy(t, language)) for t in trees],
                                       dtype=object))
    table.insert(6, "lambda", pd.Series([EquationFunction(t, language) for t in trees], dtype=object))
    return table


def select_index(table: pd.DataFrame, model_selection: str = "best",
                 loss_floor: float | None = None) -> int:
    """Row position of the equation that ``model_selection`` picks.

    ``"accuracy"``: the lowest loss. ``"score"``: the highest score.
    ``"best"``: the highest score among equations whose loss is at most
    :data:`BEST_LOSS_FACTOR` times the lowest, losses first raised to
    ``loss_floor`` (by default ``table.attrs["loss_floor"]``, else 0). Ties
    go to the simpler equation. When the table has validation losses,
    "best" compares those instead of the training losses, so an equation
    that only fits the noise of the training rows is not eligible; and with
    held-out losses row by row (``table.attrs["validation_row_losses"]``)
    it then takes the simplest equation that its pick does not beat on
    clearly more than half of the held-out rows (:func:`beats_on_most_rows`),
    so that a formula whose lower loss comes from a few rows (a pole placed
    at one noisy point) does not displace the law.
    """
    check_choice("model_selection", model_selection, MODEL_SELECTIONS)
    if len(table) == 0:
        raise ValueError("the equations table is empty; there is nothing to select")
    if loss_floor is None:
        loss_floor = float(table.attrs.get("loss_floor", 0.0))
    losses = table["loss"].to_numpy(dtype=np.float64)
    scores = table["score"].to_numpy(dtype=np.float64)
    if model_selection == "accuracy":
        return int(np.argmin(losses))
    if model_selection == "score":
        return int(np.argmax(scores))
    if "validation_loss" in table and not table["validation_loss"].isna().all():
        # A NaN (not computed) or inf (invalid on a fold) makes an equation ineligible.
        losses = np.nan_to_num(table["validation_loss"].to_numpy(dtype=np.float64), nan=np.inf)
    floored = np.maximum(losses, loss_floor)
    eligible = np.flatnonzero(floored <= BEST_LOSS_FACTOR * np.min(floored))
    pick = int(eligible[np.argmax(scores[eligible])])
    by_row = table.attrs.get("validation_row_losses")
    by_row = None if by_row is None else np.asarray(getattr(by_row, "values", by_row))
    if by_row is None or by_row.ndim != 2 or by_row.shape[0] != len(table) or by_row.shape[1] == 0:
        return pick
    complexities = table["complexity"].to_numpy(dtype=np.float64)
    for simpler in np.argsort(complexities, kind="stable"):
        if complexities[simpler] >= complexities[pick]:
            break
        if np.all(np.isfinite(by_row[simpler])) and not beats_on_most_rows(by_row[pick], by_row[simpler]):
            return int(simpler)
    return pick


#: How many standard deviations above half of the rows a formula must win to beat another
#: (a one-sided sign test; 1 is a 16% chance that a formula no better wins that often).
SIGN_TEST_DEVIATIONS = 1.0


def beats_on_most_rows(losses: np.ndarray, other: np.ndarray) -> bool:
    """Whether ``losses`` is lower than ``other`` on clearly more than half of the rows
    where they differ: more than ``m/2 + SIGN_TEST_DEVIATIONS * sqrt(m)/2`` of them, ``m``
    the rows that differ (a sign test, which a few rows of large gains cannot pass)."""
    differ = losses != other
    m = int(np.count_nonzero(differ))
    wins = int(np.count_nonzero(losses[differ] < other[differ]))
    return m > 0 and wins > m / 2 + SIGN_TEST_DEVIATIONS * math.sqrt(m) / 2


def check_index(table: pd.DataFrame, index) -> int:
    """``index`` as a valid row position of ``table`` (negative counts from the end)."""
    n = len(table)
    if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"index must be an integer row position of equations_, got {index!r}")
    if not -n <= index < n:
        raise IndexError(f"index {int(index)} is out of range: equations_ has {n} rows "
                         f"(positions 0 to {n - 1})")
    return int(index) % n


def format_front(table: pd.DataFrame, selected: int | None = None) -> str:
    """The front as an aligned text table, the selected row marked ``>>>>`` (as PySR)."""
    shown = table.loc[:, list(SHOWN_COLUMNS)].copy()
    shown["complexity"] = [_format_number(c) for c in shown["complexity"]]
    shown.insert(0, "pick", [">>>>" if i == selected else "" for i in range(len(shown))])
    # Equations read best left-aligned, under a header padded to their width.
    width = max([len("equation"), *map(len, shown["equation"])])
    shown["equation"] = [text.ljust(width) for text in shown["equation"]]
    shown = shown.rename(columns={"equation": "equation".ljust(width)})
    with pd.option_context("display.max_colwidth", None, "display.max_rows", None,
                           "display.width", None, "display.float_format", "{:.6g}".format):
        return "\n".join(line.rstrip() for line in shown.to_string().splitlines())


def front_records(table: pd.DataFrame, language: Language, selected: int | None = None) -> list[dict]:
    """The front as JSON-ready dicts: complexity, loss, validation loss (null when not
    computed), score, equation, sympy, latex, selected."""
    validation = (table["validation_loss"] if "validation_loss" in table
                  else pd.Series(np.nan, index=table.index))
    records = []
    for i, (row, held_out) in enumerate(zip(table.itertuples(index=False), validation)):
        records.append({
            "complexity": _json_number(row.complexity),
            "loss": _json_number(row.loss),
            "validation_loss": _json_number(held_out),
            "score": _json_number(row.score),
            "equation": row.equation,
            "sympy": str(readable_form(tree_to_sympy(row.tree, language))),
            "latex": to_latex(row.tree, language),
            "selected": i == selected,
        })
    return records


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_front_csv(table: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write the front's complexity, loss, score and equation as CSV, atomically."""
    csv = table.loc[:, list(SHOWN_COLUMNS)].to_csv(index=False, float_format="%.17g")
    write_text_atomic(path, csv)


def write_json(document, path: str | os.PathLike) -> None:
    """Write a JSON document atomically (inf and NaN as null; see :func:`front_records`)."""
    write_text_atomic(path, json.dumps(document, indent=2, allow_nan=False) + "\n")


def _json_number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _format_number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"
