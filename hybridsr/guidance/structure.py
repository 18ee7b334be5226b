"""Structure in a black-box function: separability and pair symmetries.

AI Feynman (Udrescu & Tegmark, Science Advances 2020) showed that a network
fitted to the data can be questioned where the data cannot: moved along a
line, mixed between two points, evaluated anywhere inside the data's box.
Two kinds of question are asked here, of a :class:`View` (a function of some
coordinates, valid on a region):

* **separability**: is ``F(x) = g(x_A) + h(x_B)`` for a split of the
  coordinates into ``A`` and ``B`` (``"additive"``), or ``g(x_A) * h(x_B)``
  (``"multiplicative"``)? For any two points ``P`` and ``Q`` an additive ``F``
  satisfies ``F(P) + F(Q) = F(P_A, Q_B) + F(Q_A, P_B)``; the score is how far
  it misses, relative to the smaller of the two groups' effects.
* **pair symmetry**: does ``F`` depend on ``x_i`` and ``x_j`` only through
  ``x_i / x_j`` (``"ratio"``), ``x_i - x_j`` (``"difference"``), ``x_i * x_j``
  (``"product"``) or ``x_i + x_j`` (``"sum"``)? Moving a point along the
  orbit that keeps the combination fixed must leave ``F`` unchanged; the score
  is the change along the orbit relative to the change when ``x_i`` alone
  moves as far.

A score near 0 means the structure holds (up to the network's own error);
near 1 or above means it does not. Each structure found makes a smaller
problem: a separable ``F`` gives two views of fewer coordinates, a symmetric
one a view in which the pair is one coordinate. Views evaluate through their
parent down to the root's function, so questions can be asked of them again.

Everything here is numpy; the function at the root is any callable (the
teacher network in :mod:`hybridsr.guidance.decomposition`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable

import numpy as np
import sympy
from scipy.spatial import cKDTree

__all__ = ["SEPARATIONS", "SYMMETRIES", "Hypothesis", "View", "Support", "find_structures",
           "homogeneity", "separability_score", "symmetry_score"]

#: Separability kinds and the binary operator a formula needs to write them.
SEPARATIONS = MappingProxyType({"additive": "+", "multiplicative": "*"})

#: Pair symmetries, the operator that writes the combined coordinate, and how it is written.
SYMMETRIES = MappingProxyType({
    "ratio": ("/", lambda a, b: a / b),
    "difference": ("-", lambda a, b: a - b),
    "product": ("*", lambda a, b: a * b),
    "sum": ("+", lambda a, b: a + b),
})

# Point pairs (or orbit moves) drawn per test.
_TEST_POINTS = 1024
# A group whose effect on F is below this fraction of F's spread is irrelevant to F, which
# separates trivially; such splits are left to the leaf search (it sees the variable unused).
_NEGLIGIBLE_EFFECT = 1e-6


@dataclass(frozen=True)
class Hypothesis:
    """One structure and how well the function shows it.

    Attributes
    ----------
    kind : str
        A key of :data:`SEPARATIONS` or :data:`SYMMETRIES`.
    indices : tuple of int
        The coordinates of group ``A`` (separability) or the pair ``(i, j)``.
    score : float
        0 when the structure holds exactly; about 1 or more when it does not.
    degree : float
        For ``"ratio"``: ``F = x_i**degree * g(x_i/x_j, ...)`` (see :func:`homogeneity`).
    """

    kind: str
    indices: tuple[int, ...]
    score: float
    degree: float = 0.0


class Support:
    """Where the data lies: points close to some data point, in scaled coordinates.

    A network is trusted only where it saw data; a mixed or moved point far
    from every data point (a corner of a triangular region, say) is outside.
    Columns are scaled by their spread (positive columns spanning more than
    two decades by the spread of their logarithm), and a point is inside when
    its nearest data point is at most ``radius`` away: a few times the typical
    distance between neighbouring data points.
    """

    def __init__(self, X: np.ndarray, *, max_points: int = 4000, rng: np.random.Generator):
        X = np.asarray(X, dtype=float)
        if len(X) > max_points:
            X = X[np.sort(rng.choice(len(X), max_points, replace=False))]
        low, high = X.min(axis=0), X.max(axis=0)
        self.log_columns = (low > 0) & (high > 100 * low)
        scaled = self._log(X)
        self.centre = scaled.mean(axis=0)
        spread = scaled.std(axis=0)
        self.scale = np.where(spread > 0, spread, 1.0)
        unit = (scaled - self.centre) / self.scale
        self.tree = cKDTree(unit)
        neighbour = self.tree.query(unit, k=2)[0][:, 1] if len(unit) > 1 else np.zeros(1)
        # Grids repeat points (distance 0): a grid's own points are inside, its gaps not.
        self.radius = 3.0 * float(np.quantile(neighbour, 0.9)) + 1e-9
        self.low, self.high = low, high

    def _log(self, X: np.ndarray) -> np.ndarray:
        out = np.array(X, dtype=float)
        with np.errstate(all="ignore"):
            out[:, self.log_columns] = np.log(out[:, self.log_columns])
        return out

    def contains(self, X: np.ndarray) -> np.ndarray:
        """Boolean mask of the rows of ``X`` inside the support."""
        X = np.asarray(X, dtype=float)
        inside = np.all((X >= self.low) & (X <= self.high), axis=1)
        if inside.any():
            unit = (self._log(X[inside]) - self.centre) / self.scale
            distance = self.tree.query(unit, k=1)[0]
            inside[np.flatnonzero(inside)] = distance <= self.radius
        return inside


class View:
    """A function of ``len(symbols)`` coordinates: the root function after a lift.

    Parameters
    ----------
    root : callable
        ``root(X)`` for points ``X`` of shape (m, d) in the original
        variables returns shape (m,), NaN where it cannot be trusted.
    lift : callable
        Maps this view's coordinates ``Z`` (m, k) to the original variables
        (m, d); rows it cannot place are NaN.
    points : ndarray of shape (n, k)
        Valid points (from the data), where tests and searches draw from.
    symbols : tuple of sympy.Expr
        What each coordinate is, written in the original variables.
    variables : tuple of sympy.Symbol
        The original variables, in the order of the root's columns.
    from_root : callable
        The inverse of ``lift`` where it exists: maps points in the original
        variables (m, d) to this view's coordinates (m, k), so that data can
        follow a view down.
    factor : sympy.Expr
        The view's values are the root's times this (in the original
        variables): a homogeneous pair's power divided out.
    """

    def __init__(self, root: Callable[[np.ndarray], np.ndarray],
                 lift: Callable[[np.ndarray], np.ndarray], points: np.ndarray, symbols: tuple,
                 variables: tuple, from_root: Callable[[np.ndarray], np.ndarray],
                 factor: sympy.Expr = sympy.Integer(1)):
        self.root = root
        self.lift = lift
        self.from_root = from_root
        self.factor = sympy.sympify(factor)
        self._factor = None if self.factor == 1 else sympy.lambdify(variables, self.factor, "numpy")
        self.points = np.asarray(points, dtype=float)
        self.symbols = tuple(symbols)
        self.variables = tuple(variables)
        self.low = self.points.min(axis=0)
        self.high = self.points.max(axis=0)

    @classmethod
    def of_function(cls, function: Callable[[np.ndarray], np.ndarray], points: np.ndarray,
                    symbols: tuple) -> "View":
        """The view of ``function`` itself on its own variables."""
        return cls(function, _identity, points, symbols, symbols, _identity)

    @property
    def dimension(self) -> int:
        return len(self.symbols)

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        X = self.lift(np.asarray(Z, dtype=float))
        out = np.full(len(X), np.nan)
        placed = np.all(np.isfinite(X), axis=1)
        if placed.any():
            out[placed] = self.root(X[placed]) * self.factor_at(X[placed])
        return out

    def factor_at(self, X: np.ndarray) -> np.ndarray:
        """:attr:`factor` at points ``X`` in the original variables."""
        if self._factor is None:
            return np.ones(len(X))
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(self._factor(*X.T), dtype=float), (len(X),))

    def reference(self) -> np.ndarray:
        """The valid point nearest the coordinate-wise median (where other coordinates are held)."""
        unit = (self.points - np.median(self.points, axis=0)) / _spread(self.points)
        return self.points[int(np.argmin(np.sum(unit ** 2, axis=1)))].copy()

    def separated(self, indices: tuple[int, ...], reference: np.ndarray) -> "View":
        """The view of the coordinates ``indices`` with the others held at ``reference``."""
        columns, parent, down = list(indices), self.lift, self.from_root

        def lift(Z):
            full = np.repeat(reference[None, :], len(Z), axis=0)
            full[:, columns] = Z
            return parent(full)

        points = np.unique(self.points[:, columns], axis=0)
        return View(self.root, lift, points, tuple(self.symbols[i] for i in columns), self.variables,
                    lambda X: down(X)[:, columns], self.factor)

    def combined(self, kind: str, i: int, j: int, degree: float = 0.0) -> "View":
        """The view in which coordinates ``i`` and ``j`` are one, ``u = combine(x_i, x_j)``
        (first), followed by the other coordinates in order; for a ratio of
        ``degree`` k (:func:`homogeneity`) its values are ``F / x_i**k``.

        A point ``(u, rest)`` is lifted back by choosing ``x_j`` in the middle of
        the interval where both ``x_j`` and the ``x_i`` it implies stay within
        the data's bounds; NaN where that interval is empty.
        """
        combine = SYMMETRIES[kind][1]
        others = [k for k in range(self.dimension) if k not in (i, j)]
        low, high, parent, dimension = self.low, self.high, self.lift, self.dimension
        down = self.from_root

        def lift(Z):
            u = Z[:, 0]
            with np.errstate(all="ignore"):
                lo_j, hi_j = _partner_interval(kind, u, low[i], high[i])
                lo, hi = np.maximum(lo_j, low[j]), np.minimum(hi_j, high[j])
                if kind in ("ratio", "product"):
                    xj = np.sqrt(np.abs(lo * hi))  # the geometric middle (positive coordinates)
                else:
                    xj = 0.5 * (lo + hi)
                xi = _solve_first(kind, u, xj)
            full = np.empty((len(Z), dimension))
            full[:, i], full[:, j] = xi, xj
            full[:, others] = Z[:, 1:]
            full[~(lo <= hi)] = np.nan
            return parent(full)

        def project(Z):
            with np.errstate(all="ignore"):
                return np.column_stack([combine(Z[:, i], Z[:, j]), Z[:, others]])

        points = np.unique(project(self.points), axis=0)
        symbols = (combine(self.symbols[i], self.symbols[j]), *(self.symbols[k] for k in others))
        factor = self.factor * self.symbols[i] ** sympy.nsimplify(-degree) if degree else self.factor
        return View(self.root, lift, points, symbols, self.variables, lambda X: project(down(X)),
                    factor)


def _identity(Z: np.ndarray) -> np.ndarray:
    return Z


def _partner_interval(kind: str, u: np.ndarray, low_i: float, high_i: float):
    """Bounds on ``x_j`` that keep ``x_i`` (given by ``u`` and ``x_j``) within [low_i, high_i]."""
    if kind == "ratio":  # x_i = u * x_j, positive
        return low_i / u, high_i / u
    if kind == "product":  # x_i = u / x_j, positive
        return u / high_i, u / low_i
    if kind == "difference":  # x_i = u + x_j
        return low_i - u, high_i - u
    return u - high_i, u - low_i  # sum: x_i = u - x_j


def _solve_first(kind: str, u: np.ndarray, xj: np.ndarray) -> np.ndarray:
    return {"ratio": lambda: u * xj, "product": lambda: u / xj,
            "difference": lambda: u + xj, "sum": lambda: u - xj}[kind]()


def _spread(points: np.ndarray) -> np.ndarray:
    spread = points.std(axis=0)
    return np.where(spread > 0, spread, 1.0)


def _rms(a: np.ndarray) -> float:
    return float(np.sqrt(np.mean(a * a))) if len(a) else math.nan


def separability_score(view: View, indices: tuple[int, ...], kind: str,
                       rng: np.random.Generator, n: int = _TEST_POINTS) -> float:
    """How far ``view`` is from ``g(x_A) + h(x_B)`` (``kind="additive"``) or
    ``g(x_A) * h(x_B)`` (``"multiplicative"``, tested on ``log|F|``) with ``A = indices``.

    Returns the root-mean-square of ``F(P) + F(Q) - F(P_A, Q_B) - F(Q_A, P_B)``
    over random pairs of valid points, divided by the smaller of the two
    groups' effects (the RMS change of ``F`` when only ``A``, or only ``B``,
    is swapped); ``inf`` when the test cannot be made (too few valid mixed
    points, or a multiplicative test on a function that changes sign).
    """
    if kind not in SEPARATIONS:
        raise ValueError(f"unknown separability {kind!r}; one of {sorted(SEPARATIONS)}")
    columns = list(indices)
    P = view.points[rng.integers(0, len(view.points), n)]
    Q = view.points[rng.integers(0, len(view.points), n)]
    PQ, QP = P.copy(), Q.copy()
    PQ[:, columns], QP[:, columns] = Q[:, columns], P[:, columns]
    values = view(np.concatenate([P, Q, PQ, QP])).reshape(4, n)
    values = values[:, np.all(np.isfinite(values), axis=0)]
    if values.shape[1] < n // 8:
        return math.inf
    if kind == "multiplicative":
        if not (np.all(values > 0) or np.all(values < 0)):
            return math.inf
        values = np.log(np.abs(values))
    fp, fq, fpq, fqp = values
    effect = min(_rms(fp - fpq), _rms(fp - fqp))
    if effect <= _NEGLIGIBLE_EFFECT * (np.std(fp) + abs(np.mean(fp))):
        return math.inf
    return _rms(fp + fq - fpq - fqp) / effect


def _orbit_values(view: View, i: int, j: int, kind: str, rng: np.random.Generator, n: int):
    """``(F(P), F(moved along the orbit), F(x_i alone moved as far), t)`` over valid points,
    ``t`` the move (a log-scale for ratio and product); None when too few are valid."""
    multiplicative = kind in ("ratio", "product")
    if multiplicative and not (view.low[i] > 0 and view.low[j] > 0):
        return None
    P = view.points[rng.integers(0, len(view.points), n)]
    xi, xj = P[:, i], P[:, j]
    low, high = view.low, view.high
    with np.errstate(all="ignore"):
        if multiplicative:
            # x_i -> x_i * s and x_j -> x_j * s (ratio) or x_j / s (product), s = exp(t)
            first = (np.log(low[i] / xi), np.log(high[i] / xi))
            second = ((np.log(low[j] / xj), np.log(high[j] / xj)) if kind == "ratio"
                      else (np.log(xj / high[j]), np.log(xj / low[j])))
        else:
            first = (low[i] - xi, high[i] - xi)
            second = ((low[j] - xj, high[j] - xj) if kind == "difference"
                      else (xj - high[j], xj - low[j]))
    lo, hi = np.maximum(first[0], second[0]), np.minimum(first[1], second[1])
    t = rng.uniform(lo, hi)
    moved, alone = P.copy(), P.copy()
    if multiplicative:
        alone[:, i] = moved[:, i] = xi * np.exp(t)
        moved[:, j] = xj * np.exp(t) if kind == "ratio" else xj * np.exp(-t)
    else:
        alone[:, i] = moved[:, i] = xi + t
        moved[:, j] = xj + t if kind == "difference" else xj - t
    values = view(np.concatenate([P, moved, alone])).reshape(3, n)
    valid = np.all(np.isfinite(values), axis=0)
    if valid.sum() < n // 8:
        return None
    return (*values[:, valid], t[valid])


def _relative_change(base, along, single) -> float:
    effect = _rms(single - base)
    if effect <= _NEGLIGIBLE_EFFECT * (np.std(base) + abs(np.mean(base))):
        return math.inf
    return _rms(along - base) / effect


def symmetry_score(view: View, i: int, j: int, kind: str, rng: np.random.Generator,
                   n: int = _TEST_POINTS) -> float:
    """How far ``view`` is from depending on coordinates ``i`` and ``j`` only
    through their ``kind`` combination (a key of :data:`SYMMETRIES`).

    Each valid point is moved along the orbit that keeps the combination
    fixed, as far as the data's bounds allow (a random fraction of it), and,
    separately, only ``x_i`` is moved as far; the score is the RMS change of
    ``F`` along the orbit over the RMS change for ``x_i`` alone. ``inf`` when
    the test cannot be made (ratio and product need positive coordinates).
    """
    if kind not in SYMMETRIES:
        raise ValueError(f"unknown symmetry {kind!r}; one of {sorted(SYMMETRIES)}")
    orbit = _orbit_values(view, i, j, kind, rng, n)
    return math.inf if orbit is None else _relative_change(*orbit[:3])


def homogeneity(view: View, i: int, j: int, rng: np.random.Generator,
                n: int = _TEST_POINTS) -> tuple[float, float]:
    """``(score, k)``: how far ``view`` is from ``x_i**k * g(x_i / x_j, ...)``.

    Scaling both coordinates by ``s`` multiplies such a function by ``s**k``
    (a law is often homogeneous in a pair of like quantities: ``v/sqrt(1 -
    v**2/c**2)`` has ``k = 1``). ``k`` is the least-squares slope of
    ``log|F(moved)/F(P)|`` against ``log s``, rounded to a half-integer in
    [-3, 3]; ``k = 0`` is the plain ratio symmetry (and the only one tested
    when ``F`` changes sign). The score is that of :func:`symmetry_score`,
    measured on ``log|F|`` when ``k`` is not 0.
    """
    orbit = _orbit_values(view, i, j, "ratio", rng, n)
    if orbit is None:
        return math.inf, 0.0
    base, along, single, t = orbit
    plain = _relative_change(base, along, single)
    if not (np.all(base > 0) or np.all(base < 0)) or not (np.all(along * base > 0)
                                                          and np.all(single * base > 0)):
        return plain, 0.0
    log_base, log_along, log_single = (np.log(np.abs(v)) for v in (base, along, single))
    slope = float(np.sum(t * (log_along - log_base)) / max(float(np.sum(t * t)), 1e-300))
    degree = float(np.clip(np.round(2 * slope) / 2, -3, 3))
    if degree == 0:
        return plain, 0.0
    return _relative_change(log_base, log_along - degree * t, log_single), degree


def find_structures(view: View, rng: np.random.Generator, *, binary_operators=("+", "-", "*", "/"),
                    n: int = _TEST_POINTS) -> list[Hypothesis]:
    """Every separability and pair-symmetry test the operators can write, best score first.

    Splits are tried both ways round only once (``A`` holds the first
    coordinate); symmetries for unordered pairs. Tests whose result cannot
    be written with ``binary_operators`` are skipped.
    """
    d = view.dimension
    found = []
    if d >= 2:
        for kind, operator in SEPARATIONS.items():
            if operator not in binary_operators:
                continue
            for size in range(1, d // 2 + 1):
                for group in itertools.combinations(range(d), size):
                    if 2 * size == d and 0 not in group:
                        continue  # the same split as its complement
                    found.append(Hypothesis(kind, group, separability_score(view, group, kind, rng, n)))
        for kind, (operator, _) in SYMMETRIES.items():
            if operator not in binary_operators:
                continue
            for i, j in itertools.combinations(range(d), 2):
                if kind == "ratio":
                    score, degree = homogeneity(view, i, j, rng, n)
                    found.append(Hypothesis(kind, (i, j), score, degree))
                else:
                    found.append(Hypothesis(kind, (i, j), symmetry_score(view, i, j, kind, rng, n)))
    return sorted((h for h in found if math.isfinite(h.score)), key=lambda h: h.score)

