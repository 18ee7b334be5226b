"""The sparse generator: basis functions from the operators, stepwise selection, proposals."""

import numpy as np
import pytest
import sympy

from hybridsr import HybridSRRegressor
from hybridsr.guidance import GuidanceTask
from hybridsr.guidance.sparse import SparseGenerator, basis_functions

KOZA = ("sin", "cos", "exp", "log")
ARITHMETIC = ("+", "-", "*", "/")


def _task(X, y, names, unary=KOZA, binary=ARITHMETIC):
    return GuidanceTask(X, y, names, unary, binary, 5.0, 0)


def _exact(formulas, names, X, y):
    """Formulas that reproduce ``y`` to rounding error."""
    out = []
    for formula in formulas:
        values = np.broadcast_to(sympy.lambdify(names, formula)(*X.T), y.shape)
        if np.max(np.abs(values - y)) < 1e-9 * (1 + np.max(np.abs(y))):
            out.append(formula)
    return out


def test_basis_has_monomials_unary_functions_and_their_products_all_finite():
    X = np.random.default_rng(0).uniform(0.1, 1, (50, 2))
    symbols = sympy.symbols("a b")
    expressions, columns = basis_functions(X, symbols, KOZA, ARITHMETIC)
    a, b = symbols
    for expected in (a**4, a * b, 1 / b, sympy.sin(b**2), sympy.cos(a - b), sympy.log(a * b),
                     sympy.sin(a) * sympy.cos(b)):
        assert expected in expressions
    assert columns.shape == (50, len(expressions)) and np.all(np.isfinite(columns))
    # log of a variable that reaches 0 or below is left out, not a column of NaN.
    expressions, columns = basis_functions(np.linspace(-1, 1, 20)[:, None], (a,), KOZA, ARITHMETIC)
    assert sympy.log(a) not in expressions and np.all(np.isfinite(columns))


@pytest.mark.parametrize("formula, low, high", [
    ("x1**6 + x1**5 + x1**4 + x1**3 + x1**2 + x1", -1, 1),   # Nguyen-4
    ("sin(x1**2)*cos(x1) - 1", -1, 1),                        # Nguyen-5
    ("sin(x1) + sin(x2**2)", 0, 1),                           # Nguyen-9: no term's best partner
    ("x1**4 - x1**3 + x2**2/2 - x2", 0, 1),                   # Nguyen-12
])
def test_generator_finds_short_sums_on_twenty_points(formula, low, high):
    truth = sympy.sympify(formula)
    names = tuple(sorted(str(s) for s in truth.free_symbols))
    X = np.random.default_rng(1).uniform(low, high, (20, len(names)))
    y = sympy.lambdify(names, truth)(*X.T)
    formulas = SparseGenerator().propose(_task(X, y, names))
    exact = _exact(formulas, names, X, y)
    assert exact and sympy.simplify(exact[0] - truth) == 0  # integer coefficients written as such


def test_generator_needs_a_sum_and_a_product():
    X = np.random.default_rng(0).uniform(1, 2, (30, 1))
    with pytest.raises(ValueError, match="'\\*' and '\\+'"):
        SparseGenerator().propose(_task(X, X[:, 0], ("x",), binary=("+", "-")))


def test_sparse_guided_search_recovers_a_polynomial_the_search_alone_lacks_the_time_for():
    X = np.random.default_rng(0).uniform(-1, 1, (20, 1))
    y = X[:, 0] ** 5 + X[:, 0] ** 4 + X[:, 0] ** 3 + X[:, 0] ** 2 + X[:, 0]
    model = HybridSRRegressor(binary_operators=list(ARITHMETIC), unary_operators=list(KOZA),
                              guidance="sparse", guidance_start="start", niterations=2,
                              populations=2, population_size=20, random_state=0, verbosity=0)
    model.fit(X, y)
    fresh = np.linspace(-2, 2, 41)[:, None]  # beyond the data: the law, not an interpolant
    assert np.allclose(model.predict(fresh), np.polyval([1, 1, 1, 1, 1, 0], fresh[:, 0]), rtol=1e-9)


def test_generator_fits_the_square_when_the_law_is_the_root_of_a_sum():
    # The law of cosines: a root of three terms, a sum once squared.
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(1, 5, 200), rng.uniform(1, 5, 200), rng.uniform(0, 3, 200)])
    y = np.sqrt(X[:, 0] ** 2 + X[:, 1] ** 2 - 2 * X[:, 0] * X[:, 1] * np.cos(X[:, 2]))
    names = ("a", "b", "t")
    formulas = SparseGenerator().propose(_task(X, y, names, unary=("sqrt", "cos")))
    a, b, t = sympy.symbols(names)
    assert formulas[0] == sympy.sqrt(a**2 + b**2 - 2 * a * b * sympy.cos(t))


def test_nonsense_options_are_refused():
    with pytest.raises(ValueError, match="max_terms"):
        SparseGenerator(max_terms=0)


