"""Judging a found formula against the true law (SRBench's rule), with a time limit.

SRBench counts a model as a symbolic solution when, after rounding its
floats (``|c| < 1e-4`` becomes 0, others keep 3 decimals), the difference
to the truth simplifies to a constant or the ratio to a non-zero constant.
sympy can take minutes on an unlucky expression, so every check runs in a
child process that is killed at the time limit (reported as "no").
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import sympy

from .form import has_law_form

__all__ = ["OUTCOMES", "Verdict", "round_floats", "symbolic_match", "r2_score", "judge",
           "first_exact_time"]

#: The seed table's tuple order: exact and selected, exact on the front only,
#: accurate but not exact, failed.
OUTCOMES = ("exact", "on_front", "accurate", "failed")


def round_floats(expression: sympy.Expr, zero_below: float = 1e-4, digits: int = 3,
                 points: dict | None = None) -> sympy.Expr:
    """SRBench's rounding: tiny floats become 0, the others keep ``digits`` decimals
    (as exact rationals, so that 1.00002 becomes 1 and 0.49999 becomes 1/2).

    With ``points`` (variable name -> sample values), a tiny float (or one
    that the decimals round to 0) becomes 0 only where that changes the
    formula's values by less than 0.1%, and is otherwise kept to ``digits``
    significant digits: SRBench's rule reads
    ``log(6.67e-11*m1*m2/r**2)`` as ``log(0)``, while it exists to drop
    negligible terms such as ``1e-6*x**2``.
    """
    replacements = {}
    reference = None if points is None else _values(expression, points)
    for number in expression.atoms(sympy.Float):
        value = float(number)
        rounded = round(value, digits)
        if abs(value) >= zero_below and rounded != 0:
            # As an exact decimal: a rounded 1.0 stays a Float otherwise, and sympy
            # does not cancel sin(1.0*x) against sin(x).
            replacements[number] = sympy.Rational(repr(rounded))
        elif reference is None or _negligible(expression.xreplace({number: 0}), reference, points):
            replacements[number] = sympy.Integer(0)
        else:  # a small constant that matters (G in log(G*m1*m2/r**2), 3e-4 in log(3e-4*n))
            replacements[number] = sympy.Float(float(f"{value:.{digits - 1}e}"))
    return expression.xreplace(replacements)


def _values(expression: sympy.Expr, points: dict) -> np.ndarray | None:
    """The real values of ``expression`` on ``points`` (None when they cannot be computed)."""
    symbols = sorted(expression.free_symbols, key=str)
    if any(str(s) not in points for s in symbols):
        return None
    columns = [np.asarray(points[str(s)], dtype=float) for s in symbols]
    size = len(next(iter(points.values())))
    try:
        with np.errstate(all="ignore"):
            values = sympy.lambdify(symbols, expression, "numpy")(*columns)
            return np.broadcast_to(np.asarray(values, dtype=complex), (size,))
    except Exception:  # noqa: BLE001 - what numpy cannot evaluate is left to sympy
        return None


def _negligible(changed: sympy.Expr, reference: np.ndarray, points: dict) -> bool:
    values = _values(changed, points)
    if values is None:
        return False
    with np.errstate(all="ignore"):
        scale = np.nanmax(np.abs(reference)) if np.isfinite(reference).any() else np.inf
        difference = np.abs(values - reference)
    return bool(np.isfinite(scale) and np.all(np.isfinite(values) == np.isfinite(reference))
                and np.nanmax(np.where(np.isfinite(reference), difference, 0.0)) <= 1e-3 * max(scale, 1e-300))


def _is_constant(expression: sympy.Expr) -> bool:
    expression = sympy.simplify(expression)
    if expression.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):  # nan.is_finite is None
        return False
    return not expression.free_symbols and expression.is_finite is not False


def _parse(text: str, names: tuple[str, ...], positive: tuple[str, ...] = ()) -> sympy.Expr:
    # Plain symbols for the variables: names such as I, E, gamma or beta
    # would otherwise parse as sympy's imaginary unit, constant or functions.
    # Variables known to be positive say so, or sqrt(a**3) and a**1.5 differ.
    symbols = {name: sympy.Symbol(name, positive=True) if name in positive else sympy.Symbol(name)
               for name in names}
    return sympy.sympify(text, locals=symbols)


def _constant_on_points(m: sympy.Expr, t: sympy.Expr, points: dict,
                        tolerance: float = 1e-5) -> tuple[bool, bool]:
    """Whether ``m - t`` and whether ``m / t`` are constant on ``points`` (True where numpy
    cannot tell: too few rows it can evaluate).

    Equal formulas differ by rounding error only, so this never rejects a
    match that sympy would find; it spares sympy (and the time limit) the
    clear misses, which are most of a front. A model without a finite real
    value on most of the points where the truth has one is such a miss too
    (a protected ``log`` or ``sqrt`` read plainly, the form a peer's long
    formulas often take), however sympy would rearrange it.
    """
    mv, tv = _values(m, points), _values(t, points)
    if mv is None or tv is None:
        return True, True  # what numpy cannot evaluate, sympy decides
    with np.errstate(all="ignore"):
        truth_rows = np.isfinite(tv) & (np.abs(tv.imag) < 1e-12)
        rows = truth_rows & np.isfinite(mv) & (np.abs(mv.imag) < 1e-12)
        if 2 * rows.sum() < truth_rows.sum():
            return False, False
        if rows.sum() < 3:
            return True, True
        mv, tv = mv.real[rows], tv.real[rows]
        scale = max(float(np.max(np.abs(mv))), float(np.max(np.abs(tv))), 1e-300)
        difference = bool(np.ptp(mv - tv) <= tolerance * scale)
        nonzero = np.abs(tv) > 1e-300
        ratio = mv[nonzero] / tv[nonzero]
        return difference, ratio.size < 3 or bool(np.ptp(ratio) <= tolerance * np.max(np.abs(ratio)))


def _match(model: str, truth: str, names: tuple[str, ...] = (),
           positive: tuple[str, ...] = (), points: dict | None = None) -> bool:
    m = round_floats(_parse(model, names, positive), points=points)
    t = _parse(truth, names, positive)
    difference, ratio_constant = (False, False) if points is None else _constant_on_points(m, t, points)
    if points is not None and not (difference or ratio_constant):
        return False
    if _is_constant(m - t):
        return True
    # sympy keeps log(R/n1**2 - R/n2**2) whole (it cannot tell 1/n1**2 - 1/n2**2 is positive).
    # Where the difference is constant on the test points, the logarithms' arguments are
    # positive on the problem's box, and splitting the logs of products there is sound.
    if difference and m.has(sympy.log) and _is_constant(
            sympy.expand_log(sympy.factor_terms(m - t), force=True)):
        return True
    ratio = sympy.simplify(m / t)
    if not ratio.free_symbols:
        return bool(ratio.is_finite is not False and ratio != 0)
    if not ratio_constant:
        return False
    # sympy leaves sqrt(c**2 - v**2)*sqrt(1/(c**2 - v**2)) alone (it cannot tell the radicand's
    # sign). Where the ratio is constant on the test points (so of one sign on the problem's
    # box), a square that simplifies to a non-zero constant proves it constant.
    square = sympy.simplify(ratio ** 2)
    return bool(not square.free_symbols and square.is_finite is not False and square != 0
                and not square.has(sympy.nan, sympy.zoo))


def _child(model: str, truth: str, names, positive, points, connection) -> None:
    try:
        connection.send(_match(model, truth, names, positive, points))
    except Exception:  # noqa: BLE001 - a formula sympy cannot handle is simply not a match
        connection.send(False)
    finally:
        connection.close()


def symbolic_match(model: str | sympy.Expr, truth: str | sympy.Expr, timeout: float = 10.0,
                   names: tuple[str, ...] = (), positive: tuple[str, ...] = (),
                   points: dict | None = None) -> bool:
    """Whether ``model`` equals ``truth`` up to an additive or multiplicative constant.

    Both are sympy expressions or strings over the same variables; ``names``
    lists them so that each parses as a plain symbol, and those in
    ``positive`` are declared positive (variables sampled from a positive
    range: there ``sqrt(a**3) == a**1.5``). ``points`` (a mapping from
    names to arrays of sample values) lets a numeric test turn down clear
    misses before sympy is asked. The check runs in a child process killed
    after ``timeout`` seconds (then the answer is False).
    """
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() and os.name == "posix" else "spawn"
    context = multiprocessing.get_context(method)
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(str(model), str(truth), tuple(names),
                                                           tuple(positive), points, sender), daemon=True)
    process.start()
    sender.close()
    answer = receiver.poll(timeout) and receiver.recv()
    if process.is_alive():
        process.kill()
    process.join()
    return bool(answer)


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Coefficient of determination; -inf when any prediction is not finite."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if not np.all(np.isfinite(y_pred)):
        return -np.inf
    total = float(np.sum((y_true - y_true.mean()) ** 2))
    residual = float(np.sum((y_true - y_pred) ** 2))
    return 1.0 - residual / total if total > 0 else (1.0 if residual == 0 else -np.inf)


@dataclass(frozen=True)
class Verdict:
    """How one run did on one problem (one of :data:`OUTCOMES`).

    ``front_exact_indices`` are the positions in the front of the formulas
    that match the truth. ``selected_form`` and ``front_form`` apply the PySR
    paper's looser criterion (:mod:`hybridsr.bench.form`: the law's form with
    refitted constants, or an exact match); they need test points.
    """

    outcome: str
    selected_exact: bool
    front_exact: bool
    test_r2: float
    front_exact_indices: tuple[int, ...] = ()
    selected_form: bool = False
    front_form: bool = False


def judge(selected: str, front: list[str], truth: str, test_r2: float, *,
          names: tuple[str, ...] = (), positive: tuple[str, ...] = (),
          points: dict | None = None, accurate_r2: float = 0.999,
          timeout: float = 10.0) -> Verdict:
    """Classify a run: the selected formula, the other Pareto-front formulas, held-out R^2
    (``points``: sample values of the variables for :func:`symbolic_match` and the
    functional-form check)."""
    def matches(formula: str) -> bool:
        return symbolic_match(formula, truth, timeout, names, positive, points)

    def has_form(formula: str) -> bool:
        return points is not None and has_law_form(formula, truth, points, names)

    selected_exact = matches(selected)
    exact_indices = tuple(i for i, f in enumerate(front)
                          if (selected_exact if f == selected else matches(f)))
    front_exact = selected_exact or bool(exact_indices)
    if selected_exact:
        outcome = "exact"
    elif front_exact:
        outcome = "on_front"
    elif test_r2 > accurate_r2:
        outcome = "accurate"
    else:
        outcome = "failed"
    selected_form = selected_exact or has_form(selected)
    front_form = selected_form or front_exact or any(has_form(f) for f in front if f != selected)
    return Verdict(outcome, selected_exact, front_exact, float(test_r2), exact_indices,
                   selected_form, front_form)


def first_exact_time(timeline: Sequence[tuple[float, Sequence[str]]], truth: str, *,
                     names: tuple[str, ...] = (), positive: tuple[str, ...] = (),
                     points: dict | None = None, timeout: float = 10.0) -> float | None:
    """The earliest time of a ``(seconds, front)`` snapshot whose front holds the truth.

    Snapshots come in time order. A search's front rarely loses the true law
    once it holds it, so a binary search over the snapshots finds the first
    one that does with a few judged fronts instead of all; None when the
    last snapshot does not hold it either.
    """
    def solved(index: int) -> bool:
        return any(symbolic_match(f, truth, timeout, names, positive, points)
                   for f in timeline[index][1])

    if not timeline or not solved(len(timeline) - 1):
        return None
    low, high = 0, len(timeline) - 1  # timeline[high] holds the truth
    while low < high:
        middle = (low + high) // 2
        if solved(middle):
            high = middle
        else:
            low = middle + 1
    return float(timeline[high][0])
