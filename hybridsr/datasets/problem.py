"""One benchmark problem: a true formula, its variables' sampling box, defaults.

A :class:`Problem` is immutable and picklable (it crosses process boundaries
in benchmark runs). It draws data deterministically from a seed::

    X, y = problem.sample(200, seed=0)            # X: DataFrame, y: ndarray
    X, y = problem.sample(seed=0, noise=0.01)     # Gaussian noise, 1% of std(y)

The formula is a string that ``sympy.parse_expr`` reads with every variable
and named constant bound to a plain :class:`sympy.Symbol` (so names such as
``gamma``, ``beta`` or ``I`` mean the variable, not sympy's function or the
imaginary unit); :meth:`Problem.sympy` does that parsing for you.

Problems loaded from a user's CSV file carry their rows instead of a sampling
box; :meth:`Problem.sample` then draws from those rows (see
:mod:`hybridsr.datasets.user`).
"""

from __future__ import annotations

import difflib
import functools
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import pandas as pd
import sympy

from ..operators import OperatorSet

__all__ = ["DISTRIBUTIONS", "Problem", "Variable", "formula_operators"]

#: How a variable's values are drawn.
#: ``uniform``: U[low, high]; ``log-uniform``: exp(U[log low, log high]) (low > 0);
#: ``integer``: integers low..high inclusive, each equally likely; ``choice``: one of
#: ``values``, each equally likely; ``data``: the values come from a user's file.
DISTRIBUTIONS = frozenset({"uniform", "log-uniform", "integer", "choice", "data"})

# Functions sympy may produce from a formula -> the operator name hybridsr knows.
_FUNCTION_OPERATORS = {
    "sin": "sin", "cos": "cos", "tan": "tan", "tanh": "tanh", "exp": "exp",
    "log": "log", "Abs": "abs",
    "asin": "arcsin(x) = asin(x)", "acos": "arccos(x) = acos(x)",
}
# Rows whose true value is not finite are redrawn at most this many times.
_MAX_REDRAWS = 100


def _suggest(name: str, valid) -> str:
    near = difflib.get_close_matches(name, sorted(valid), n=1)
    return f" Did you mean {near[0]!r}?" if near else ""


