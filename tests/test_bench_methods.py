"""hybridsr.bench.methods: formula converters, operator mapping, smoke fits of each method."""

import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import sympy

from hybridsr.bench import methods
from hybridsr.bench.methods import (METHOD_NAMES, FitOutput, available_methods, fit_method,
                                    gplearn_to_sympy_string, operon_to_sympy_string,
                                    parse_formula)
from hybridsr.datasets import Problem, Variable, get_suite

# A problem every method can write exactly with + - * (and the default operators
# that other tests compile kernels for, so hybridsr's smoke fit reuses them).
TINY = Problem(name="tiny", suite="test", formula="2.5*x*y + x",
               variables=(Variable("x", 1.0, 3.0), Variable("y", 1.0, 3.0)), n_samples=60)


def same(text: str, expected: str, names) -> bool:
    """Equal as functions: same variables, same values at random points in [0.2, 2]."""
    got, want = parse_formula(text, names), parse_formula(expected, names)
    if got.free_symbols != want.free_symbols:
        return False
    symbols = [sympy.Symbol(n) for n in names]
    points = np.random.default_rng(0).uniform(0.2, 2.0, size=(len(names), 20))
    values = [np.broadcast_to(sympy.lambdify(symbols, e)(*points), 20) for e in (got, want)]
    return bool(np.allclose(*values, rtol=1e-12, atol=1e-12))


# ------------------------------------------------------------------ gplearn text
@pytest.mark.parametrize("program, expected", [
    ("add(mul(X0, X1), 0.5)", "a*b + 0.5"),
    ("sub(X1, div(X0, -2.0))", "b + a/2"),
    ("mul(neg(X0), inv(X1))", "-a/b"),
    ("add(sqrt(X0), log(abs(X1)))", "sqrt(a) + log(Abs(b))"),
    ("max(sin(X0), min(cos(X1), tan(X0)))", "Max(sin(a), Min(cos(b), tan(a)))"),
    ("exp(tanh(X1))", "exp(tanh(b))"),
    ("mul(1e-3, X0)", "0.001*a"),
])
def test_gplearn_to_sympy(program, expected):
    assert same(gplearn_to_sympy_string(program, ["a", "b"]), expected, ["a", "b"])


def test_gplearn_protected_functions_of_constants_follow_gplearn():
    # sqrt(|c|), log|c|, 0 for log/inv near 0, and 1 for a division by (near) 0
    text = gplearn_to_sympy_string("add(sqrt(-4.0), mul(X0, div(1.0, 0.0005)))", ["a"])
    assert same(text, "2 + a", ["a"])
    assert same(gplearn_to_sympy_string("div(X0, sub(X0, X0))", ["a"]), "1", ["a"])
    assert same(gplearn_to_sympy_string("add(log(-1.0), inv(0.0))", ["a"]), "0", ["a"])
    assert "I" not in gplearn_to_sympy_string("sqrt(-0.974)", ["a"])


def test_gplearn_names_that_sympy_reads_otherwise_stay_variables():
    names = ["I", "gamma"]
    text = gplearn_to_sympy_string("mul(X0, X1)", names)
    assert parse_formula(text, names) == sympy.Symbol("I") * sympy.Symbol("gamma")
    assert same(text, "I*gamma", names)


@pytest.mark.parametrize("bad", ["add(X0)", "add(X0, X1, X0)", "foo(X0)", "X2", "X0 X1",
                                 "mul(X0, X1", "add(X0; X1)", ""])
def test_gplearn_rejects_malformed_programs(bad):
    with pytest.raises(ValueError, match="gplearn program"):
        gplearn_to_sympy_string(bad, ["a", "b"])


def test_program_text_keeps_constants_in_full():
    add, mul = SimpleNamespace(name="add", arity=2), SimpleNamespace(name="mul", arity=2)
    sqrt = SimpleNamespace(name="sqrt", arity=1)
    program = SimpleNamespace(program=[add, mul, 0, 0.123456789, sqrt, 1])
    text = methods._program_text(program)
    assert text == "add(mul(X0, 0.123456789), sqrt(X1))"
    assert same(gplearn_to_sympy_string(text, ["a", "b"]), "0.123456789*a + sqrt(b)", ["a", "b"])


# ------------------------------------------------------------------ Operon text
@pytest.mark.parametrize("model, expected", [
    ("((-50.475178) + ((-67.442268) * log((0.930923 * X2))))",
     "-50.475178 - 67.442268*log(0.930923*b)"),
    ("((2.000000 * X1) ^ 2)", "4*a**2"),
    ("(1 / (1.000000 * X1))", "1/a"),
    ("(-(1.000000 * X2))", "-b"),
    ("((1.000000 * X1) / (sqrt(1 + (1.000000 * X2) ^ 2)))", "a/sqrt(1 + b**2)"),
    ("min((1.000000 * X1), max((2.000000 * X2), 0.500000))", "Min(a, Max(2*b, 0.5))"),
    ("sqrt(abs((1.000000 * X1))) + log((1.000000 * X2)+1)", "sqrt(Abs(a)) + log(b + 1)"),
    ("(3.000000 * exp(((-1.000000) * X1)))", "3*exp(-a)"),
    ("asin((0.500000 * X1)) + cbrt((1.000000 * X2))", "asin(a/2) + b**(1/3)"),
])
def test_operon_to_sympy(model, expected):
    assert same(operon_to_sympy_string(model, ["a", "b"]), expected, ["a", "b"])


