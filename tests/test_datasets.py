"""hybridsr.datasets: problem definitions, sampling, suites and user suites."""

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import sympy

from hybridsr.datasets import (DISTRIBUTIONS, SUITES, Problem, Variable, get_problem, get_suite,
                               load_suite)
from hybridsr.operators import OperatorSet

ALL_PROBLEMS = [p for s in SUITES for p in get_suite(s)]


def test_suite_counts():
    assert SUITES == ("empirical", "feynman", "nguyen", "seed")
    counts = {s: len(get_suite(s)) for s in SUITES}
    assert counts == {"empirical": 9, "feynman": 120, "nguyen": 12, "seed": 1}
    feynman = get_suite("feynman")
    assert sum(p.name.startswith("feynman_test_") for p in feynman) == 20
    assert [p.title for p in get_suite("empirical")] == [
        "Hubble", "Kepler", "Newton", "Planck", "Leavitt", "Schechter", "Bode", "Ideal Gas",
        "Rydberg"]
    names = [p.name for p in ALL_PROBLEMS]
    assert len(set(names)) == len(names)
    assert all(p.suite == s for s in SUITES for p in get_suite(s))


@pytest.mark.parametrize("problem", ALL_PROBLEMS, ids=lambda p: p.name)
def test_sampling_is_deterministic_finite_and_in_range(problem):
    X, y = problem.sample(40, seed=7, noise=0.0)
    X2, y2 = problem.sample(40, seed=np.random.default_rng(7), noise=0.0)
    assert isinstance(X, pd.DataFrame) and list(X.columns) == list(problem.variable_names)
    assert X.shape == (40, len(problem.variables)) and y.shape == (40,)
    pd.testing.assert_frame_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert np.isfinite(X.to_numpy()).all() and np.isfinite(y).all()
    for v in problem.variables:
        assert X[v.name].between(v.low, v.high).all(), v.name
    assert not X.equals(problem.sample(40, seed=8, noise=0.0)[0])
    # evaluate() agrees with the sympy form, lambdified independently.
    expr = problem.sympy()
    assert expr.free_symbols <= {sympy.Symbol(n) for n in problem.variable_names}
    reference = sympy.lambdify([sympy.Symbol(n) for n in problem.variable_names], expr, "numpy")
    expected = np.broadcast_to(reference(*(X[c].to_numpy() for c in X.columns)), (40,))
    np.testing.assert_allclose(problem.evaluate(X), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(problem.evaluate(X.to_numpy()), y)


def test_default_size_and_noise_are_used():
    hubble = get_problem("hubble")
    X, y = hubble.sample(seed=0)
    assert len(y) == hubble.n_samples == 30
    X0, y0 = hubble.sample(seed=0, noise=0)
    pd.testing.assert_frame_equal(X, X0)            # inputs drawn before the noise
    assert not np.array_equal(y, y0) and hubble.noise == 0.25
    assert get_problem("nguyen_1").sample(seed=0)[0].shape == (20, 1)


@pytest.mark.parametrize("name", ["seed", "hubble", "feynman_I_12_1"])
@pytest.mark.parametrize("level", [0.01, 0.1])
def test_noise_is_a_fraction_of_std_y(name, level):
    problem = get_problem(name)
    X, clean = problem.sample(20_000, seed=3, noise=0)
    Xn, noisy = problem.sample(20_000, seed=3, noise=level)
    pd.testing.assert_frame_equal(X, Xn)
    np.testing.assert_array_equal(clean, problem.evaluate(X))
    ratio = np.std(noisy - clean) / (level * np.std(clean))
    assert abs(ratio - 1) < 0.03
    assert abs(np.mean(noisy - clean)) < 0.05 * level * np.std(clean)


def test_evaluate_matches_hand_written_numpy():
    X, y = get_problem("newton").sample(50, seed=0, noise=0)
    np.testing.assert_allclose(y, np.log(6.67408e-11 * X.m1 * X.m2 / X.r ** 2), rtol=1e-12)
    X, y = get_problem("nguyen_12").sample(seed=0)
    np.testing.assert_allclose(y, X.x1 ** 4 - X.x1 ** 3 + X.x2 ** 2 / 2 - X.x2, rtol=1e-12)
    X, y = get_problem("feynman_I_6_2a").sample(50, seed=0)
    np.testing.assert_allclose(y, np.exp(-X.theta ** 2 / 2) / np.sqrt(2 * np.pi), rtol=1e-12)
    X, y = get_problem("leavitt").sample(50, seed=0, noise=0)
    np.testing.assert_allclose(y, -2.084 * np.log10(X.P) + 15.65, rtol=1e-12)


def test_problems_pickle_and_sample_alike():
    for name in ("rydberg", "bode", "feynman_test_10"):
        problem = get_problem(name)
        clone = pickle.loads(pickle.dumps(problem))
        assert clone == problem and hash(clone) == hash(problem)
        np.testing.assert_array_equal(clone.sample(10, seed=1)[1], problem.sample(10, seed=1)[1])


def test_suggested_operators_are_valid():
    for ops in {(p.binary_operators, p.unary_operators) for p in ALL_PROBLEMS}:
        OperatorSet.from_spec(*ops)
    assert get_problem("nguyen_8").unary_operators == ("sin", "cos", "exp", "log")
    assert get_problem("feynman_I_26_2").unary_operators == ("arcsin(x) = asin(x)", "sin")
    assert get_problem("planck").unary_operators == ("square", "cube", "exp", "log", "sqrt")


def test_empirical_details():
    rydberg = get_problem("rydberg")
    X, _ = rydberg.sample(500, seed=0)
    assert (X.n2 > X.n1).all() and set(X.n1) == {1, 2, 3, 4, 5, 6} and X.n2.max() == 7
    bode = get_problem("bode")
    X, y = bode.sample(seed=0, noise=0)
    assert sorted(X.n) == [-1000, 0, 1, 2, 3, 4, 5, 6]
    np.testing.assert_allclose(np.exp(y), 0.4 + 0.3 * 2.0 ** X.n)
    planck = get_problem("planck")
    assert planck.sympy(substitute_constants=False).free_symbols == set(
        sympy.symbols("h nu c k_B T"))
    X, y = planck.sample(2000, seed=0)
    assert np.isfinite(y).all() and X.nu.max() > 1e15
    hubble = get_problem("hubble")
    assert hubble.sympy() == sympy.Float(73.3) * sympy.Symbol("D")
    assert hubble.variables[0].units == "distance, Mpc" and hubble.constants == {"H0": 73.3}
    for problem in get_suite("empirical"):
        assert problem.description and problem.target_units and problem.source


def test_feynman_matches_published_table():
    gravitation = get_problem("I.9.18")
    assert gravitation.name == "feynman_I_9_18" and len(gravitation.variables) == 9
    assert gravitation.ranges["x1"] == (3.0, 4.0) and gravitation.ranges["G"] == (1.0, 2.0)
    assert get_problem("feynman_I_18_12").variable_names == ("r", "F", "theta")
    aberration = get_problem("test_10")
    assert aberration.ranges == {"c": (4.0, 6.0), "v": (1.0, 3.0), "theta2": (1.0, 3.0)}
    assert aberration.formula == "acos((cos(theta2)-v/c)/(1-v/c*cos(theta2)))"
    assert get_problem("feynman_II_11_17").formula == "n_0*(1+p_d*Ef*cos(theta)/(kb*T))"
    # Names that are sympy functions or constants are plain symbols here.
    expr = get_problem("feynman_I_39_11").sympy()
    assert expr.free_symbols == set(sympy.symbols("gamma pr V"))
    assert get_problem("feynman_I_12_1").n_samples == 10_000


def test_lookup_errors_suggest_names():
    with pytest.raises(ValueError, match="Did you mean .empirical'.*Valid suites: empirical, "
                                         "feynman, nguyen, seed"):
        get_suite("empiricl")
    with pytest.raises(ValueError, match="'hubble'"):
        get_problem("hubbel")
    with pytest.raises(ValueError, match="suite 'nguyen'"):
        get_problem("hubble", suite="nguyen")
    assert get_problem("Nguyen-7").name == "nguyen_7"
    assert get_problem("ideal gas").name == "ideal_gas"


def test_problem_validation_errors():
    x = Variable("x", 0, 1)
    with pytest.raises(ValueError, match="unknown name.*'tehta'.*Did you mean 'theta'"):
        Problem(name="p", suite="s", formula="tehta + 1", variables=(Variable("theta", 0, 1),))
    with pytest.raises(ValueError, match="Did you mean 'log-uniform'"):
        Variable("x", 1, 2, "loguniform")
    with pytest.raises(ValueError, match="low > 0"):
        Variable("x", 0, 2, "log-uniform")
    with pytest.raises(ValueError, match="not a Python identifier"):
        Variable("x 1", 0, 1)
    with pytest.raises(ValueError, match="unknown operator 'sine'"):
        Problem(name="p", suite="s", formula="x", variables=(x,), unary_operators=("sine",))
    with pytest.raises(ValueError, match="noise"):
        Problem(name="p", suite="s", formula="x", variables=(x,), noise=-1)
    problem = Problem(name="p", suite="s", formula="sqrt(x - 2)", variables=(x,))
    with pytest.raises(RuntimeError, match="not finite"):
        problem.sample(5, seed=0)
    good = get_problem("seed")
    with pytest.raises(ValueError, match="positive integer"):
        good.sample(0)
    with pytest.raises(ValueError, match="noise"):
        good.sample(5, noise=-0.1)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['x'\]"):
        good.evaluate(pd.DataFrame({"t": [1.0]}))
    assert "data" in DISTRIBUTIONS


def _write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def test_user_suite_from_csv_directory(tmp_path):
    x = np.linspace(-3, 3, 25)
    pd.DataFrame({"y": 3 * np.sin(x) - 0.5 * x, "x": x}).to_csv(tmp_path / "wave.csv", index=False)
    _write(tmp_path / "wave.json", '{"formula": "3*sin(x) - 0.5*x", "title": "Wave"}')
    a, b = np.meshgrid(np.arange(1.0, 4.0), np.arange(1.0, 5.0))
    pd.DataFrame({"a": a.ravel(), "b": b.ravel(), "out": (a * b).ravel()}).to_csv(
        tmp_path / "product.csv", index=False)
    problems = load_suite(tmp_path)
    assert [p.name for p in problems] == ["product", "wave"]
    product, wave = problems
    assert product.suite == wave.suite == tmp_path.name
    assert product.target == "out" and product.variable_names == ("a", "b")
    assert product.formula is None and product.unary_operators
    X, y = product.sample()
    assert X.shape == (12, 2) and np.array_equal(y, X.a * X.b)
    X5, y5 = product.sample(5, seed=0)
    assert X5.shape == (5, 2) and X5.equals(product.sample(5, seed=0)[0])
    with pytest.raises(ValueError, match="has no known formula"):
        product.evaluate(X)
    assert wave.title == "Wave" and wave.unary_operators == ("sin",)
    X, y = wave.sample()
    np.testing.assert_allclose(wave.evaluate(X), y)
    assert wave.ranges["x"] == (-3.0, 3.0)
    assert [p.name for p in get_suite(tmp_path)] == ["product", "wave"]
    assert [p.name for p in load_suite(tmp_path / "wave.csv")] == ["wave"]
    with pytest.raises(ValueError, match="holds 25 rows"):
        wave.sample(26)


def test_user_suite_errors(tmp_path):
    with pytest.raises(ValueError, match="no .csv files"):
        load_suite(tmp_path)
    pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, 2.0]}).to_csv(tmp_path / "p.csv", index=False)
    _write(tmp_path / "p.json", '{"fromula": "x"}')
    with pytest.raises(ValueError, match="unknown key 'fromula'. Did you mean 'formula'"):
        load_suite(tmp_path)
    _write(tmp_path / "p.json", '{"formula": "x + w"}')
    with pytest.raises(ValueError, match="p.csv.*unknown name"):
        load_suite(tmp_path)
    (tmp_path / "p.json").unlink()
    pd.DataFrame({"x": ["a", "b"], "y": [1.0, 2.0]}).to_csv(tmp_path / "p.csv", index=False)
    with pytest.raises(ValueError, match="not numeric"):
        load_suite(tmp_path)
    with pytest.raises(ValueError, match="no suite at"):
        load_suite(tmp_path / "missing")
    with pytest.raises(ValueError, match="defines no PROBLEMS"):
        load_suite(_write(tmp_path / "empty.py", "X = 1\n"))


def test_user_suite_from_python_file(tmp_path):
    path = _write(tmp_path / "my_suite.py", """
        from hybridsr.datasets import Problem, Variable

        PROBLEMS = [
            Problem(name="cubic", suite="mine", formula="a*x**3",
                    variables=(Variable("x", -2, 2),), constants={"a": 0.5}, n_samples=64,
                    unary_operators=("cube",)),
        ]
    """)
    (cubic,) = load_suite(path)
    X, y = cubic.sample(seed=0)
    assert X.shape == (64, 1)
    np.testing.assert_allclose(y, 0.5 * X.x ** 3)
    assert cubic.sympy() == sympy.Float(0.5) * sympy.Symbol("x") ** 3
    assert get_suite(path)[0].name == "cubic"
    _write(tmp_path / "twice.py", """
        from hybridsr.datasets import get_problem
        PROBLEMS = [get_problem("seed"), get_problem("seed")]
    """)
    with pytest.raises(ValueError, match="names repeat"):
        load_suite(tmp_path / "twice.py")


def test_importing_datasets_does_not_import_torch():
    code = "import sys, hybridsr.datasets; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
