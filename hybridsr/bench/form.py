"""Whether a formula has the true law's functional form (the PySR paper's criterion, automated).

SRBench's rule (:mod:`hybridsr.bench.judge`) asks the fitted constants to
match the law's to 3 decimals, up to one additive or multiplicative
constant. That suits noise-free data; on EmpiricalBench's small noisy
samples it turns down the law itself whenever noise moves a constant that
sits inside the formula (Leavitt's slope, Schechter's exponent, Bode's base).
The PySR paper (Cranmer 2023, section 5) judged EmpiricalBench by eye
instead: a Pareto front counts when it holds the true expression, small
errors in the constants ignored "so long as the overall functional form is
correct". This module makes that check mechanical:

* every number of the law other than integers and multiples of 1/4 up to 4 (its
  constants: 73.3 in ``73.3*D``, -2.084 and 15.65 in Leavitt's law) becomes
  a free parameter, and so does the rate of an exponential written with a
  numeric base (``2**n`` is ``exp(0.693*n)``); integers and simple fractions
  (the exponents of ``m1*m2/r**2``, ``a**(3/2)`` or ``a**1.5``) stay fixed,
  as they are the structure;
* the formula has the law's form when some parameter values, each of the
  law's sign and within a factor of :data:`FACTOR` of its value, make the
  law equal the formula on the test points (relative error below
  :data:`TOLERANCE`). The factor keeps a term from vanishing (a parameter
  fitted to 0 drops it) while letting noise move correlated constants.

The check is numeric (scipy's bounded least squares on the test points), so
it is fast and cannot hang; it has no opinion on formulas that numpy cannot
evaluate there.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import sympy
from scipy.optimize import least_squares

__all__ = ["FACTOR", "TOLERANCE", "law_parameters", "has_law_form"]

#: Each refitted constant of the law lies within this factor of its value.
FACTOR = 2.0
#: Largest root-mean-square difference, relative to the formula's, counted as equal.
TOLERANCE = 1e-9


def law_parameters(truth: sympy.Expr) -> tuple[sympy.Expr, tuple[sympy.Symbol, ...], np.ndarray]:
    """``truth`` with its constants replaced by symbols: (family, symbols, the law's values).

    A number with a symbolic exponent (``2**n``) is first written as
    ``exp(log(2)*n)`` so that its rate is a constant like any other.
    """
    def as_exponential(power: sympy.Pow) -> sympy.Expr:
        return sympy.exp(sympy.Float(math.log(float(power.base))) * power.exp)

    truth = truth.replace(
        lambda e: e.is_Pow and e.base.is_Number and e.base.is_positive and e.base != 1
        and not e.exp.is_Number, as_exponential)
    constants = sorted({n for n in truth.atoms(sympy.Number) if _is_constant(n)}, key=float)
    symbols = tuple(sympy.Symbol(f"_theta{i}") for i in range(len(constants)))
    family = truth.xreplace(dict(zip(constants, symbols)))
    return family, symbols, np.array([float(c) for c in constants])


def _is_constant(number: sympy.Number) -> bool:
    """Fitted constants: numbers other than integers and small quarters (1/2, 3/2, -2 and a
    float exponent written 1.5 are structure, which a looser fit must not change)."""
    if number.is_Integer:
        return False
    if number.is_Rational:
        return number.q > 4
    return not (float(4 * number).is_integer() and abs(float(number)) <= 4)


def has_law_form(model: str | sympy.Expr, truth: str | sympy.Expr, points: dict,
                 names: tuple[str, ...] = ()) -> bool:
    """Whether ``model`` is ``truth`` with refitted constants (see the module docstring).

    ``points`` maps variable names to test values; ``names`` lists the
    variables so that each parses as a plain symbol (``I``, ``E``, ``gamma``).
    A law without constants has the form only when it equals the model.
    """
    symbols = {name: sympy.Symbol(name) for name in names}
    try:
        # As written: evaluating a long formula can take minutes (parse_formula).
        model_expr = sympy.sympify(str(model), locals=symbols, evaluate=False)
        truth_expr = sympy.sympify(str(truth), locals=symbols)
        family, parameters, values = law_parameters(truth_expr)
        variables = [sympy.Symbol(name) for name in points]
        model_values = _evaluate(sympy.lambdify(variables, model_expr, "numpy"), points)
        law = sympy.lambdify([*variables, *parameters], family, "numpy")
    except Exception:  # noqa: BLE001 - a formula sympy cannot read has no form
        return False
    if model_values is None:
        return False

    def values_at(log_factors: np.ndarray) -> np.ndarray | None:
        return _evaluate(law, points, *(values * np.exp(log_factors)))

    finite = np.isfinite(model_values)
    scale = float(np.sqrt(np.mean(model_values[finite] ** 2))) if finite.any() else 0.0
    if not finite.any() or scale == 0.0:
        return False

    def residuals(log_factors: np.ndarray) -> np.ndarray:
        law_values = values_at(log_factors)
        if law_values is None:
            return np.full(int(finite.sum()), 1e3)
        difference = (law_values[finite] - model_values[finite]) / scale
        return np.where(np.isfinite(difference), difference, 1e3)

    start = np.zeros(len(values))
    if len(values):
        bound = math.log(FACTOR)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            fitted = least_squares(residuals, start, bounds=(-bound, bound), method="trf",
                                   xtol=1e-15, ftol=1e-15, gtol=1e-15, max_nfev=200 * (len(values) + 1)).x
    else:
        fitted = start
    law_values = values_at(fitted)
    if law_values is None or not np.array_equal(np.isfinite(law_values), finite):
        return False
    error = float(np.sqrt(np.mean(((law_values[finite] - model_values[finite]) / scale) ** 2)))
    return error <= TOLERANCE


def _evaluate(function, points: dict, *parameters) -> np.ndarray | None:
    """Real values of a lambdified formula on ``points`` (None where numpy cannot compute it)."""
    columns = [np.asarray(v, dtype=float) for v in points.values()]
    size = len(columns[0]) if columns else 1
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            values = np.asarray(function(*columns, *parameters))
    except Exception:  # noqa: BLE001 - e.g. a function numpy does not have
        return None
    if np.iscomplexobj(values):
        values = np.where(np.abs(values.imag) < 1e-12, values.real, np.nan)
    return np.broadcast_to(values.astype(float), (size,)).copy()