def test_operon_names_map_by_position_even_when_they_look_like_operon_names():
    names = ["X2", "I"]  # the problem's X2 is Operon's X1
    text = operon_to_sympy_string("((2.000000 * X1) + (1.000000 * X2))", names)
    assert same(text, "2*X2 + I", names)
    assert parse_formula(text, names).free_symbols == {sympy.Symbol("X2"), sympy.Symbol("I")}


def test_operon_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown name"):
        operon_to_sympy_string("((1.000000 * X1) + (1.000000 * X3))", ["a", "b"])


def test_short_numbers_restores_float32_coefficients():
    assert methods._short_numbers("(10218.83886718750000000000 * X1)") == "(10218.839 * X1)"
    assert methods._short_numbers("0.10000000149011611938") == "0.1"
    tiny = format(float(np.float32(6.67e-11)), ".50f")  # as Operon prints it
    assert methods._short_numbers(f"({tiny}) + 2.50000000000000000000") == "(6.67e-11) + 2.5"
    assert methods._short_numbers("0.1000000000000000055511151231257827") == "0.1"


# ------------------------------------------------------------------ operators
def test_operators_map_to_each_peer_and_report_what_is_missing():
    problem = next(p for p in get_suite("feynman") if any("asin" in u for u in p.unary_operators))
    symbols, dropped = methods._map_operators(problem, methods.OPERON_SYMBOLS)
    assert "asin" in symbols and not dropped
    functions, dropped = methods._map_operators(problem, methods.GPLEARN_FUNCTIONS)
    assert "asin" in dropped and {"add", "sub", "mul", "div"} <= set(functions)
    hubble = next(p for p in get_suite("empirical") if p.name == "hubble")
    symbols, dropped = methods._map_operators(hubble, methods.OPERON_SYMBOLS)
    assert symbols == ["add", "sub", "mul", "div", "square", "exp", "log", "sqrt"]
    assert dropped == ["cube"]


# ------------------------------------------------------------------ entry points
def test_unknown_method_lists_the_valid_ones_and_the_nearest():
    with pytest.raises(ValueError, match=r"Did you mean 'operon'\?.*hybridsr, hybridsr-gp, eql"):
        fit_method("operom", TINY, *TINY.sample(seed=0))


def test_bad_time_budget_is_refused():
    with pytest.raises(ValueError, match="time_budget"):
        fit_method("hybridsr", TINY, *TINY.sample(seed=0), time_budget=0)


def test_missing_package_says_which_pip_install_fixes_it(monkeypatch):
    monkeypatch.setitem(methods._PACKAGES, "gplearn", ("no_such_module_hybridsr_test",
                                                       "pip install gplearn"))
    assert "gplearn" not in available_methods()
    assert "hybridsr" in available_methods()
    with pytest.raises(ImportError, match="pip install gplearn"):
        fit_method("gplearn", TINY, *TINY.sample(seed=0), time_budget=1)


def check_output(out: FitOutput, problem: Problem, X, y) -> np.ndarray:
    names = problem.variable_names
    assert isinstance(out, FitOutput)
    assert out.selected in out.front
    for text in out.front:
        assert parse_formula(text, names).free_symbols <= {sympy.Symbol(n) for n in names}
    prediction = out.predict(X)
    assert prediction.shape == y.shape and np.all(np.isfinite(prediction))
    assert out.n_evals is None or out.n_evals >= 0  # hybridsr counts whole iterations only
    assert out.elapsed > 0 and out.info["seed"] == 0
    json.dumps(out.info)  # results are saved as JSON lines
    return prediction


def formula_values(text: str, problem: Problem, X) -> np.ndarray:
    names = problem.variable_names
    function = sympy.lambdify([sympy.Symbol(n) for n in names], parse_formula(text, names))
    values = function(*(X[n].to_numpy() for n in names))
    return np.broadcast_to(np.asarray(values, dtype=float), (len(X),))


@pytest.mark.parametrize("method", ["hybridsr-gp", "hybridsr", "hybridsr-transformer",
                                    "hybridsr-structure", "hybridsr-full"])