@dataclass(frozen=True)
class Variable:
    """One input variable and how to draw it.

    Attributes
    ----------
    name : str
        Column name in the sampled DataFrame; a Python identifier.
    low, high : float
        The sampling range (inclusive bounds; for ``choice`` the extremes of ``values``).
    distribution : str
        One of :data:`DISTRIBUTIONS`.
    units : str
        Physical meaning and units, for people (e.g. ``"distance, Mpc"``).
    values : tuple of float
        The allowed values of a ``choice`` variable; empty otherwise.
    """

    name: str
    low: float
    high: float
    distribution: str = "uniform"
    units: str = ""
    values: tuple[float, ...] = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"variable name {self.name!r} is not a Python identifier")
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"variable {self.name!r}: unknown distribution {self.distribution!r}."
                f"{_suggest(self.distribution, DISTRIBUTIONS)} "
                f"Valid: {', '.join(sorted(DISTRIBUTIONS))}")
        object.__setattr__(self, "low", float(self.low))
        object.__setattr__(self, "high", float(self.high))
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise ValueError(f"variable {self.name!r}: need finite low <= high, got "
                             f"[{self.low}, {self.high}]")
        if self.distribution == "log-uniform" and self.low <= 0:
            raise ValueError(f"variable {self.name!r}: a log-uniform range needs low > 0, "
                             f"got {self.low}")
        whole = self.low == int(self.low) and self.high == int(self.high)
        if self.distribution == "integer" and not whole:
            raise ValueError(f"variable {self.name!r}: integer bounds must be whole numbers")
        if self.distribution == "choice":
            if not self.values:
                raise ValueError(f"variable {self.name!r}: a 'choice' variable needs values")
            if min(self.values) < self.low or max(self.values) > self.high:
                raise ValueError(f"variable {self.name!r}: values lie outside [low, high]")
        elif self.values:
            raise ValueError(f"variable {self.name!r}: values are only for 'choice' variables")

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values with ``rng``."""
        if self.distribution == "uniform":
            return rng.uniform(self.low, self.high, n)
        if self.distribution == "log-uniform":
            return np.exp(rng.uniform(math.log(self.low), math.log(self.high), n))
        if self.distribution == "integer":
            return rng.integers(int(self.low), int(self.high), n, endpoint=True).astype(float)
        if self.distribution == "choice":
            return np.asarray(self.values)[rng.integers(0, len(self.values), n)]
        raise ValueError(f"variable {self.name!r} takes its values from data; it cannot be drawn")


@dataclass(frozen=True)
class Problem:
    """A benchmark problem.

    Attributes
    ----------
    name : str
        Unique name (``"hubble"``, ``"feynman_I_6_2a"``, ``"nguyen_7"``).
    suite : str
        The suite it belongs to.
    formula : str or None
        The true target as a sympy-readable string in the variable and constant
        names (``"H0*D"``), or None when unknown (user data).
    variables : tuple of Variable
        The inputs, in column order.
    target : str
        Name of the target quantity (``"v"``, ``"log_F"``).
    target_units : str
        Its meaning and units.
    title : str
        Display name for tables (defaults to ``name``).
    description : str
        What the problem is and why its ranges, noise and sizes were chosen.
    source : str
        Where the formula, ranges and sizes come from.
    constants : dict
        Values of the named constants used in ``formula`` (``{"H0": 73.3}``).
    n_samples : int
        Rows :meth:`sample` draws by default.
    noise : float
        Default noise for :meth:`sample`, as a fraction of std(y).
    binary_operators, unary_operators : tuple of str
        Suggested operators, in PySR/hybridsr names (custom ones as definitions).
    sampler : callable or None
        ``sampler(rng, n) -> {name: array}`` for variables that are not drawn
        independently (a module-level function, so problems stay picklable).
    data : tuple (X, y) of arrays or None
        Rows of a user's file; :meth:`sample` draws from them.

    Equality and hashing use the identifying fields only (not ``constants``,
    ``sampler`` or ``data``).
    """

    name: str
    suite: str
    formula: str | None
    variables: tuple[Variable, ...]
    target: str = "y"
    target_units: str = ""
    title: str = ""
    description: str = ""
    source: str = ""
    constants: Mapping[str, float] = field(default_factory=dict, compare=False)
    n_samples: int = 100
    noise: float = 0.0
    binary_operators: tuple[str, ...] = ("+", "-", "*", "/")
    unary_operators: tuple[str, ...] = ()
    sampler: Callable[[np.random.Generator, int], Mapping[str, np.ndarray]] | None = field(
        default=None, compare=False, repr=False)
    data: tuple[np.ndarray, np.ndarray] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self):
        for attr in ("name", "suite"):
            if not isinstance(getattr(self, attr), str) or not getattr(self, attr):
                raise ValueError(f"problem {attr} must be a non-empty string, "
                                 f"got {getattr(self, attr)!r}")
        variables = tuple(self.variables)
        if not variables or not all(isinstance(v, Variable) for v in variables):
            raise ValueError(f"problem {self.name!r}: variables must be a non-empty sequence "
                             f"of Variable")
        names = [v.name for v in variables]
        if len(set(names)) != len(names):
            raise ValueError(f"problem {self.name!r}: variable names repeat: {names}")
        constants = {str(k): float(v) for k, v in dict(self.constants).items()}
        clash = sorted(set(constants) & set(names))
        if clash:
            raise ValueError(f"problem {self.name!r}: {clash} are both variables and constants")
        if not isinstance(self.n_samples, (int, np.integer)) or self.n_samples < 1:
            raise ValueError(f"problem {self.name!r}: n_samples must be a positive integer, "
                             f"got {self.n_samples!r}")
        if not (math.isfinite(self.noise) and self.noise >= 0):
            raise ValueError(f"problem {self.name!r}: noise must be >= 0, got {self.noise!r}")
        object.__setattr__(self, "variables", variables)
        object.__setattr__(self, "constants", constants)
        object.__setattr__(self, "n_samples", int(self.n_samples))
        object.__setattr__(self, "noise", float(self.noise))
        object.__setattr__(self, "title", self.title or self.name)
        object.__setattr__(self, "binary_operators", tuple(self.binary_operators))
        object.__setattr__(self, "unary_operators", tuple(self.unary_operators))
        if self.formula is not None:
            _parse(self.formula, tuple(names), tuple(constants), self.name)
        _check_operators(self)
        if self.data is None and any(v.distribution == "data" for v in variables):
            raise ValueError(f"problem {self.name!r}: 'data' variables need the data rows")
        if self.data is not None:
            X, y = self.data
            if X.ndim != 2 or X.shape[1] != len(variables) or y.shape != (X.shape[0],):
                raise ValueError(f"problem {self.name!r}: data must be X (n, {len(variables)}) "
                                 f"and y (n,), got {X.shape} and {y.shape}")

    # ---------------------------------------------------------------- views
    @property
    def variable_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    @property
    def ranges(self) -> dict[str, tuple[float, float]]:
        """``{name: (low, high)}`` of the sampling box."""
        return {v.name: (v.low, v.high) for v in self.variables}

    def sympy(self, substitute_constants: bool = True) -> sympy.Expr:
        """The true formula as a sympy expression over plain ``Symbol(name)``.

        Named constants are replaced by their values unless
        ``substitute_constants`` is False. Raises ValueError when the problem
        has no formula.
        """
        expr = _parse(self._require_formula(), self.variable_names, tuple(self.constants),
                      self.name)
        if substitute_constants and self.constants:
            values = {sympy.Symbol(k): sympy.Float(v) for k, v in self.constants.items()}
            expr = expr.xreplace(values)
        return expr

    # ------------------------------------------------------------ computing
    def evaluate(self, X) -> np.ndarray:
        """The noiseless target at ``X`` (a DataFrame or mapping with the
        variable names, or an array of shape (n, n_variables) in column order).

        Returns a float array of shape (n,); points outside the formula's real
        domain give nan or inf, as numpy does.
        """
        columns = self._columns(X)
        function = _lambdified(self._require_formula(), self.variable_names,
                               tuple(sorted(self.constants.items())))
        n = len(columns[0])
        return np.broadcast_to(np.asarray(function(*columns), dtype=float), (n,)).copy()

    def sample(self, n: int | None = None, *, seed=None, noise: float | None = None):
        """Draw ``n`` rows (default :attr:`n_samples`) and their targets.

        Parameters
        ----------
        n : int, optional
            Number of rows.
        seed : int, numpy.random.Generator or SeedSequence, optional
            Same seed, same data. The inputs are drawn first and the noise
            after, so a seed gives the same ``X`` at every noise level.
        noise : float, optional
            Gaussian noise with standard deviation ``noise * std(y)`` (std of
            the noiseless targets of this sample) is added to ``y``.
            Defaults to :attr:`noise`.

        Returns
        -------
        X : pandas.DataFrame, shape (n, n_variables)
            Columns named by :attr:`variable_names`.
        y : numpy.ndarray, shape (n,)
        """
        rng = np.random.default_rng(seed)
        noise = self.noise if noise is None else float(noise)
        if not (math.isfinite(noise) and noise >= 0):
            raise ValueError(f"noise must be a fraction >= 0 of std(y), got {noise!r}")
        if self.data is not None:
            X, y = self._sample_data(rng, n)
        else:
            n = self.n_samples if n is None else n
            if not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"n must be a positive integer, got {n!r}")
            X, y = self._sample_box(rng, int(n))
        if noise > 0 and len(y):
            y = y + rng.normal(0.0, noise * float(np.std(y)), len(y))
        return pd.DataFrame(X, columns=list(self.variable_names)), y

    # ------------------------------------------------------------- helpers
    def _require_formula(self) -> str:
        if self.formula is None:
            raise ValueError(f"problem {self.name!r} has no known formula")
        return self.formula

    def _columns(self, X) -> list[np.ndarray]:
        names = self.variable_names
        if isinstance(X, (pd.DataFrame, Mapping)):
            missing = [c for c in names if c not in X]
            if missing:
                raise ValueError(f"problem {self.name!r}: X lacks column(s) {missing}; "
                                 f"needs {list(names)}")
            return [np.asarray(X[c], dtype=float) for c in names]
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(names):
            raise ValueError(f"problem {self.name!r}: X must have shape (n, {len(names)}) "
                             f"for columns {list(names)}, got {X.shape}")
        return [X[:, i] for i in range(len(names))]

    def _draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if self.sampler is not None:
            drawn = self.sampler(rng, n)
            return np.column_stack([np.asarray(drawn[v], dtype=float) for v in self.variable_names])
        return np.column_stack([v.draw(rng, n) for v in self.variables])

    def _sample_box(self, rng: np.random.Generator, n: int):
        X = self._draw(rng, n)
        with np.errstate(all="ignore"):
            y = self.evaluate(X)
        # Redraw the rows whose true value is not finite (float overflow, or a
        # formula undefined at the point); rejection keeps the other rows fixed.
        for _ in range(_MAX_REDRAWS):
            bad = ~np.isfinite(y)
            if not bad.any():
                return X, y
            X[bad] = self._draw(rng, int(bad.sum()))
            with np.errstate(all="ignore"):
                y[bad] = self.evaluate(X[bad])
        raise RuntimeError(f"problem {self.name!r}: the formula is not finite at most points "
                           f"of its sampling box {self.ranges}")

    def _sample_data(self, rng: np.random.Generator, n):
        X, y = self.data
        if n is None:
            return X.copy(), y.copy()
        if not isinstance(n, (int, np.integer)) or not 1 <= n <= len(y):
            raise ValueError(f"problem {self.name!r} holds {len(y)} rows; n must be between "
                             f"1 and {len(y)}, got {n!r}")
        rows = np.sort(rng.choice(len(y), size=int(n), replace=False))
        return X[rows], y[rows]


# -------------------------------------------------------------------- sympy
@functools.lru_cache(maxsize=1024)
def _parse(formula: str, names: tuple[str, ...], constants: tuple[str, ...],
           problem: str) -> sympy.Expr:
    local = {s: sympy.Symbol(s) for s in names + constants}
    try:
        expr = sympy.parse_expr(formula, local_dict=local)
    except Exception as exc:  # sympy raises many kinds for bad syntax
        raise ValueError(f"problem {problem!r}: cannot parse formula {formula!r} ({exc})") from None
    if not isinstance(expr, sympy.Expr):
        raise ValueError(f"problem {problem!r}: formula {formula!r} is not a numeric expression")
    unknown = sorted(str(f.func) for f in expr.atoms(sympy.core.function.AppliedUndef))
    unknown += sorted(str(s) for s in expr.free_symbols - set(local.values()))
    if unknown:
        hint = _suggest(unknown[0], local)
        raise ValueError(f"problem {problem!r}: formula {formula!r} uses unknown name(s) "
                         f"{unknown}.{hint} Variables: {list(names)}; constants: {list(constants)}")
    return expr


@functools.lru_cache(maxsize=1024)
def _lambdified(formula: str, names: tuple[str, ...], constants: tuple[tuple[str, float], ...]):
    expr = _parse(formula, names, tuple(k for k, _ in constants), "?")
    expr = expr.xreplace({sympy.Symbol(k): sympy.Float(v) for k, v in constants})
    return sympy.lambdify([sympy.Symbol(s) for s in names], expr, modules="numpy")


def formula_operators(expr: sympy.Expr) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The smallest PySR-style operator lists that write ``expr``: ``+ - * /``
    plus ``^`` for non-integer, non-half powers of variables, and the unary
    functions it calls (``sqrt`` for half-integer powers; ``arcsin``/``arccos``
    as custom definitions)."""
    binary, unary = ["+", "-", "*", "/"], []
    for node in sympy.preorder_traversal(expr):
        if not node.free_symbols:
            continue
        if isinstance(node, sympy.Pow):
            exponent = node.exp
            if exponent.is_Integer:
                continue
            if exponent.is_Rational and exponent.q == 2:
                unary.append("sqrt")
            else:
                binary.append("^")
        elif isinstance(node, sympy.Function):
            name = type(node).__name__
            if name not in _FUNCTION_OPERATORS:
                raise ValueError(f"no operator for the function {name!r} in {expr}")
            unary.append(_FUNCTION_OPERATORS[name])
    return tuple(dict.fromkeys(binary)), tuple(dict.fromkeys(unary))


def _check_operators(problem: Problem) -> None:
    try:
        OperatorSet.from_spec(problem.binary_operators, problem.unary_operators)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"problem {problem.name!r}: {exc}") from None
