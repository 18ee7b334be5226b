"""The EQL student: recovery of small formulas, extraction, distillation, validation.

Fits are kept tiny (short schedules, few rows) so that the file runs in well
under a minute on a loaded machine.
"""

import pickle
import time

import numpy as np
import pytest
import sympy

torch = pytest.importorskip("torch")

from hybridsr.expr import Language, sympy_to_tree  # noqa: E402
from hybridsr.neural.eql import (EQLResult, StudentError, Units, fit_eql,  # noqa: E402
                                 fit_student, units_for)
from hybridsr.operators import OperatorSet  # noqa: E402

SHORT = (200, 1000, 200)
TINY = (50, 200, 50)


def _values(expression, X, names=None):
    names = names or [f"x{i}" for i in range(X.shape[1])]
    f = sympy.lambdify([sympy.Symbol(n) for n in names], expression, modules="numpy")
    with np.errstate(all="ignore"):
        return np.broadcast_to(np.asarray(f(*X.T), dtype=float), (X.shape[0],))


def _relative_rmse(expression, truth, X):
    residual = _values(expression, X) - truth(X)
    return float(np.sqrt(np.mean(residual**2)) / np.std(truth(X)))


@pytest.fixture(scope="module")
def sin_fit():
    X = np.linspace(-3, 3, 200)[:, None]
    y = 3 * np.sin(X[:, 0]) - 0.5 * X[:, 0]
    threads = torch.get_num_threads()
    result = fit_eql(X, y, unary=("identity", "sin"), n_products=0, regularization="l05",
                     epochs=SHORT, random_state=0)
    assert torch.get_num_threads() == threads  # restored after the fit
    return X, result


def test_recovers_sin_minus_linear(sin_fit):
    _, result = sin_fit
    truth = lambda A: 3 * np.sin(A[:, 0]) - 0.5 * A[:, 0]  # noqa: E731
    fresh = np.random.default_rng(1).uniform(-3, 3, (500, 1))
    assert _relative_rmse(result.expression, truth, fresh) < 1e-2
    terms = sympy.Add.make_args(result.expression)
    assert len(terms) <= 3
    x = sympy.Symbol("x0")
    sines = [t for t in terms if t.has(sympy.sin)]
    assert len(sines) == 1
    coefficient, factor = sines[0].as_coeff_Mul()
    (argument,) = factor.args
    assert abs(float(coefficient) - 3.0) < 1e-2
    assert abs(float(argument.coeff(x)) - 1.0) < 1e-3
    assert result.validation_rmse < 1e-3
    assert result.n_active <= 8


def test_subexpressions_are_distinct_non_constant_formulas(sin_fit):
    _, result = sin_fit
    subs = result.subexpressions
    assert subs and len(subs) == len(set(subs))
    assert not any(e.is_number for e in subs)
    assert any(e.has(sympy.sin) for e in subs)
    assert all(isinstance(s, sympy.Symbol) and s.name == "x0"
               for e in subs for s in e.free_symbols)


def test_formula_converts_to_a_gp_tree(sin_fit):
    _, result = sin_fit
    language = Language(OperatorSet.from_spec(("+", "-", "*", "/"), ("sin",)), 1)
    tree = sympy_to_tree(result.expression, language)
    assert len(tree) >= 3
    for sub in result.subexpressions:
        sympy_to_tree(sub, language)


def test_recovers_a_product():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (150, 2))
    result = fit_eql(X, X[:, 0] * X[:, 1], unary=("identity",), n_products=1,
                     epochs=SHORT, random_state=0, variable_names=("a", "b"))
    a, b = sympy.symbols("a b")
    assert result.expression.free_symbols == {a, b}
    ratio = result.expression / (a * b)
    assert ratio.is_number and abs(float(ratio) - 1.0) < 1e-6
    assert a * b in result.subexpressions


def test_recovers_a_product_of_huge_inputs():
    # Masses in kg: unscaled, the first products reach 1e60 and training diverges.
    rng = np.random.default_rng(0)
    X = rng.uniform(1e24, 1e25, (150, 2))
    y = 6.7e-49 * X[:, 0] * X[:, 1]
    result = fit_eql(X, y, unary=("identity",), n_products=1, epochs=SHORT, random_state=0,
                     variable_names=("m1", "m2"))
    m1, m2 = sympy.symbols("m1 m2")
    ratio = result.expression / (m1 * m2)
    assert ratio.is_number and float(ratio) == pytest.approx(6.7e-49, rel=1e-4)


