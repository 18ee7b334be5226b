"""The numba kernels against independent numpy and sympy evaluations."""

import math
import re

import numba
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from hybridsr.evaluate import Dataset, Evaluator, ProgramBatch, kernel_source, load_kernels, vecmath
from hybridsr.expr import Constant, Individual, compile_tree
from hybridsr.operators import OperatorSet

NUMPY = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
    "neg": np.negative, "square": np.square, "cube": lambda a: a * a * a, "sqrt": np.sqrt,
    "exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh,
    "abs": np.abs, "inv": lambda a: 1.0 / a, "special": lambda a, b: np.cos(a) * (a + b),
}


def reference(tree, X):
    """Evaluate node by node with numpy.

    Returns the values, whether every node stayed finite and the largest
    magnitude of any intermediate (beyond ~1e6, sin/cos/tan of it amplify
    1-ulp differences between libm and numpy into different answers).
    """
    stack, finite, largest = [], True, 0.0
    with np.errstate(all="ignore"):
        for node in reversed(tree):
            if type(node) is Constant:
                stack.append(np.full(X.shape[0], node.value))
            elif node.arity == 0:
                stack.append(X[:, int(node.name[1:])].copy())
            else:
                args = [stack.pop() for _ in range(node.arity)]
                value = NUMPY[node.name](*args)
                finite &= bool(np.all(np.isfinite(value)))
                if finite:
                    largest = max(largest, float(np.max(np.abs(value))))
                stack.append(value)
    return stack[0], finite, largest


def grow(language, size, rng):
    """A random prefix tree of about ``size`` nodes over every operator."""
    ops = language.operator_set
    if size <= 1:
        if rng.random() < 0.6:
            return [language.variable(int(rng.integers(language.n_features)))]
        return [Constant(float(np.round(rng.normal(0, 2), 3)))]
    if size == 2 or rng.random() < 0.35:
        op = ops.unary[rng.integers(len(ops.unary))]
        return [language.primitive(op.name)] + grow(language, size - 1, rng)
    op = ops.binary[rng.integers(len(ops.binary))]
    left = int(rng.integers(1, size - 1))
    return [language.primitive(op.name)] + grow(language, left, rng) + grow(language, size - 1 - left, rng)


@st.composite
def tree_and_data(draw, language):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    tree = Individual(grow(language, draw(st.integers(1, 25)), rng))
    n_rows = draw(st.integers(1, 40))
    X = rng.uniform(-4, 4, size=(n_rows, language.n_features))
    if draw(st.booleans()):
        X[0, 0] = 0.0  # zeros exercise 0/0, log(0), 1/0
    return tree, X


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_kernel_matches_numpy_node_by_node(data, full_language, full_evaluator):
    tree, X = data.draw(tree_and_data(full_language))
    note(f"tree: {tree}\nX: {X.tolist()}")
    expected, finite, largest = reference(tree, X)
    got = full_evaluator.predict(compile_tree(tree, full_language), Dataset.from_arrays(X))
    if not finite:
        assert np.all(np.isnan(got)), "a non-finite intermediate must make the candidate invalid"
    elif largest < 1e6:
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    else:
        assert np.all(np.isfinite(got))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_kernel_matches_lambdified_sympy_form(data, full_language, full_evaluator):
    tree, X = data.draw(tree_and_data(full_language))
    got = full_evaluator.predict(compile_tree(tree, full_language), Dataset.from_arrays(X))
    stack = []
    for node in reversed(tree):
        if type(node) is Constant:
            stack.append(sympy.Float(node.value))
        elif node.arity == 0:
            stack.append(sympy.Symbol(node.name, real=True))
        else:
            args = [stack.pop() for _ in range(node.arity)]
            stack.append(full_language.operator(node).to_sympy(*args))
    symbols = [sympy.Symbol(f"x{i}", real=True) for i in range(3)]
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(
            np.asarray(sympy.lambdify(symbols, stack[0], "numpy")(*X.T), dtype=complex), got.shape)
    # sympy reorders and cancels, so compare only where both sides are real and finite.
    both = np.isfinite(got) & np.isfinite(expected) & (np.abs(expected.imag) == 0)
    scale = np.maximum(1.0, np.abs(got[both]))
    assert np.all(np.abs(got[both] - expected.real[both]) <= 1e-6 * scale)


