"""The sparse generator: the law as a short linear combination of basis functions.

Fast Function Extraction (McConaghy 2011) and SINDy (Brunton, Proctor & Kutz
2016) write a law as ``c0 + c1*f1(x) + ... + ck*fk(x)``, the ``f`` drawn from
a large basis built out of the operators: monomials (``x1**4``,
``x1*x2``), negative powers where a variable stays off zero, each unary
operator applied to the variables, their squares, pairwise products and
differences (``sin(x2**2)``, ``cos(theta1 - theta2)``), and pairwise products
of those. Choosing the few terms is a linear problem, solved in milliseconds
where a tree search needs a dozen lucky mutations to assemble a degree-6
polynomial: Nguyen-4's ``x**6 + x**5 + x**4 + x**3 + x**2 + x`` is found
exactly in a fraction of a second.

The terms are chosen by forward stepwise selection with a beam (each model
of the beam is extended by every basis function at once, scored exactly from
the model's orthogonalised columns; the 30 best models of each size go on,
and at two terms every pair is scored from the Gram matrix, since
``sin(x1) + sin(x2**2)`` is no single term's best partner), once over the
whole basis and once over its polynomial part alone (correlated monomials
mislead the choice over the whole basis); each path is then walked back
(the term whose removal costs least goes first), so models of every size
from 1 to ``max_terms`` terms, with and without an intercept, are proposed,
best first by the extended Bayesian information criterion (exact fits
first); a model has at most one term per two rows beyond the first two (ten
noisy points fit eight terms exactly, and an exact fit ranks first). The
same is done for ``y**2``, ``1/y``, ``log(y)``, ``exp(y)``, ``exp(-y)`` and
``1/y**2`` where the operators can undo them (``sqrt(x1**2 + x2**2 -
2*x1*x2*cos(theta))`` is the square root of a three-term sum, ``log(x1**x2)``
is ``x2*log(x1)``, ``exp(log(x + 1) + log(x**2 + 1))`` a cubic, Rydberg's
``log(lambda)`` minus the logarithm of one), by least squares weighted so that errors count in
``y``'s units. A power law ``c*x1**p1*...*xd**pd`` is fitted on the
logarithms besides. Coefficients within rounding of an integer or a
half-integer are written as such; the search refits every constant on the
data anyway.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np
import sympy

from .transforms import usable_transforms

__all__ = ["SparseGenerator", "basis_functions"]

#: Rows the basis is evaluated on (a random subset of larger data).
_ROWS = 300
#: Highest total degree of the monomials, by number of variables (2 beyond the table).
_DEGREES = {1: 6, 2: 4, 3: 3}
#: A coefficient this close (relative) to an integer or half-integer is written as one.
_SNAP = 1e-8
#: A model whose residual is this small relative to the target's spread is exact: stop adding.
_EXACT = 1e-12


@dataclass(frozen=True)
class _Basis:
    expressions: list
    columns: np.ndarray  # (rows, features)
    polynomial: np.ndarray  # bool mask of the monomials and their ratios


def basis_functions(X: np.ndarray, symbols: tuple, unary_operators, binary_operators,
                    max_features: int = 4000) -> tuple[list[sympy.Expr], np.ndarray]:
    """The basis functions the operators can write, and their values on ``X`` (unary operators
    as names, definitions such as ``"cube_root(x) = x**(1/3)"``, or operator objects).

    Functions that are not finite on every row, constant, or repeat another's
    values are left out. Pairwise products are added while there is room
    for them under ``max_features``, those of the simplest factors first.
    """
    basis = _build(np.asarray(X, dtype=float), tuple(symbols), tuple(unary_operators),
                   tuple(binary_operators), max_features)
    return basis.expressions, basis.columns


def _build(X, symbols, unary_operators, binary_operators, max_features) -> _Basis:
    from ..operators import OperatorSet

    n, d = X.shape
    # Names (or definitions) of operators, or the operators themselves (custom ones included).
    names = tuple(op for op in unary_operators if isinstance(op, str))
    unary = tuple(op for op in unary_operators if not isinstance(op, str))
    if names:
        unary += OperatorSet.from_spec(binary_operators=(), unary_operators=names).unary
    can_multiply, can_divide = "*" in binary_operators, "/" in binary_operators
    expressions, columns, kinds, factors, seen = [], [], [], [], set()

    def add(expression, column, kind, factor=False) -> bool:
        if len(expressions) >= max_features:
            return False
        column = np.asarray(column, dtype=float)
        if column.shape != (n,) or not np.all(np.abs(column) < 1e100):  # finite, squares too
            return False
        spread = float(np.std(column))
        if not spread > 1e-12 * (1.0 + float(np.max(np.abs(column)))):
            return False
        # Equal values under another name (cos(a - b) and cos(b - a)) are one function.
        key = np.round((column - column.mean()) / spread, 9).tobytes()
        if key in seen:
            return False
        seen.add(key)
        if factor:
            factors.append(len(expressions))
        expressions.append(expression)
        columns.append(column)
        kinds.append(kind)
        return True

    with np.errstate(all="ignore"):
        top = _DEGREES.get(d, 2) if can_multiply else 1
        for degree in range(1, top + 1):
            for powers in itertools.combinations_with_replacement(range(d), degree):
                expression = sympy.Mul(*(symbols[i] for i in powers))
                add(expression, np.prod(X[:, list(powers)], axis=1), "monomial", degree <= 2)
        if can_divide:
            for i in range(d):
                if np.all(X[:, i] > 0) or np.all(X[:, i] < 0):
                    for power in ((1, 2) if can_multiply else (1,)):
                        add(symbols[i] ** -power, X[:, i] ** -float(power), "inverse", True)
        atoms = [(symbols[i], X[:, i]) for i in range(d)]
        if can_multiply:
            atoms += [(symbols[i] ** 2, X[:, i] ** 2) for i in range(d)]
            atoms += [(symbols[i] * symbols[j], X[:, i] * X[:, j])
                      for i, j in itertools.combinations(range(d), 2)]
        if "-" in binary_operators:
            atoms += [(symbols[i] - symbols[j], X[:, i] - X[:, j])
                      for i, j in itertools.combinations(range(d), 2)]
        for operator in unary:
            function = sympy.lambdify(operator.arguments, operator.sympy_form, "numpy")
            for expression, column in atoms:
                try:
                    values = np.broadcast_to(function(column), (n,))
                except Exception:  # noqa: BLE001 - an operator numpy cannot apply adds nothing
                    break
                add(operator.to_sympy(expression), values, "unary", True)
        if can_multiply:
            # Factors: the unary functions, the monomials of degree <= 2 and the negative
            # powers, the simplest first (products are added while there is room).
            factors.sort(key=lambda k: sympy.count_ops(expressions[k]))
            for a, b in itertools.combinations_with_replacement(factors, 2):
                if kinds[a] == kinds[b] == "monomial":
                    continue  # already a monomial of the table (or beyond its degree)
                kind = "ratio" if {kinds[a], kinds[b]} <= {"monomial", "inverse"} else "product"
                if not add(expressions[a] * expressions[b], columns[a] * columns[b], kind) \
                        and len(expressions) >= max_features:
                    break
    matrix = np.column_stack(columns) if columns else np.empty((n, 0))
    # Ratios of monomials (x1/x2, 1/x1**2) belong to the polynomial path too.
    return _Basis(expressions, matrix,
                  np.array([k in ("monomial", "inverse", "ratio") for k in kinds], dtype=bool))


def _stepwise(F: np.ndarray, y: np.ndarray, candidates: np.ndarray, max_terms: int,
              width: int, deadline: float = math.inf,
              weights: np.ndarray | None = None) -> list[list[int]]:
    """Forward stepwise selection with a beam over the columns ``candidates``.

    Each model of the beam is extended by every candidate at once: with the
    model's columns orthonormalised (``Q``), adding column ``f`` lowers the
    squared error by ``(f_perp . r)**2 / |f_perp|**2`` (``f_perp`` the part
    of ``f`` the model does not span, ``r`` its residual). The ``width``
    best models of each size go on (of two terms, the best of every pair:
    ``sin(x1) + sin(x2**2)`` is no single term's best partner); the best ones
    of every size are returned, stopping at the first size that fits exactly
    (or at ``deadline``, a ``time.monotonic()`` reading). With ``weights``, the
    squared errors are weighted by row (see :func:`_fit`).
    """
    centred, target = _without_intercept(F[:, candidates], y, weights)
    lengths = np.sum(centred ** 2, axis=0)
    total = float(target @ target)
    beam, chosen = [()], []
    for size in range(1, min(max_terms, len(candidates)) + 1):
        pool: dict[tuple, float] = {}
        for model in beam:
            if model:
                Q = np.linalg.qr(centred[:, list(model)])[0]
                residual = target - Q @ (Q.T @ target)
                # |f_perp|**2 = |f|**2 - |Q'f|**2, and f_perp . r = f . r (r is orthogonal to Q).
                length = lengths - np.sum((Q.T @ centred) ** 2, axis=0)
            else:
                residual, length = target, lengths
            with np.errstate(all="ignore"):
                gain = np.where(length > 1e-10 * lengths, (centred.T @ residual) ** 2 / length, 0.0)
            gain[list(model)] = 0.0
            error = float(residual @ residual)
            best = np.argpartition(-gain, width - 1)[:width] if width < len(gain) else np.arange(len(gain))
            for column in best:
                key = tuple(sorted((*model, int(column))))
                pool[key] = min(pool.get(key, math.inf), error - float(gain[column]))
        if size == 2:
            pool.update(_best_pairs(centred, target, width))
        beam = sorted(pool, key=lambda key: (pool[key], key))[:width]
        chosen += [[int(candidates[k]) for k in model] for model in beam[:2]]
        if pool[beam[0]] <= (_EXACT ** 2) * total or time.monotonic() > deadline:
            break
    return chosen


def _best_pairs(centred: np.ndarray, target: np.ndarray, count: int) -> dict[tuple, float]:
    """The ``count`` pairs of columns with the least squared error, from their Gram matrix."""
    gram = centred.T @ centred
    projection = centred.T @ target
    diagonal = np.diag(gram)
    total = float(target @ target)
    best: dict[tuple, float] = {}
    n = len(gram)
    for start in range(0, n, 256):
        rows = slice(start, min(start + 256, n))
        with np.errstate(all="ignore"):
            determinant = diagonal[rows, None] * diagonal[None, :] - gram[rows] ** 2
            explained = (diagonal[None, :] * projection[rows, None] ** 2
                         - 2 * gram[rows] * projection[rows, None] * projection[None, :]
                         + diagonal[rows, None] * projection[None, :] ** 2) / determinant
            usable = determinant > 1e-10 * diagonal[rows, None] * diagonal[None, :]
        upper = np.arange(n)[None, :] > np.arange(rows.start, rows.stop)[:, None]
        error = np.where(usable & upper, total - explained, np.inf)
        for flat in np.argsort(error, axis=None, kind="stable")[:count]:
            i, j = divmod(int(flat), n)
            if np.isfinite(error[i, j]):
                best[(start + i, j)] = float(error[i, j])
    return dict(sorted(best.items(), key=lambda item: item[1])[:count])


def _without_intercept(F: np.ndarray, y: np.ndarray,
                       weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """``F`` and ``y`` with rows scaled by the square roots of ``weights`` and the
    (scaled) intercept column projected out: least squares on them is the weighted
    fit of ``y`` by an intercept and columns of ``F``."""
    if weights is None:
        return F - F.mean(axis=0), y - y.mean()
    root = np.sqrt(weights)
    F, y = F * root[:, None], y * root
    unit = root / math.sqrt(float(root @ root))
    return F - np.outer(unit, unit @ F), y - unit * float(unit @ y)


def _fit(F: np.ndarray, y: np.ndarray, chosen: list[int], weights: np.ndarray | None = None,
         intercept: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares intercept (0 without ``intercept``) and coefficients of the columns
    ``chosen`` (minimising the squared errors times ``weights``, when given); and the
    prediction."""
    A = np.column_stack([np.full(len(y), 1.0 if intercept else 0.0), F[:, chosen]])
    root = np.ones(len(y)) if weights is None else np.sqrt(weights)
    coefficients = np.linalg.lstsq(A * root[:, None], y * root, rcond=None)[0]
    return coefficients, A @ coefficients


def _backward(F: np.ndarray, y: np.ndarray, chosen: list[int],
              weights: np.ndarray | None = None) -> list[list[int]]:
    """From ``chosen``, drop the term whose removal raises the (weighted) error least, down
    to one term."""
    out, current = [], list(chosen)
    scale = np.ones(len(y)) if weights is None else weights
    while len(current) > 1:
        errors = [float(np.sum(scale * (y - _fit(F, y, current[:k] + current[k + 1:],
                                                  weights)[1]) ** 2))
                  for k in range(len(current))]
        del current[int(np.argmin(errors))]
        out.append(list(current))
    return out


def _write(transform, target_scale: float, chosen, coefficients, spread, expressions):
    """The formula of a fitted model (None for a constant)."""
    terms = [_number(coefficients[0], target_scale)]
    terms += [_number(c / spread[k], target_scale / spread[k]) * expressions[k]
              for c, k in zip(coefficients[1:], chosen)]
    combination = sympy.Add(*terms)
    return None if combination.is_number else transform.inverse(combination)


def _power_law(X: np.ndarray, y: np.ndarray, symbols: tuple, operators: set):
    """``c * x1**p1 * ... * xd**pd`` with the exponents of a fit of ``log|y|`` on the
    ``log|x|`` rounded to integers (half-integers with ``sqrt``): ``(formula, prediction,
    nonzero exponents)``, or None where signs vary, the operators cannot write it or an
    exponent is not near a round one.

    A monomial of high degree (``-m*q**4/(8*epsilon**2*h**2*n**2)``) is beyond the
    basis's degree, and a long needle for the search; on logarithms it is a plane.
    """
    signs = np.sign(X)
    if not (np.all(signs == signs[0]) and np.all(signs != 0) and (np.all(y > 0) or np.all(y < 0))
            and "*" in operators):
        return None
    logs = np.log(np.abs(X))
    target = np.log(np.abs(y))
    design = np.column_stack([np.ones(len(y)), logs])
    exponents = np.linalg.lstsq(design, target, rcond=None)[0][1:]
    step = 2.0 if "sqrt" in operators else 1.0
    rounded = np.round(exponents * step) / step
    if not np.all(np.abs(exponents - rounded) < 0.1) or not np.any(rounded):
        return None
    if (np.any(rounded < 0) and "/" not in operators) or np.any((signs[0] < 0) & (rounded % 1 != 0)):
        return None
    scale = float(np.exp(np.mean(target - logs @ rounded))) * float(np.sign(y[0]))
    prediction = scale * np.exp(logs @ rounded) * np.prod(signs[0] ** rounded)
    formula = sympy.Float(scale, 15) * sympy.Mul(*(symbol ** sympy.Rational(int(p * step), int(step))
                                                  for symbol, p in zip(symbols, rounded) if p))
    return formula, prediction, int(np.count_nonzero(rounded))


def _number(value: float, scale: float) -> sympy.Expr:
    """``value`` as an integer or half-integer when within rounding of one, else a float."""
    if abs(value) <= _EXACT * scale:
        return sympy.Integer(0)
    for denominator in (1, 2):
        whole = round(value * denominator)
        if whole != 0 and abs(value * denominator - whole) <= _SNAP * max(1.0, abs(value * denominator)):
            return sympy.Rational(whole, denominator)
    return sympy.Float(value, 15)


def _criterion(error: float, floor: float, rows: int, terms: int, features: int) -> float:
    """The extended Bayesian information criterion (Chen & Chen 2008) of a model of
    ``terms`` of ``features`` basis functions with mean squared ``error`` on ``rows``.

    The plain BIC lets a model chosen from thousands fit the noise of 30 rows
    (Hubble's law came out as a degree-6 polynomial); the extra term charges
    for the number of models of that size there were to choose from. Errors
    below ``floor`` (rounding) count as ``floor``: exact models rank first.
    """
    choices = math.lgamma(features + 1) - math.lgamma(terms + 1) - math.lgamma(features - terms + 1)
    return rows * math.log(max(error, floor)) + terms * math.log(rows) + 2.0 * choices


def _weights(transform, y: np.ndarray) -> np.ndarray | None:
    """Row weights under which squared errors in ``transform.forward(y)`` count as squared
    errors in ``y`` (to first order: 1/slope**2), clipped to 1e8 around their median; none
    for the identity.

    Unweighted, ``exp(-log(lambda))`` of Rydberg's lines is fitted where it is large
    (n1 = 1) and misses the other series: its small values carry the same noise in
    ``log(lambda)`` as its large ones.
    """
    if transform.name == "identity":
        return None
    slope = np.abs(transform.slope(y))
    weights = 1.0 / np.maximum(slope, 1e-300) ** 2
    middle = float(np.median(weights))
    if not (math.isfinite(middle) and middle > 0):
        return None
    return np.clip(weights / middle, 1e-8, 1e8)


#: The target transforms fitted, in this order (an exact fit ends the search for more).
_TRANSFORMS = ("identity", "square", "inverse", "log", "exp", "negexp", "inverse_square")


@dataclass
class SparseGenerator:
    """Propose short linear combinations of basis functions (see the module's docstring).

    Parameters
    ----------
    max_terms : int, default 8
        Terms of the largest model (besides the intercept); at most ``(rows - 2) // 2``.
    max_features : int, default 4000
        Basis functions at most.
    beam_width : int, default 30
        Models of each size kept by the stepwise selection.
    max_proposals : int, default 24
        Models proposed at most (the best by the criterion).
    """

    name: str = "sparse"
    max_terms: int = 8
    max_features: int = 4000
    beam_width: int = 30
    max_proposals: int = 24
    #: What the last call found (basis size, models proposed), for users and tests.
    last_report: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        for name in ("max_terms", "max_features", "beam_width", "max_proposals"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"SparseGenerator({name}={value!r}): must be an integer >= 1")

    def propose(self, task) -> list[sympy.Expr]:
        if not ({"+", "-"} & set(task.binary_operators) and "*" in task.binary_operators):
            raise ValueError("a linear combination needs '*' and '+' (or '-') among the operators")
        X = np.asarray(task.X, dtype=float)
        y = np.asarray(task.y, dtype=float)
        rng = np.random.default_rng(task.seed)
        if len(X) > _ROWS:
            rows = np.sort(rng.choice(len(X), _ROWS, replace=False))
            X, y = X[rows], y[rows]
        symbols = tuple(sympy.Symbol(name) for name in task.variable_names)
        unary = (task.operator_set.unary if task.operator_set is not None
                 else tuple(task.unary_operators))
        basis = _build(X, symbols, unary, tuple(task.binary_operators),
                       self.max_features)
        if basis.columns.shape[1] == 0:
            raise ValueError("no basis function is finite on the data")
        # Columns of unit spread: masses of 1e24 kg and their squares side by side would
        # overflow the Gram matrix and leave least squares ill-conditioned.
        spread = basis.columns.std(axis=0)
        F = basis.columns / spread
        deadline = time.monotonic() + task.time_limit
        operators = set(task.unary_operators) | set(task.binary_operators)
        floor = (_EXACT ** 2) * (float(np.var(y)) or 1.0)
        # The criterion of an exact fit of a full-size model: nothing scores below it.
        max_terms = max(1, min(self.max_terms, (len(y) - 2) // 2))
        exact = _criterion(0.0, floor, len(y), min(max_terms, F.shape[1]), F.shape[1])
        ranked = []
        with np.errstate(all="ignore"):
            power_law = _power_law(X, y, symbols, operators)
        if power_law is not None:
            formula, prediction, exponents = power_law
            error = float(np.mean((y - prediction) ** 2))
            if math.isfinite(error):
                criterion = _criterion(error, floor, len(y), exponents, F.shape[1])
                ranked.append((criterion, -1, lambda formula=formula: formula))
        for transform in usable_transforms(y, operators, _TRANSFORMS):
            if time.monotonic() > deadline or (ranked and min(ranked)[0] <= exact):
                break  # out of time, or an exact fit already found
            with np.errstate(all="ignore"):
                target = transform.forward(y)
                weights = _weights(transform, y)
            models: dict[tuple, None] = {}
            for candidates in (np.arange(F.shape[1]), np.flatnonzero(basis.polynomial)):
                if len(candidates) == 0:
                    continue
                path = _stepwise(F, target, candidates, max_terms, self.beam_width, deadline,
                                 weights)
                for chosen in path + _backward(F, target, path[-1], weights):
                    models[tuple(sorted(chosen))] = None
            target_scale = float(np.max(np.abs(target))) or 1.0
            # Each model also without its intercept, one parameter less: noise makes the fitted
            # intercept of R/n1**2 - R/n2**2 small, never zero, and the law has none.
            for chosen, intercept in itertools.product(models, (True, False)):
                coefficients, fitted = _fit(F, target, list(chosen), weights, intercept)
                with np.errstate(all="ignore"):
                    error = float(np.mean((y - transform.backward(fitted)) ** 2))
                if not (math.isfinite(error) and np.all(np.isfinite(coefficients))):
                    continue
                criterion = _criterion(error, floor, len(y), len(chosen), F.shape[1])
                ranked.append((criterion - (0.0 if intercept else math.log(len(y))), len(ranked),
                               lambda transform=transform, target_scale=target_scale,
                               chosen=chosen, coefficients=coefficients:
                               _write(transform, target_scale, chosen, coefficients, spread,
                                      basis.expressions)))
        # Formulas are written for the best models only: sympy takes longer than the fits.
        ranked.sort(key=lambda item: item[:2])
        formulas: dict[sympy.Expr, None] = {}
        for *_, write in ranked:
            if len(formulas) >= self.max_proposals:
                break
            formula = write()
            if formula is not None:
                formulas[formula] = None
        formulas = list(formulas)
        self.last_report = {"basis": F.shape[1], "models": len(formulas)}
        return formulas
