"""Fewer free constants where the data cannot tell them apart.

A search fits every constant of a formula freely, so noisy data give
``-0.9991*log(11088920/n1**2 - 11102056/n2**2)`` where the law is
``-log(R*(1/n1**2 - 1/n2**2))``: the two large constants agree within their
uncertainty, and so do ``-0.9991`` and ``-1``. AI Feynman (Udrescu & Tegmark
2020) snaps fitted constants to simple rationals where the description
length falls; here the same idea is a statistical test on the fitted
constants:

1. The constants are refitted (Levenberg-Marquardt) and their covariance
   estimated from the Jacobian, ``s**2 (J^T J)^-1`` with ``s**2`` the
   residual variance.
2. Each *simplification* removes one free parameter: a constant set to the
   simplest fraction ``p/q`` (``q <= 6``, ``|p| <= 24``) or to 0 within its
   uncertainty, or two constants tied (``c_i = c_j`` or ``c_i = -c_j``). Those whose Wald
   statistic is small are refitted with the rest of the constants free.
3. One is accepted when the Bayesian information criterion does not rise:
   ``n log(L_new / L) <= log(n)`` for ``n`` rows and mean squared errors
   ``L``. A constant set to ``p/q`` is also accepted when the two-part
   code length falls (:func:`fraction_saving`): written out, a fitted
   constant costs ``log(|c| sqrt(I)) - log(3)/2`` nats, ``I`` its Fisher
   information (the description length of exhaustive symbolic regression,
   Bartlett, Desmond and Ferreira 2023), where ``p/q`` costs
   ``log|p| + log q + log 2``. Planck's exponent fitted as 3.006 on 100
   noisy rows, its information alone giving it a standard error of
   0.00035, costs 8.5 nats, the integer 3 costs 1.8: ``3*log(nu)`` is taken
   when the fit loses less than the 6.7 nats saved, where the criterion
   alone allows ``log(n)/2 = 2.3``. Steps repeat until none is accepted.

A constant set to 0 or 1 can leave nodes without effect (``t + 0``,
``1*t``); :func:`simplify_front` removes them
(:func:`hybridsr.expr.remove_inert_nodes`), so an equation can move to a
smaller size on the front.

The decisions read at most :data:`MAX_ROWS` rows (evenly spaced, so no
random numbers are drawn); the simplified constants are then refitted on
every row.

Exact fits (noise-free data, loss at the rounding floor) have tiny
uncertainties and are left as they are. Only the squared-error loss has the
Gaussian likelihood the criterion reads; other losses are left unchanged.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from .evaluate.evaluator import Dataset, Evaluator
from .expr.simplify import remove_inert_nodes
from .expr.tree import Language, Program, complexity, compile_tree, constants_of, with_constants

__all__ = ["MAX_DENOMINATOR", "MAX_NUMERATOR", "MAX_ROWS", "TiedConstants", "fraction_saving",
           "simplest_fraction", "simplify_front", "tie_constants"]

#: Largest denominator of the fractions a constant may be set to: the numbers a person writes
#: in a law (halves, thirds, quarters, fifths, sixths), not ``56/9`` fitted to an approximation.
MAX_DENOMINATOR = 6
#: Largest numerator (in absolute value) of those fractions.
MAX_NUMERATOR = 24
#: Simplifications refitted per step, the most plausible first.
_TRIALS_PER_STEP = 6
#: Levenberg-Marquardt iterations of each refit.
_MAX_ITERATIONS = 30
#: Rows the decisions read (evenly spaced through the data); the final refit reads them all.
MAX_ROWS = 2000
#: A refit stops when a step lowers the loss by less than this fraction.
_TOLERANCE = 1e-13
#: Ridge (relative to the diagonal) that keeps an unidentifiable constant's variance finite but huge.
_RIDGE = 1e-12


@dataclass(frozen=True)
class TiedConstants:
    """A formula's constants after :func:`tie_constants`.

    Attributes
    ----------
    tree : Individual
        The formula with the new constant values (the same nodes).
    loss : float
        Its loss on the data.
    n_free : int
        Free parameters left (constants minus those fixed or tied).
    changes : tuple of str
        What was done, e.g. ``("c1 = -c0", "c2 = -1")``, slots in program order.
    """

    tree: object
    loss: float
    n_free: int
    changes: tuple[str, ...]


@dataclass(frozen=True)
class _Parametrization:
    """``constants = offset + basis @ free``: fixed constants in ``offset``, tied ones
    sharing a column of ``basis`` (with the tie's sign)."""

    basis: np.ndarray   # (n_constants, n_free)
    offset: np.ndarray  # (n_constants,)

    def constants(self, free: np.ndarray) -> np.ndarray:
        return self.offset + self.basis @ free

    def fixed(self, column: int, value: float) -> "_Parametrization":
        """Free parameter ``column`` set to ``value``."""
        offset = self.offset + self.basis[:, column] * value
        return _Parametrization(np.delete(self.basis, column, axis=1), offset)

    def tied(self, column: int, other: int, sign: float) -> "_Parametrization":
        """Free parameter ``column`` replaced by ``sign`` times parameter ``other``."""
        basis = self.basis.copy()
        basis[:, other] += sign * basis[:, column]
        return _Parametrization(np.delete(basis, column, axis=1), self.offset)


class _Fit:
    """Weighted least squares of one program's constants under a parametrization."""

    def __init__(self, program: Program, evaluator: Evaluator, data: Dataset):
        self.program = program
        self.evaluator = evaluator
        self.data = data
        n = data.n_rows
        weights = data.weights if data.weights.size else np.ones(n)
        self.sqrt_weights = np.sqrt(weights / weights.mean())

    def residuals(self, constants: np.ndarray):
        """Weighted residuals and Jacobian (None where the formula is invalid)."""
        prediction, jacobian, ok = self.evaluator.jacobian(self.program, self.data, constants)
        if not ok:
            return None, None
        w = self.sqrt_weights
        return (prediction - self.data.y) * w, jacobian * w[:, None]

    def loss(self, constants: np.ndarray) -> float:
        if not np.all(np.isfinite(constants)):
            return math.inf  # 1/(1/t + c) fits as well at c = inf, but no formula shows it
        value = self.evaluator.loss(self.program, self.data, constants)
        return value if math.isfinite(value) else math.inf

    def refit(self, form: _Parametrization, free: np.ndarray):
        """Levenberg-Marquardt from ``free``: ``(free, loss)``, loss inf when invalid."""
        loss = self.loss(form.constants(free))
        if not math.isfinite(loss) or form.basis.shape[1] == 0:
            return free, loss
        damping = 1e-3
        for _ in range(_MAX_ITERATIONS):
            r, J = self.residuals(form.constants(free))
            if r is None:
                break
            Jf = J @ form.basis
            A, g = Jf.T @ Jf, Jf.T @ r
            diagonal = np.diag(A).copy()
            improved = False
            while damping < 1e12:
                try:
                    step = np.linalg.solve(A + damping * np.diag(diagonal + 1e-300), -g)
                except np.linalg.LinAlgError:
                    damping *= 10
                    continue
                trial = free + step
                trial_loss = self.loss(form.constants(trial))
                if trial_loss < loss:
                    gain = (loss - trial_loss) / loss if loss > 0 else 0.0
                    free, loss, improved = trial, trial_loss, True
                    damping = max(damping / 3, 1e-12)
                    break
                damping *= 4
            if not improved or gain < _TOLERANCE:
                break
        return free, loss

    def normal_matrix(self, form: _Parametrization, free: np.ndarray) -> np.ndarray | None:
        """``J^T J`` of the free parameters at ``free`` (None when the formula is invalid there
        or the rows are too few for a covariance)."""
        r, J = self.residuals(form.constants(free))
        if r is None:
            return None
        Jf = J @ form.basis
        n, m = Jf.shape
        if n <= m:
            return None
        return Jf.T @ Jf


def _covariance(normal: np.ndarray, loss: float, n_rows: int) -> np.ndarray | None:
    """Covariance of the free parameters of a least-squares fit from its normal matrix
    ``J^T J`` and mean squared error (None when singular or infinite)."""
    m = normal.shape[0]
    A = normal + _RIDGE * np.diag(np.maximum(np.diag(normal), 1e-300))
    try:
        inverse = np.linalg.inv(A)
    except np.linalg.LinAlgError:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        covariance = inverse * (n_rows * loss / (n_rows - m))
    # A constant the data barely move (a column of 1e-266, as from 1/7e132) has an
    # infinite variance, and its differences with the others no value: nothing to test.
    return covariance if np.isfinite(covariance).all() else None


def simplest_fraction(value: float, sigma: float, threshold: float) -> float | None:
    """The fraction ``p/q`` (smallest ``q``, then smallest ``|p|``) within ``threshold``
    standard deviations of ``value``; None when there is none or it is 0."""
    if not (math.isfinite(value) and math.isfinite(sigma) and sigma > 0):
        return None
    for q in range(1, MAX_DENOMINATOR + 1):
        p = round(value * q)
        if p == 0 or abs(p) > MAX_NUMERATOR or math.gcd(p, q) != 1:
            continue
        if abs(value - p / q) <= threshold * sigma:
            return p / q
    return None


def fraction_saving(value: float, information: float, fraction: float) -> float:
    """Nats saved by writing the fitted constant ``value`` as the simple ``fraction``.

    A free constant is stated to the precision its Fisher ``information``
    gives it, ``log(|value| sqrt(information)) - log(3)/2`` nats (exhaustive
    symbolic regression's parameter code); ``p/q`` costs its numerator,
    denominator and sign, ``log|p| + log q + log 2``. 0 when writing the
    fraction is no shorter, or the information is not a positive number.
    """
    if not (math.isfinite(information) and information > 0 and value != 0 and fraction != 0):
        return 0.0
    exact = Fraction(fraction).limit_denominator(MAX_DENOMINATOR)
    free_cost = math.log(abs(value)) + 0.5 * math.log(information) - 0.5 * math.log(3)
    fraction_cost = math.log(abs(exact.numerator)) + math.log(exact.denominator) + math.log(2)
    return max(0.0, free_cost - fraction_cost)


def tie_constants(tree, language: Language, evaluator: Evaluator, data: Dataset, *,
                  loss_floor: float = 0.0) -> TiedConstants | None:
    """``tree`` with constants fixed to simple fractions or tied together where the
    data cannot tell the difference (see the module's docstring); None when nothing
    changes (no constants, an exact fit, a loss other than squared error, an invalid
    formula)."""
    start = constants_of(tree)
    k = len(start)
    if k == 0 or evaluator.loss_name != "mse" or data.n_rows <= k + 1:
        return None
    program = compile_tree(tree, language)
    full = _Fit(program, evaluator, data)
    if data.n_rows > MAX_ROWS:
        data = data.rows(np.linspace(0, data.n_rows - 1, MAX_ROWS).round().astype(np.intp))
    n = data.n_rows
    fit = _Fit(program, evaluator, data)
    form = _Parametrization(np.eye(k), np.zeros(k))
    free, loss = fit.refit(form, start.copy())
    if not math.isfinite(loss) or loss <= max(loss_floor, 0.0):
        return None
    penalty = math.log(n)
    # Wald prefilter: twice the criterion's allowance, since the refit moves the others too.
    threshold = math.sqrt(2.0 * penalty)
    labels = [f"c{i}" for i in range(k)]
    changes = []
    while form.basis.shape[1] > 0:
        normal = fit.normal_matrix(form, free)
        covariance = None if normal is None else _covariance(normal, loss, n)
        if covariance is None:
            break
        trials = _plausible(form, free, covariance, threshold)
        # Fisher information of each free parameter alone, Gaussian residuals at the fitted
        # mean squared error (inf at a zero loss, where fraction_saving finds nothing to save).
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            information = np.diag(normal) / loss
        accepted = None
        for _, make, label, fraction in trials[:_TRIALS_PER_STEP]:
            allowance = penalty
            if fraction is not None:
                column, value = fraction
                # In the criterion's units (twice nats): BIC's allowance, or the code saved.
                allowance = max(penalty, 2 * fraction_saving(free[column], information[column], value))
            trial_form, trial_free = make()
            trial_free, trial_loss = fit.refit(trial_form, trial_free)
            if math.isfinite(trial_loss) and n * math.log(max(trial_loss, 1e-300) / loss) <= allowance:
                accepted = (trial_form, trial_free, trial_loss, label)
                break
        if accepted is None:
            break
        form, free, loss, label = accepted
        changes.append(label(labels))
    if not changes:
        return None
    if full.data is not data:
        free, _ = full.refit(form, free)
    constants = form.constants(free)
    return TiedConstants(with_constants(tree, constants), full.loss(constants), form.basis.shape[1],
                         tuple(changes))


def _plausible(form: _Parametrization, free: np.ndarray, covariance: np.ndarray,
               threshold: float) -> list:
    """Simplifications within ``threshold`` standard deviations, least deviation first:
    ``(z, make, label, fraction)`` with ``make() -> (parametrization, starting free
    values)`` and ``fraction`` the ``(free parameter, value)`` a constant is set to (None
    for a tie)."""
    m = len(free)
    sigma = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    found = []

    def name(column: int, labels) -> str:
        # The first constant the free parameter sets, as the user's slot label.
        row = int(np.flatnonzero(form.basis[:, column])[0])
        return labels[row]

    for p in range(m):
        value = simplest_fraction(free[p], sigma[p], threshold)
        if value is not None:
            z = abs(free[p] - value) / sigma[p]
            found.append((z, lambda p=p, v=value: (form.fixed(p, v), np.delete(free, p)),
                          lambda labels, p=p, v=value: f"{name(p, labels)} = {v:g}", (p, value)))
        if sigma[p] > 0 and abs(free[p]) <= threshold * sigma[p]:
            # 0 takes the nodes it feeds with it (hybridsr.expr.remove_inert_nodes).
            found.append((abs(free[p]) / sigma[p], lambda p=p: (form.fixed(p, 0.0), np.delete(free, p)),
                          lambda labels, p=p: f"{name(p, labels)} = 0", (p, 0.0)))
        for q in range(p + 1, m):
            for sign in (1.0, -1.0):
                with np.errstate(over="ignore", invalid="ignore"):  # variances near 1e308: no test
                    spread = covariance[p, p] + covariance[q, q] - 2 * sign * covariance[p, q]
                if not 0 < spread < math.inf:
                    continue
                z = abs(free[p] - sign * free[q]) / math.sqrt(spread)
                if z <= threshold:
                    def make(p=p, q=q, sign=sign):
                        start = free.copy()
                        start[q] = 0.5 * (free[q] + sign * free[p])
                        return form.tied(p, q, sign), np.delete(start, p)

                    found.append((z, make, lambda labels, p=p, q=q, sign=sign:
                                  f"{name(p, labels)} = {'-' if sign < 0 else ''}{name(q, labels)}",
                                  None))
    found.sort(key=lambda item: item[0])
    return found


def simplify_front(front, language: Language, evaluator: Evaluator, data: Dataset, *,
                   loss_floor: float = 0.0) -> list:
    """The front (members with ``tree``, ``loss`` and ``complexity``; the search's hall of
    fame), in ascending complexity, with each equation's constants simplified by
    :func:`tie_constants` where its loss stays below the simpler equations'.

    Nodes that a constant set to 0 or 1 leaves without effect are removed
    (:func:`hybridsr.expr.remove_inert_nodes`), so a simplified equation can
    be less complex than before: ``3*log(sqrt(nu**2 - 2.3e16))`` with the
    constant at 0 is ``3*log(nu)``. The members are then sorted again and
    equations a simplified neighbour now beats (no less complex and no
    lower loss) are dropped, so the losses still fall strictly.

    An interruption (Ctrl-C) returns the front as it was: nothing is lost.
    """
    members = sorted(front, key=lambda m: m.complexity)
    rows = data.Xt.T
    try:
        candidates, ceiling = [], math.inf
        for member in members:
            tied = tie_constants(member.tree, language, evaluator, data, loss_floor=loss_floor)
            if tied is not None and tied.loss < ceiling:
                member = copy.copy(member)  # a Member, or any object with these attributes
                member.tree, member.loss = tied.tree, tied.loss
                pruned = remove_inert_nodes(tied.tree, language, rows)
                size = complexity(pruned, language)
                if size < member.complexity:
                    loss = evaluator.loss(compile_tree(pruned, language), data)
                    if math.isfinite(loss):
                        member.tree, member.loss, member.complexity = pruned, loss, size
            candidates.append(member)
            ceiling = min(ceiling, member.loss)
    except KeyboardInterrupt:
        return members
    # One pass drops what a less complex, no worse neighbour beats, simplified or not.
    simplified, ceiling = [], math.inf
    for member in sorted(candidates, key=lambda m: (m.complexity, m.loss)):
        if member.loss < ceiling:
            simplified.append(member)
            ceiling = member.loss
    return simplified