def test_domain_errors_make_the_candidate_invalid(full_language, full_evaluator):
    P, x = full_language.primitive, full_language.variable(0)
    data = Dataset.from_arrays(np.array([[-1.0, 0, 0], [2.0, 0, 0]]), np.zeros(2))
    for tree in ([P("log"), x], [P("sqrt"), x], [P("/"), x, Constant(0.0)],
                 [P("inv"), P("inv"), P("-"), x, x],  # 1/(1/0) is finite but went through inf
                 [P("exp"), P("exp"), P("exp"), P("abs"), P("*"), Constant(100.0), x]):
        program = compile_tree(Individual(tree), full_language)
        assert np.isnan(full_evaluator.predict(program, data)).all()
        assert full_evaluator.loss(program, data) == np.inf


def test_constant_only_program_broadcasts(full_language, full_evaluator):
    P = full_language.primitive
    program = compile_tree(Individual([P("+"), Constant(1.5), P("sin"), Constant(0.0)]), full_language)
    got = full_evaluator.predict(program, Dataset.from_arrays(np.zeros((4, 3))))
    np.testing.assert_array_equal(got, np.full(4, 1.5))


@pytest.mark.parametrize("loss", ["mse", "mae", "huber"])
@pytest.mark.parametrize("weighted", [False, True])
def test_losses_match_numpy(full_set, full_language, rng, loss, weighted):
    evaluator = Evaluator(full_set, loss=loss, huber_delta=0.7)
    P, x = full_language.primitive, full_language.variable
    tree = Individual([P("*"), Constant(1.3), P("sin"), P("+"), x(0), x(1)])
    X = rng.uniform(-2, 2, (50, 3))
    y = rng.normal(size=50)
    w = rng.uniform(0.1, 2, 50) if weighted else None
    r = 1.3 * np.sin(X[:, 0] + X[:, 1]) - y
    per_row = {"mse": r**2, "mae": np.abs(r),
               "huber": np.where(np.abs(r) <= 0.7, 0.5 * r**2, 0.7 * (np.abs(r) - 0.35))}[loss]
    expected = np.average(per_row, weights=w)
    data = Dataset.from_arrays(X, y, w)
    assert evaluator.loss(compile_tree(tree, full_language), data) == pytest.approx(expected, rel=1e-12)


def test_batches_agree_with_single_calls(full_language, full_evaluator, rng):
    trees = [Individual(grow(full_language, int(s), rng)) for s in rng.integers(1, 30, 60)]
    programs = [compile_tree(t, full_language) for t in trees]
    X = rng.uniform(-3, 3, (30, 3))
    data = Dataset.from_arrays(X, rng.normal(size=30))
    single = np.array([full_evaluator.loss(p, data) for p in programs])
    np.testing.assert_array_equal(full_evaluator.losses(ProgramBatch(programs), data), single)
    many = full_evaluator.predict_many(programs, data)
    for row, p in zip(many, programs):
        np.testing.assert_array_equal(row, full_evaluator.predict(p, data))


def test_jacobian_matches_finite_differences(full_language, full_evaluator, rng):
    P, x = full_language.primitive, full_language.variable
    # c0 * sin(c1 * x0) + special(x1, c2) / (c3 + x2^c4)
    tree = Individual([P("+"), P("*"), Constant(1.7), P("sin"), P("*"), Constant(0.8), x(0),
                       P("/"), P("special"), x(1), Constant(0.3),
                       P("+"), Constant(2.0), P("^"), x(2), Constant(1.5)])
    X = rng.uniform(0.5, 2, (40, 3))
    data = Dataset.from_arrays(X)
    program = compile_tree(tree, full_language)
    pred, jac, ok = full_evaluator.jacobian(program, data)
    assert ok and jac.shape == (40, 5)
    np.testing.assert_allclose(pred, full_evaluator.predict(program, data), rtol=1e-12)
    c = program.constants
    for j in range(len(c)):
        h = 1e-6 * max(1.0, abs(c[j]))
        up, down = c.copy(), c.copy()
        up[j] += h
        down[j] -= h
        fd = (full_evaluator.predict(program, data, up) - full_evaluator.predict(program, data, down)) / (2 * h)
        np.testing.assert_allclose(jac[:, j], fd, rtol=1e-5, atol=1e-7)