def test_time_limit_leaves_time_for_sparsity():
    # Far more steps than 5 s allow: each phase gets its share of the time, so the
    # penalty and pruning still run and the formula is sparse, not the dense network.
    X = np.linspace(-3, 3, 120)[:, None]
    y = 3 * np.sin(X[:, 0]) - 0.5 * X[:, 0]
    result = fit_eql(X, y, unary=("identity", "sin", "exp"), n_products=1,
                     epochs=(10**6, 10**6, 10**5), n_restarts=2, random_state=0, time_limit=5.0)
    assert result.n_active < result.network.theta.shape[1] / 2
    assert result.seconds < 10.0


def test_l0_runs_and_prunes():
    X = np.linspace(-3, 3, 120)[:, None]
    y = 3 * np.sin(X[:, 0]) - 0.5 * X[:, 0]
    result = fit_eql(X, y, unary=("identity", "sin"), n_products=0, regularization="l0",
                     epochs=SHORT, n_restarts=4, random_state=1)
    n_weights = result.network.theta.shape[1]
    assert result.n_active < n_weights / 2
    truth = lambda A: 3 * np.sin(A[:, 0]) - 0.5 * A[:, 0]  # noqa: E731
    assert _relative_rmse(result.expression, truth, X) < 1e-2


@pytest.mark.parametrize("options", [
    dict(unary={"identity": 1, "sin": 1, "exp": 1, "log": 1}, n_products=1),
    dict(unary=("identity", "sqrt", "cos", "square"), n_products=1, division=True,
         regularization="l0"),
], ids=["log-exp-product", "division-sqrt-l0"])
def test_expression_equals_network_output(options):
    rng = np.random.default_rng(3)
    X = rng.uniform(0.5, 2.5, (80, 2))
    y = np.exp(0.3 * X[:, 0]) + X[:, 0] * X[:, 1] / (1 + X[:, 1] ** 2)
    result = fit_eql(X, y, epochs=TINY, n_restarts=2, random_state=0, prune_threshold=1e-3,
                     **options)
    network_output = result.network.predict(X)
    formula_output = _values(result.expression, X)
    scale = max(1.0, float(np.max(np.abs(network_output))))
    assert np.all(np.isfinite(formula_output))
    np.testing.assert_allclose(formula_output, network_output, rtol=1e-6, atol=1e-6 * scale)


def test_same_seed_same_formula():
    X = np.linspace(-2, 2, 60)[:, None]
    y = X[:, 0] ** 2 + np.cos(X[:, 0])
    first = fit_eql(X, y, epochs=TINY, n_restarts=2, random_state=7)
    second = fit_eql(X, y, epochs=TINY, n_restarts=2, random_state=7)
    assert str(first.expression) == str(second.expression)
    assert first.n_active == second.n_active


