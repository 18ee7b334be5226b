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
``description_length``
    With held-out losses, the equation's two-part code length in nats
    (:func:`description_lengths`): what "best" selection minimises. NaN
    without them.
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

from .config import LOSS_NAMES, check_choice
from .expr import (Language, constants_of, evaluate_tree, readable_form, to_latex, to_string,
                   tree_to_sympy)
from .gp.scoring import loss_floor

__all__ = ["MODEL_SELECTIONS", "BEST_LOSS_FACTOR", "EquationFunction", "pareto_scores",
           "rounding_loss_floor", "description_lengths", "language_symbols", "front_frame",
           "equations_table", "select_index", "check_index", "format_front", "front_records",
           "write_front_csv", "write_json", "write_text_atomic"]

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


def description_lengths(losses, complexities, n_constants, n_rows: int, n_symbols: int,
                        loss_floor: float = 0.0, loss: str = "mse",
                        held_out_folds: int = 0) -> np.ndarray:
    """Two-part code length, in nats, of ``n_rows`` data rows under each equation.

    The minimum-description-length criterion of exhaustive symbolic
    regression (Bartlett, Desmond and Ferreira 2023), with the Bayesian
    information criterion's term in place of their Fisher-information one
    for the constants. The sum of three parts:

    * the residuals, ``n_rows/2 * log(loss)`` for the squared losses ("mse",
      "huber") and ``n_rows * log(loss)`` for "mae": the negative
      log-likelihood of Gaussian (Laplace) residuals at the loss's scale,
      less the terms every equation shares; losses are first raised to
      ``loss_floor``;
    * the structure, ``complexity * log(n_symbols)``: each node is one of the
      ``n_symbols`` things the language can write (operators, variables and
      a constant);
    * the constants, ``n_constants/2 * log(n_rows)``: each stated to the
      precision the rows determine it to.

    With ``held_out_folds`` = K >= 2 the losses are held out: each row's
    loss was measured with the constants fitted on the other K - 1 folds.
    Such a loss already pays for every fitted constant: in expectation it
    exceeds the training loss by ``(1 + K/(K - 1))/2`` nats per constant
    (half from the training fit's optimism, half from fitting on fewer
    rows; the linear-Gaussian case, the reason leave-one-out
    cross-validation behaves like Akaike's criterion). The constants' part
    is then lowered by that much, to no less than 0, so that the total
    charges a constant what the Bayesian information criterion does, once.

    A longer formula has to lower the loss by a factor that grows with its
    extra nodes and constants and shrinks with the rows: on thirty noisy
    points, two more nodes of twelve symbols cost as much as a 28% lower
    loss. Non-finite or NaN losses give inf.
    """
    losses = np.asarray(losses, dtype=np.float64)
    complexities = np.asarray(complexities, dtype=np.float64)
    n_constants = np.asarray(n_constants, dtype=np.float64)
    check_choice("loss", loss, LOSS_NAMES)
    if n_rows < 1 or n_symbols < 2:
        raise ValueError(f"a description length needs rows and at least 2 symbols, got "
                         f"n_rows={n_rows}, n_symbols={n_symbols}")
    if held_out_folds < 0 or held_out_folds == 1:
        raise ValueError(f"held_out_folds must be 0 (training losses) or the number of folds "
                         f"(at least 2) the losses were held out from, got {held_out_folds}")
    constant_cost = math.log(n_rows) / 2
    if held_out_folds:
        constant_cost = max(0.0, constant_cost - (1 + held_out_folds / (held_out_folds - 1)) / 2)
    residual_weight = n_rows if loss == "mae" else n_rows / 2
    usable = np.isfinite(losses)
    with np.errstate(divide="ignore"):
        residuals = residual_weight * np.log(np.maximum(np.where(usable, losses, 1.0), loss_floor))
    lengths = (residuals + complexities * math.log(n_symbols)
               + n_constants * constant_cost)
    # A zero loss at a zero floor is -inf: an exact description, shorter than any other.
    return np.where(usable, lengths, np.inf)


def language_symbols(language: Language) -> int:
    """How many symbols a node of ``language`` picks from: operators, variables, a constant."""
    return len(language.operator_set.operators) + language.n_features + 1