def test_jacobian_skips_partials_of_constant_free_subtrees(full_language, full_evaluator):
    # d(x0^x1)/d(x1) needs log(x0), NaN for x0 < 0; x1 holds no constant, so it is never asked for.
    P, x = full_language.primitive, full_language.variable
    tree = Individual([P("*"), Constant(2.0), P("^"), x(0), x(1)])
    data = Dataset.from_arrays(np.array([[-2.0, 3.0, 0], [3.0, 2.0, 0]]))
    pred, jac, ok = full_evaluator.jacobian(compile_tree(tree, full_language), data)
    assert ok
    np.testing.assert_allclose(pred, [-16.0, 18.0])
    np.testing.assert_allclose(jac[:, 0], [-8.0, 9.0])


def test_jacobian_reports_non_finite_derivatives(full_language, full_evaluator):
    P, x = full_language.primitive, full_language.variable
    tree = Individual([P("^"), x(0), Constant(2.0)])  # d/dc x^c = x^c log(x): NaN at x < 0
    data = Dataset.from_arrays(np.array([[-2.0, 0, 0], [3.0, 0, 0]]))
    pred, jac, ok = full_evaluator.jacobian(compile_tree(tree, full_language), data)
    assert not ok
    assert np.isnan(pred).all() and np.isnan(jac).all()  # the documented result when not ok


@pytest.mark.parametrize("X, y, w, message", [
    (np.array([[np.nan]]), np.zeros(1), None, "X contains NaN"),
    (np.ones((3, 1)), np.array([1.0, np.inf, 0]), None, "y contains NaN"),
    (np.ones((3, 1)), np.zeros(2), None, "3 rows but y has 2"),
    (np.ones((0, 1)), np.zeros(0), None, "empty"),
    (np.ones((3, 1, 1)), np.zeros(3), None, "2-D"),
    (np.ones((3, 1)), np.zeros(3), np.array([1.0, -1, 1]), "non-negative"),
])
def test_dataset_rejects_bad_input(X, y, w, message):
    with pytest.raises(ValueError) as info:
        Dataset.from_arrays(X, y, w)
    assert message in str(info.value)


def test_unknown_loss_is_rejected(full_set):
    with pytest.raises(ValueError, match="unknown loss 'l2'"):
        Evaluator(full_set, loss="l2")


# -- the loop variants ---------------------------------------------------------------
# Each operator has loops that read columns of X, that overwrite their argument's row
# in place, and that take a scalar operand; the built-in exp, log, sin, cos, tan and
# tanh call vecmath (within 1-3 ulp of libm, see its docstring). The row counts are
# not multiples of a vector width, so the loops' scalar remainders run too.

VECMATH_RTOL = 1e-12  # several times vecmath's 3-ulp bound (7e-16), far below any modelling use

DERIVATIVES = {
    "neg": lambda a: -np.ones_like(a), "square": lambda a: 2 * a, "cube": lambda a: 3 * a * a,
    "sqrt": lambda a: 0.5 / np.sqrt(a), "exp": np.exp, "log": lambda a: 1 / a, "sin": np.cos,
    "cos": lambda a: -np.sin(a), "tan": lambda a: 1 / np.cos(a) ** 2, "tanh": lambda a: 1 - np.tanh(a) ** 2,
    "abs": np.sign, "inv": lambda a: -1 / (a * a),
}


def columns_data(rng, n_rows=1003, low=-3.0, high=3.0):
    X = rng.uniform(low, high, (n_rows, 3))
    return X, Dataset.from_arrays(X)


def predict(evaluator, language, tree, data):
    return evaluator.predict(compile_tree(Individual(tree), language), data)


@pytest.mark.parametrize("low", [-3.0, 0.1])  # with and without domain errors
def test_each_operator_on_columns_and_scalars_matches_numpy(full_set, full_language, full_evaluator, low):
    P, x = full_language.primitive, full_language.variable
    X, data = columns_data(np.random.default_rng(21), low=low)
    shapes = {1: [lambda p: [p, x(0)]],
              2: [lambda p: [p, x(0), x(1)], lambda p: [p, x(0), Constant(0.7)],
                  lambda p: [p, Constant(-1.3), x(1)]]}
    for op in full_set.operators:
        for shape in shapes[op.arity]:
            tree = shape(full_language.primitive(op.name))
            expected, finite, _ = reference(tree, X)
            got = predict(full_evaluator, full_language, tree, data)
            if finite:
                np.testing.assert_allclose(got, expected, rtol=VECMATH_RTOL, atol=0, err_msg=str(tree))
            else:
                assert np.isnan(got).all(), tree