class FakeTeacher:
    """A teacher that knows the truth: f(x) = x0 * x1, hidden = fixed random features."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.low, self.high = np.array([-2.0, -2.0]), np.array([2.0, 2.0])
        self._first = rng.normal(size=(2, 6))
        self._second = rng.normal(size=(6, 4))
        self.calls = []

    def predict(self, X):
        self.calls.append("predict")
        return X[:, 0] * X[:, 1]

    def gradient(self, X):
        self.calls.append("gradient")
        return np.column_stack([X[:, 1], X[:, 0]])

    def hidden(self, X):
        self.calls.append("hidden")
        first = np.tanh(X @ self._first)
        return [first, np.tanh(first @ self._second)]

    def sample(self, n, rng):
        return rng.uniform(self.low, self.high, size=(n, 2))


def test_student_learns_from_a_teacher_alone():
    teacher = FakeTeacher()
    X = np.random.default_rng(2).uniform(-2, 2, (40, 2))
    result = fit_student(X, teacher=teacher, n_dense=300, gradient_weight=0.1, hint_weight=0.1,
                         unary=("identity",), n_products=1, epochs=SHORT, n_restarts=4,
                         random_state=0)
    assert {"predict", "gradient", "hidden"} <= set(teacher.calls)
    x0, x1 = sympy.symbols("x0 x1")
    fresh = np.random.default_rng(5).uniform(-2, 2, (300, 2))
    truth = lambda A: A[:, 0] * A[:, 1]  # noqa: E731
    assert _relative_rmse(result.expression, truth, fresh) < 1e-3
    assert result.expression.free_symbols == {x0, x1}


def test_student_without_teacher_is_plain_eql():
    X = np.linspace(-1, 1, 40)[:, None]
    y = 2 * X[:, 0]
    a = fit_student(X, y, epochs=TINY, n_restarts=2, random_state=3)
    b = fit_eql(X, y, epochs=TINY, n_restarts=2, random_state=3)
    assert str(a.expression) == str(b.expression)


def test_time_limit_cuts_the_schedule_short():
    X = np.linspace(-1, 1, 40)[:, None]
    start = time.perf_counter()
    try:
        result = fit_eql(X, X[:, 0] ** 2, epochs=(10**6, 10**6, 10**4), n_restarts=2,
                         time_limit=0.5, random_state=0)
    except StudentError:
        result = None
    assert time.perf_counter() - start < 8.0
    if result is not None:
        assert np.isfinite(result.validation_rmse) or result.validation_rmse == np.inf


def test_everything_pruned_raises_student_error():
    X = np.linspace(-1, 1, 40)[:, None]
    with pytest.raises(StudentError, match="reg_strength"):
        fit_eql(X, np.sin(X[:, 0]), reg_strength=1e3, epochs=TINY, n_restarts=2, random_state=0)


def test_result_pickles_without_the_network(sin_fit):
    _, result = sin_fit
    copy = pickle.loads(pickle.dumps(result))
    assert isinstance(copy, EQLResult) and copy.network is None
    assert copy.expression == result.expression


_X = np.linspace(-1, 1, 20)[:, None]
_Y = _X[:, 0]


@pytest.mark.parametrize("X, y, options, message", [
    (np.array([[np.nan], [1.0], [2.0]]), np.ones(3), {}, "NaN or inf in 1 row"),
    (_X, np.append(_Y[:-1], np.inf), {}, "y has NaN or inf"),
    (_X[:, 0], _Y, {}, "reshape"),
    (_X, _Y[:-1], {}, "shape"),
    (_X, _Y, {"unary": ("identity", "sine")}, "Did you mean 'sin'"),
    (_X, _Y, {"unary": ("neg",)}, "linear layers"),
    (_X, _Y, {"unary": "sin"}, "list of unit names"),
    (_X, _Y, {"unary": {"sin": 0}}, "count of 'sin'"),
    (_X, _Y, {"regularization": "l05x"}, "Did you mean 'l05'"),
    (_X, _Y, {"regularization": "l1"}, "Valid choices"),
    (_X, _Y, {"n_products": -1}, "n_products must be an integer >= 0"),
    (_X, _Y, {"n_layers": 0}, "n_layers"),
    (_X, _Y, {"unary": (), "n_products": 0}, "at least one unit"),
    (_X, _Y, {"epochs": 100}, "three step counts"),
    (_X, _Y, {"learning_rate": 0.0}, "learning_rate"),
    (_X, _Y, {"variable_names": ("a", "b")}, "variable_names"),
    (_X, _Y, {"time_limit": -1}, "time_limit"),
])
def test_bad_inputs_raise_value_errors(X, y, options, message):
    with pytest.raises(ValueError, match=message):
        fit_eql(X, y, **options)


def test_bad_student_calls_raise_value_errors():
    with pytest.raises(ValueError, match="lacks method"):
        fit_student(_X, teacher=object())
    with pytest.raises(ValueError, match="Did you mean 'epochs'"):
        fit_student(_X, _Y, epoch=(1, 1, 1))
    with pytest.raises(ValueError, match="y is required"):
        fit_student(_X)
    with pytest.raises(ValueError, match="need a teacher"):
        fit_student(_X, _Y, gradient_weight=1.0)


def test_units_for_reads_a_gp_operator_set():
    units = units_for(("sin", "square", "tan", "neg", "sqr", "cube_root(x) = x**(1/3)"),
                      ("+", "-", "*", "/"))
    assert units == Units(("identity", "sin", "square"), 2, True)
    assert units.options() == {"unary": ("identity", "sin", "square"), "n_products": 2,
                               "division": True}
    assert units_for((), ("+", "-")) == Units(("identity",), 0, False)
    assert units_for(("inv", "exp"), ("+",)).division
    with pytest.raises(ValueError, match="unknown operator"):
        units_for(("sinn",))


def test_formula_with_complex_infinity_evaluates_to_nan():
    # Extraction can fold log(0) or 1/0 into zoo; numpy's printer has no zoo, and the
    # KeyError it raised used to sink the whole student (guidance failed with 'ComplexInfinity').
    from hybridsr.neural.eql import _evaluate

    x = sympy.Symbol("x")
    assert np.isnan(_evaluate(sympy.zoo * x + 1, ["x"], np.ones((3, 1)))).all()
    np.testing.assert_array_equal(_evaluate(2 * x, ["x"], np.ones((3, 1))), [2.0, 2.0, 2.0])