def equations_table(front: Iterable, language: Language, loss_floor: float = 0.0,
                    validation_losses: Sequence[float] | None = None,
                    validation_rows: int = 0, loss: str = "mse",
                    validation_folds: int = 0) -> pd.DataFrame:
    """The full table of a front (see the module docstring for the columns).

    ``validation_losses``, in the front's complexity order, fill the
    ``validation_loss`` column (NaN without them); measured on
    ``validation_rows`` held-out rows (more than 0) of the loss ``loss``,
    they also give the ``description_length`` column that "best" selection
    minimises (:func:`description_lengths`; ``validation_folds``, the folds
    they were held out from, lowers its charge per constant by what the
    held-out losses already paid).
    """
    table = front_frame(front, language, loss_floor)
    trees = list(table["tree"])
    if validation_losses is None:
        validation_losses = np.full(len(trees), np.nan)
    elif len(validation_losses) != len(trees):
        raise ValueError(f"got {len(validation_losses)} validation losses for {len(trees)} equations")
    validation_losses = np.asarray(validation_losses, dtype=np.float64)
    table.insert(3, "validation_loss", pd.Series(validation_losses, dtype=np.float64))
    lengths = np.full(len(trees), np.nan)
    if validation_rows > 0 and not np.isnan(validation_losses).all():
        lengths = description_lengths(validation_losses, table["complexity"],
                                      [constants_of(tree).size for tree in trees],
                                      validation_rows, language_symbols(language), loss_floor, loss,
                                      held_out_folds=validation_folds)
    table.insert(4, "description_length", pd.Series(lengths, dtype=np.float64))
    table.insert(6, "sympy", pd.Series([readable_form(tree_to_sympy(t, language)) for t in trees],
                                       dtype=object))
    table.insert(7, "lambda", pd.Series([EquationFunction(t, language) for t in trees], dtype=object))
    return table


def select_index(table: pd.DataFrame, model_selection: str = "best",
                 loss_floor: float | None = None) -> int:
    """Row position of the equation that ``model_selection`` picks.

    ``"accuracy"``: the lowest loss. ``"score"``: the highest score.
    ``"best"``: the shortest description length when the table has that
    column (from held-out losses; :func:`description_lengths`), ties to the
    simpler equation. Without it, PySR's rule: the highest score among
    equations whose loss is at most :data:`BEST_LOSS_FACTOR` times the
    lowest, losses first raised to ``loss_floor`` (by default
    ``table.attrs["loss_floor"]``, else 0), the held-out losses compared
    instead of the training ones where the table has some.
    """
    check_choice("model_selection", model_selection, MODEL_SELECTIONS)
    if len(table) == 0:
        raise ValueError("the equations table is empty; there is nothing to select")
    if loss_floor is None:
        loss_floor = float(table.attrs.get("loss_floor", 0.0))
    losses = table["loss"].to_numpy(dtype=np.float64)
    scores = table["score"].to_numpy(dtype=np.float64)
    complexities = table["complexity"].to_numpy(dtype=np.float64)
    if model_selection == "accuracy":
        return int(np.argmin(losses))
    if model_selection == "score":
        return int(np.argmax(scores))
    if "description_length" in table:
        lengths = np.nan_to_num(table["description_length"].to_numpy(dtype=np.float64), nan=np.inf)
        if (lengths < np.inf).any():
            return int(np.lexsort((complexities, lengths))[0])
    if "validation_loss" in table and not table["validation_loss"].isna().all():
        # A NaN (not computed) or inf (invalid on a fold) makes an equation ineligible.
        losses = np.nan_to_num(table["validation_loss"].to_numpy(dtype=np.float64), nan=np.inf)
    floored = np.maximum(losses, loss_floor)
    eligible = np.flatnonzero(floored <= BEST_LOSS_FACTOR * np.min(floored))
    return int(eligible[np.argmax(scores[eligible])])


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
    """The front as an aligned text table, the selected row marked ``>>>>`` (as PySR), with
    the description lengths that "best" compares when the table has them."""
    shown = table.loc[:, list(SHOWN_COLUMNS)].copy()
    if "description_length" in table and not table["description_length"].isna().all():
        shown.insert(3, "description_length", table["description_length"])
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
    """The front as JSON-ready dicts: complexity, loss, validation loss and description
    length (null when not computed), score, equation, sympy, latex, selected."""
    def column(name):
        return table[name] if name in table else pd.Series(np.nan, index=table.index)

    records = []
    for i, (row, held_out, length) in enumerate(zip(table.itertuples(index=False),
                                                    column("validation_loss"),
                                                    column("description_length"))):
        records.append({
            "complexity": _json_number(row.complexity),
            "loss": _json_number(row.loss),
            "validation_loss": _json_number(held_out),
            "description_length": _json_number(length),
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