def test_in_place_loops_agree_exactly_with_loops_reading_columns(full_set, full_language, full_evaluator):
    """op(subtree) overwriting the subtree's row equals op applied to a column holding it."""
    P, x = full_language.primitive, full_language.variable
    rng = np.random.default_rng(22)
    X, data = columns_data(rng, low=0.2, high=1.4)  # keeps every unary operator finite
    inner = [P("*"), x(1), x(2)]
    column = predict(full_evaluator, full_language, inner, data)
    X_col = X.copy()
    X_col[:, 1] = column  # the inner subtree's values as input x1
    data_col = Dataset.from_arrays(X_col)
    for op in full_set.operators:
        p = full_language.primitive(op.name)
        if op.arity == 1:
            pairs = [([p, *inner], [p, x(1)])]
        else:
            pairs = [([p, x(0), *inner], [p, x(0), x(1)]),  # second argument in place
                     ([p, Constant(0.6), *inner], [p, Constant(0.6), x(1)]),
                     ([p, *inner, x(0)], [p, x(1), x(0)]),  # first argument a row, result elsewhere
                     ([p, *inner, Constant(1.1)], [p, x(1), Constant(1.1)])]
        for in_place, reading in pairs:
            got = predict(full_evaluator, full_language, in_place, data)
            want = predict(full_evaluator, full_language, reading, data_col)
            assert np.isfinite(want).all(), reading
            np.testing.assert_array_equal(got, want, err_msg=str(in_place))


def test_a_program_evaluated_in_place_throughout_matches_numpy(full_language, full_evaluator):
    P, x, C = full_language.primitive, full_language.variable, Constant
    # After x0 * x1 every node overwrites its argument's row: tanh(log(sqrt(abs(
    # 2.5 / x2^cube(exp(0.3 - sin(x2 + cos(inv(square(tan(-special(x1, x0 * x1)))))))))))).
    tree = [P("tanh"), P("log"), P("sqrt"), P("abs"), P("/"), C(2.5), P("^"), x(2), P("cube"),
            P("exp"), P("-"), C(0.3), P("sin"), P("+"), x(2), P("cos"), P("inv"), P("square"),
            P("tan"), P("neg"), P("special"), x(1), P("*"), x(0), x(1)]
    X, data = columns_data(np.random.default_rng(23), low=0.3, high=1.2)
    expected, finite, _ = reference(tree, X)
    assert finite
    got = predict(full_evaluator, full_language, tree, data)
    np.testing.assert_allclose(got, expected, rtol=VECMATH_RTOL)
    program = compile_tree(Individual(tree), full_language)
    np.testing.assert_array_equal(full_evaluator.losses([program], Dataset.from_arrays(X, got)), [0.0])


@pytest.mark.parametrize("name", sorted(DERIVATIVES))
def test_jacobian_of_each_unary_operator_matches_its_derivative(full_language, full_evaluator, name):
    # u(c0 * x0 + c1): d/dc0 = u'(z) x0, d/dc1 = u'(z)
    P, x = full_language.primitive, full_language.variable
    tree = Individual([P(name), P("+"), P("*"), Constant(0.8), x(0), Constant(0.4)])
    X, data = columns_data(np.random.default_rng(24), low=0.1, high=1.5)
    program = compile_tree(tree, full_language)
    pred, jac, ok = full_evaluator.jacobian(program, data)
    assert ok
    z = 0.8 * X[:, 0] + 0.4
    np.testing.assert_allclose(pred, NUMPY[name](z), rtol=VECMATH_RTOL)
    d = DERIVATIVES[name](z)
    by_value = dict(zip(program.constants, jac.T))
    np.testing.assert_allclose(by_value[0.8], d * X[:, 0], rtol=VECMATH_RTOL)
    np.testing.assert_allclose(by_value[0.4], d, rtol=VECMATH_RTOL)