def test_hybridsr_smoke_fit(method):
    X, y = TINY.sample(seed=0)
    out = fit_method(method, TINY, X, y, time_budget=3, seed=0)
    prediction = check_output(out, TINY, X, y)
    assert out.info["stop_reason"] == "timeout"
    assert out.info["settings"]["maxsize"] == 30  # longer than the estimator's default 20
    np.testing.assert_allclose(formula_values(out.selected, TINY, X), prediction, rtol=1e-6,
                               atol=1e-9 * np.abs(y).max())
    assert bool(out.info["guidance"]) == (method != "hybridsr-gp")
    # What selection weighed, one entry per front equation, for replaying a new rule offline.
    weighed = out.info["equations"]
    assert len(weighed) == len(out.front)
    assert [entry["complexity"] for entry in weighed] == sorted(e["complexity"] for e in weighed)
    chosen = [entry["description_length"] for entry in weighed]
    assert None not in chosen and out.selected == out.front[int(np.argmin(chosen))]
    assert all(entry["n_constants"] >= 0 and entry["validation_loss"] >= 0 for entry in weighed)
    assert all(entry["equation"].count("(") == entry["equation"].count(")") for entry in weighed)
    # A cold kernel cache can spend the whole budget compiling (no snapshot), and guidance
    # can leave the search time for its initial front only (a snapshot, no iteration).
    assert len(out.timeline) <= 48 and (out.timeline or out.info["iterations"] == 0)
    assert all(seconds <= out.elapsed for seconds, _ in out.timeline)


def test_transformer_smoke_fit():
    pytest.importorskip("torch")
    X, y = TINY.sample(seed=0)
    out = fit_method("transformer", TINY, X, y, time_budget=4, seed=0)
    prediction = check_output(out, TINY, X, y)
    assert out.selected in out.front and out.info["candidates"] > 0
    np.testing.assert_allclose(formula_values(out.selected, TINY, X), prediction, rtol=1e-6,
                               atol=1e-9 * np.abs(y).max())


@pytest.mark.parametrize("method", ["eql", "student"])
def test_network_smoke_fit(method):
    pytest.importorskip("torch")
    X, y = TINY.sample(seed=0)
    out = fit_method(method, TINY, X, y, time_budget=4, seed=0)
    prediction = check_output(out, TINY, X, y)
    assert out.front == [out.selected]
    np.testing.assert_allclose(formula_values(out.selected, TINY, X), prediction, rtol=1e-6,
                               atol=1e-9 * np.abs(y).max())


def test_operon_smoke_fit():
    pytest.importorskip("pyoperon")
    X, y = TINY.sample(seed=0)
    out = fit_method("operon", TINY, X, y, time_budget=1, seed=0)
    prediction = check_output(out, TINY, X, y)
    assert out.info["settings"]["optimizer_iterations"] > 0 and out.n_evals > 0
    # Operon computes in float32; the string carries its coefficients exactly.
    np.testing.assert_allclose(formula_values(out.selected, TINY, X), prediction, rtol=1e-4,
                               atol=1e-4 * np.abs(y).max())


def test_gplearn_smoke_fit():
    pytest.importorskip("gplearn")
    X, y = TINY.sample(seed=0)
    out = fit_method("gplearn", TINY, X, y, time_budget=0.5, seed=0)
    prediction = check_output(out, TINY, X, y)
    assert out.info["settings"]["generations"] >= 1 and out.n_evals >= 1000
    assert out.info["settings"]["function_set"] == ["add", "sub", "mul", "div"]
    np.testing.assert_allclose(formula_values(out.selected, TINY, X), prediction, rtol=1e-9,
                               atol=1e-9 * np.abs(y).max())


def test_feyn_functions_follow_the_problem_and_keep_feyn_optional():
    hubble = next(p for p in get_suite("empirical") if p.name == "hubble")
    functions, dropped = methods._feyn_function_names(hubble)
    assert functions == ["add", "multiply", "inverse", "squared", "exp", "log", "sqrt",
                         "gaussian", "linear"]
    assert dropped == ["cube"]
    # never empty (feyn would read that as every function), and asin is reported missing
    problem = next(p for p in get_suite("feynman") if any("asin" in u for u in p.unary_operators))
    functions, dropped = methods._feyn_function_names(problem)
    assert "linear" in functions and "asin" in dropped
    code = ("import sys, hybridsr, hybridsr.bench.methods, hybridsr.bench.job; "
            "assert 'feyn' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_feyn_smoke_fit():
    pytest.importorskip("feyn")
    X, y = TINY.sample(seed=0)
    out = fit_method("feyn", TINY, X, y, time_budget=2, seed=0)
    prediction = check_output(out, TINY, X, y)
    assert out.n_evals == out.info["models_fitted"] > 0
    assert out.info["settings"]["function_names"] == ["add", "multiply", "inverse", "linear"]
    assert out.elapsed < 2 + 8  # a chunk of fits and the formulas past it, on a busy machine
    assert len(out.front) <= 10 and out.front[0] == out.selected
    # feyn's protected functions equal the plain ones on this data
    np.testing.assert_allclose(formula_values(out.selected, TINY, X), prediction, rtol=1e-9,
                               atol=1e-9 * np.abs(y).max())
    assert np.corrcoef(prediction, y)[0, 1] > 0.99


def test_method_names():
    assert METHOD_NAMES == ("hybridsr", "hybridsr-gp", "eql", "student", "operon", "gplearn",
                            "feyn", "transformer", "hybridsr-transformer", "hybridsr-structure",
                            "hybridsr-full")