def test_a_basis_smaller_than_the_largest_model_still_ranks_its_models():
    # With only + and * on one variable the basis is six monomials, fewer than max_terms.
    X = np.random.default_rng(0).uniform(-1, 1, (30, 1))
    y = X[:, 0] ** 3 + X[:, 0]
    formulas = SparseGenerator().propose(_task(X, y, ("x",), unary=(), binary=("+", "*")))
    assert formulas[0] == sympy.sympify("x**3 + x")


def test_noisy_logarithm_of_a_sum_is_fitted_after_exp_with_errors_in_y_units():
    # Rydberg's lines as log(lambda): exp(-y) = R/n1**2 - R/n2**2 is a sum, whose values
    # span 100x; unweighted least squares fits the n1 = 1 lines and misses R by 7%.
    rng = np.random.default_rng(0)
    n1 = rng.integers(1, 7, 50).astype(float)
    n2 = rng.integers(n1 + 1, 8).astype(float)
    rydberg = 1.097e7
    y = -np.log(rydberg * (1 / n1**2 - 1 / n2**2)) + rng.normal(0, 0.005, 50)
    formulas = SparseGenerator().propose(_task(np.column_stack([n1, n2]), y, ("n1", "n2"),
                                               unary=("exp", "log", "sqrt")))
    a, b = sympy.symbols("n1 n2")
    assert isinstance(-formulas[0], sympy.log)  # -log(c0 + c1/n1**2 + c2/n2**2)
    terms = (-formulas[0]).args[0].as_coefficients_dict()
    assert set(terms) <= {1, a**-2, b**-2}
    assert abs(terms[a**-2] / rydberg - 1) < 0.02 and abs(terms[b**-2] / rydberg + 1) < 0.02


def test_small_data_gets_at_most_one_term_per_two_rows():
    # Ten noisy points of Kepler's law: eight terms would fit them exactly and rank first.
    rng = np.random.default_rng(0)
    a = np.exp(rng.uniform(np.log(0.4), np.log(9.5), 10))
    y = 365.25 * a**1.5 * (1 + rng.normal(0, 0.002, 10))
    formulas = SparseGenerator().propose(_task(a[:, None], y, ("a",), unary=("sqrt", "log")))
    assert max(len(sympy.Add.make_args(f if not isinstance(f, sympy.Pow) else f.base))
               for f in formulas) <= 1 + (10 - 2) // 2


def test_a_monomial_beyond_the_basis_degree_comes_from_the_logarithms():
    # Bohr's energy levels: degree 9 in five variables, a plane in their logarithms.
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 5, (100, 5))
    m, q, eps, h, n = X.T
    y = -m * q**4 / (8 * eps**2 * h**2 * n**2)
    names = ("m", "q", "eps", "h", "n")
    formulas = SparseGenerator().propose(_task(X, y, names, unary=()))
    m, q, eps, h, n = sympy.symbols(names)
    ratio = formulas[0] / (m * q**4 / (eps**2 * h**2 * n**2))
    assert ratio.is_number and abs(float(ratio) + 0.125) < 1e-12


@pytest.mark.parametrize("formula", ["x1**x2",                              # Nguyen-11: log(y) is a product
                                     "log(x1 + 1) + log(x1**2 + 1)"])       # Nguyen-7: exp(y) is a cubic
def test_logarithm_and_exponential_of_the_target_turn_products_into_sums(formula):
    truth = sympy.sympify(formula)
    names = tuple(sorted(str(s) for s in truth.free_symbols))
    X = np.random.default_rng(1).uniform(0.05, 1, (20, len(names)))
    y = sympy.lambdify(names, truth)(*X.T)
    formulas = SparseGenerator().propose(_task(X, y, names))
    assert _exact(formulas[:1], names, X, y)
    grid = np.random.default_rng(2).uniform(0.05, 2, (50, len(names)))
    assert np.allclose(sympy.lambdify(names, formulas[0])(*grid.T),
                       sympy.lambdify(names, truth)(*grid.T), rtol=1e-9)  # the law, not a fit


def test_custom_unary_operators_of_the_search_enter_the_basis():
    from hybridsr.operators import OperatorSet

    operators = OperatorSet.from_spec(ARITHMETIC, ("cube_root(x) = x**(1/3)", "sin"))
    X = np.random.default_rng(0).uniform(0.5, 3, (40, 1))
    y = 2 * np.cbrt(X[:, 0]) + X[:, 0]
    task = GuidanceTask(X, y, ("x",), ("cube_root", "sin"), ARITHMETIC, 5.0, 0,
                        operator_set=operators)
    formulas = SparseGenerator().propose(task)  # by name alone, cube_root is unknown
    assert _exact(formulas[:1], ("x",), X, y)


def test_a_law_without_intercept_is_proposed_without_one():
    # Noise makes a fitted intercept small but never zero; the law has none.
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 3, (40, 2))
    y = 2.5 * X[:, 0] / X[:, 1] ** 2 + rng.normal(0, 0.01, 40)
    formulas = SparseGenerator().propose(_task(X, y, ("a", "b")))
    a, b = sympy.symbols("a b")
    assert set(formulas[0].as_coefficients_dict()) == {a / b**2}