@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
def test_huge_trigonometric_arguments_fall_back_to_libm(full_language, full_evaluator, name):
    """vecmath reduces |x| <= 1.6e6 only; beyond, the whole column goes through libm."""
    P, x = full_language.primitive, full_language.variable
    X, data = columns_data(np.random.default_rng(25), low=-2.0, high=2.0)
    X[::50, 0] *= 1e9
    data = Dataset.from_arrays(X)
    # libm itself, element by element: numpy's own sin/cos/tan may be SIMD code that differs
    # from libm in the last bit (numpy 2.4's tan does on some rows).
    f, d = np.vectorize(getattr(math, name), otypes=[float]), DERIVATIVES[name]
    scaled = [P(name), P("*"), x(0), Constant(3.0)]  # the product's row is overwritten in place
    with np.errstate(all="ignore"):
        got = predict(full_evaluator, full_language, [P(name), x(0)], data)
        np.testing.assert_array_equal(got, f(X[:, 0]))
        np.testing.assert_array_equal(predict(full_evaluator, full_language, scaled, data), f(3.0 * X[:, 0]))
        pred, jac, ok = full_evaluator.jacobian(compile_tree(Individual(scaled), full_language), data)
    assert ok
    np.testing.assert_allclose(jac[:, 0], d(3.0 * X[:, 0]) * X[:, 0], rtol=VECMATH_RTOL)


def test_kernels_use_vecmath_for_built_in_operators_only(full_set):
    source = kernel_source(full_set)
    assert vecmath.source_digest() in source  # a change to vecmath renames the module
    for name in ("exp", "log", "sin", "cos", "tan", "tanh"):
        assert f"v{name}(a)" in source
    assert "math.cos(a)" in source and "(a + b)*math.cos(a)" in source  # the custom operator, as defined
    for name in ("sin", "cos", "tan"):  # only inside loops guarded by in_trig_range
        assert source.count(f"v{name}(a)") <= source.count("in_trig_range(")


def test_in_place_loops_are_vectorised_without_alias_checks(tmp_path, monkeypatch):
    """The in-place loops store whole vectors and call neither libm's exp nor log.

    A loop writing dst[i] = f(src[i]) gets a run-time overlap check that sends
    dst is src to its scalar version; the one-array in-place loop has none.
    Masked stores (which LLVM makes of storing x back over itself, and which
    cost AMD CPUs more than the polynomials) must not appear either.
    """
    monkeypatch.setenv("HYBRIDSR_CACHE_DIR", str(tmp_path))  # compile afresh: the IR is kept
    kernels = load_kernels(OperatorSet.from_spec(("+",), ("exp", "log", "sin")))
    column, i32, i64 = numba.types.float64[::1], numba.types.int32, numba.types.int64
    code = {}
    for function, signature in ((kernels._unary_inplace, (i32, column, i64)),
                                (kernels._binary_aa_inplace, (i32, column, column, i64)),
                                (kernels._binary_sa_inplace, (i32, numba.types.float64, column, i64))):
        function.compile(signature)
        ir, asm = function.inspect_llvm(signature), function.inspect_asm(signature)
        assert re.search(r"store <\d+ x double>", ir), f"{function.__name__} is not vectorised"
        assert "vmaskmov" not in asm, f"{function.__name__} uses masked stores"
        code[function.__name__] = ir
    assert not re.search(r"diff\.check|memcheck|conflict", code["_unary_inplace"])
    assert not re.search(r"@(llvm\.)?(exp|log)\b", code["_unary_inplace"]), "libm is still called"


def test_compile_kernels_leaves_every_kernel_compiled():
    # A fresh process, so that no earlier test has called the kernels; the operator set is
    # the one most tests use, so the disk cache makes this quick.
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        from hybridsr.evaluate import Evaluator
        from hybridsr.operators import OperatorSet
        evaluator = Evaluator(OperatorSet.from_spec(["+", "-", "*", "/"], ["sin", "cos"]))
        names = ["predict", "predict_many", "loss", "loss_many", "jacobian", "least_squares"]
        kernels = [getattr(evaluator._kernels, name) for name in names]
        assert not any(k.signatures for k in kernels), "called before the test"
        evaluator.compile_kernels(3)
        print([name for name, k in zip(names, kernels) if not k.signatures])
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
