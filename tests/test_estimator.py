"""HybridSRRegressor: parameters, bad input, the fitted tables, persistence and sklearn's checks.

Most tests replace the search by a fake that returns a hand-built front, so
they are instant and test the estimator alone; a few small seeded searches
cover the whole path.
"""

import dataclasses
import inspect
import io
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import sympy
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

import hybridsr.estimator as estimator_module
from hybridsr import HybridSRRegressor, MutationWeights
from hybridsr.config import SearchConfig
from hybridsr.estimator import ESTIMATOR_PARAMETERS
from hybridsr.expr import Constant, Individual
from hybridsr.progress import ProgressDisplay

# A search small enough for sklearn's many fits.
TINY = dict(populations=2, population_size=12, niterations=2, ncycles_per_iteration=30,
            tournament_selection_n=4, verbosity=0, random_state=0)


# -- a fake search ---------------------------------------------------------------------------
Member = SimpleNamespace


def fake_front(language, scale=1.0):
    """1.5; x0*x1; 2.5*x0*x1; 2.5*x0*x1 + 0 * x0 with losses 10, 1, 0.5, 0.01 (times scale)."""
    P, x0, x1 = language.primitive, language.variable(0), language.variable(1)
    product = [P("*"), x0, x1]
    trees = [Individual([Constant(1.5)]), Individual(product),
             Individual([P("*"), Constant(2.5)] + product),
             Individual([P("+"), P("*"), Constant(2.5)] + product + [P("*"), Constant(0.0), x0])]
    losses = [10.0, 1.0, 0.5, 0.01]
    return [Member(tree=t, loss=scale * loss, complexity=c)
            for t, loss, c in zip(trees, losses, [1, 3, 5, 9])]


class FakeSearch:
    """Stands in for run_search: records its calls, reports one iteration, returns a fixed front."""

    def __init__(self):
        self.calls = []

    def __call__(self, data, language, config, *, random_state=None, n_jobs=1, state=None,
                 callback=None, initial_trees=None, donor_trees=None, executor=None,
                 checkpoint=None):
        self.calls.append(SimpleNamespace(data=data, language=language, config=config,
                                          random_state=random_state, n_jobs=n_jobs, state=state))
        front = fake_front(language, scale=len(self.calls))
        if callback is not None:
            callback(SimpleNamespace(iteration=1, niterations=config.niterations, n_evals=100,
                                     elapsed=0.5, best_loss=front[-1].loss, hall_of_fame=front))
        return SimpleNamespace(hall_of_fame=front, state={"calls": len(self.calls)}, n_evals=100,
                               n_iterations=config.niterations, elapsed=0.5,
                               stop_reason="niterations")


@pytest.fixture
def fake_search(monkeypatch):
    search = FakeSearch()
    monkeypatch.setattr(estimator_module, "run_search", search)
    # The fake front's losses are made up: refitting its constants would replace them.
    monkeypatch.setattr(estimator_module, "simplify_front", lambda front, *args, **kwargs: front)
    return search


@pytest.fixture
def no_search(monkeypatch):
    """Fails the test if a search starts: errors must come before any work."""
    def refuse(*args, **kwargs):
        raise AssertionError("the search started before the error was found")
    monkeypatch.setattr(estimator_module, "run_search", refuse)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-3, 3, size=(40, 2))
    return X, 2.5 * X[:, 0] * X[:, 1]


# -- parameters ----------------------------------------------------------------------------
def test_signature_mirrors_search_config():
    parameters = inspect.signature(HybridSRRegressor.__init__).parameters
    fields = {f.name: f for f in dataclasses.fields(SearchConfig)}
    assert set(parameters) - {"self"} == set(fields) | set(ESTIMATOR_PARAMETERS)
    for name, f in fields.items():
        default = parameters[name].default
        if f.default is dataclasses.MISSING:  # a default_factory: None means "the default"
            assert default is None, name
            assert MutationWeights.from_value(default) == f.default_factory()
        else:
            assert default == f.default, name
    assert all(p.kind is p.KEYWORD_ONLY for n, p in parameters.items() if n != "self")


def test_every_parameter_is_documented():
    doc = HybridSRRegressor.__doc__
    section = doc[doc.index("Parameters\n"):doc.index("Attributes\n")]
    documented = [line.split(" :")[0].strip() for line in section.splitlines()
                  if line.startswith("    ") and not line.startswith("        ") and " :" in line]
    names = [n for n in inspect.signature(HybridSRRegressor.__init__).parameters if n != "self"]
    assert documented == names


def test_init_stores_parameters_unchanged():
    weights = {"mutate_constant": 1.0}
    model = HybridSRRegressor(mutation_weights=weights, binary_operators=["+"])
    assert model.mutation_weights is weights
    assert model.get_params()["binary_operators"] == ["+"]


@pytest.mark.parametrize("options, message", [
    ({"populations": 0}, "populations must be an integer >= 1"),
    ({"loss": "msee"}, "Did you mean 'mse'"),
    ({"model_selection": "bset"}, "Did you mean 'best'"),
    ({"validation_folds": 1}, "validation_folds must be 0"),
    ({"validation_folds": 2.5}, "validation_folds must be 0"),
    ({"binary_operators": ["+", "plus2"]}, "unknown operator"),
    ({"unary_operators": ["+"]}, "move it to binary_operators"),
    ({"tournament_selection_n": 50}, "exceeds population_size"),
    ({"mutation_weights": {"mutate_constnt": 1.0}}, "Did you mean 'mutate_constant'"),
    ({"constraints": {"sin": 3}}, r"constraints names \['sin'\]"),
    ({"nested_constraints": {"*": {"cos": 0}}}, r"nested_constraints names \['cos'\]"),
    ({"guidance": "studnet"}, "Did you mean .student."),
    ({"n_jobs": 0}, "n_jobs must be"),
    ({"verbosity": -1}, "verbosity must be"),
    ({"random_state": "seed"}, "random_state must be"),
    ({"complexity_of_constants": 0}, "complexity_of_constants must be a positive"),
    ({"optimize_probability": 1.5}, r"optimize_probability must lie in \[0.0, 1.0\]"),
])
def test_invalid_options(no_search, data, options, message):
    with pytest.raises(ValueError, match=message):
        HybridSRRegressor(**options).fit(*data)


def test_output_file_must_not_be_a_folder(no_search, data, tmp_path):
    with pytest.raises(ValueError, match="is a folder"):
        HybridSRRegressor(output_file=tmp_path).fit(*data)


# -- bad input -----------------------------------------------------------------------------
def _with(array, row, value):
    array = np.array(array, dtype=float)
    array[row] = value
    return array


@pytest.mark.parametrize("make, message", [
    (lambda X, y: (_with(X, 3, np.nan), y), r"X contains NaN in 1 row\(s\) \(first: row 3\)"),
    (lambda X, y: (X, _with(y, 5, np.inf)), "y contains inf"),
    (lambda X, y: (X, y[:-1]), "X has 40 rows but y has 39"),
    (lambda X, y: (X[:0], y[:0]), "0 samples"),
    (lambda X, y: (X[:, :0], y), "0 feature"),
    (lambda X, y: (X[:1], y[:1]), "1 sample"),
    (lambda X, y: (X[:, 0], y), "Expected 2D array"),
    (lambda X, y: (X, np.full_like(y, 3.0)), "y is constant"),
    (lambda X, y: (X, np.column_stack([y, np.ones_like(y)])), r"y\[:, 1\] is constant"),
    (lambda X, y: (pd.DataFrame({"a": X[:, 0], "b": ["u"] * len(y)}), y),
     r"non-numeric column\(s\) \['b'\]"),
    (lambda X, y: (np.array([["1", "x"]] * len(y), dtype=object), y), "could not convert"),
    (lambda X, y: (pd.DataFrame(X, columns=["a", "a"]), y), r"duplicate variable names \['a'\]"),
])
def test_bad_input(no_search, data, make, message):
    with pytest.raises(ValueError, match=message):
        HybridSRRegressor().fit(*make(*data))


@pytest.mark.parametrize("names, message", [
    (["a", "a"], "duplicate variable names"),
    (["a"], "1 variable_names for 2 features"),
    (["a", "b c"], "is not a Python identifier"),
    (["a", "lambda"], "is a Python keyword"),
    (["a", "sin"], "is the name of an operator"),
    ("ab", "not the string"),
])
def test_bad_variable_names(no_search, data, names, message):
    model = HybridSRRegressor(unary_operators=("sin",))
    with pytest.raises(ValueError, match=message):
        model.fit(*data, variable_names=names)


@pytest.mark.parametrize("weights, message", [
    (np.ones(39), r"weights has shape \(39,\)"),
    (-np.ones(40), "non-negative"),
    (np.zeros(40), "all zero"),
])
def test_bad_weights(no_search, data, weights, message):
    with pytest.raises(ValueError, match=message):
        HybridSRRegressor().fit(*data, weights=weights)


# -- the fitted tables (fake search) ---------------------------------------------------------
def test_equations_table_and_selection(fake_search, data):
    X, y = data
    model = HybridSRRegressor(niterations=3, random_state=1, validation_folds=0).fit(X, y)
    table = model.equations_
    assert list(table.columns) == ["complexity", "loss", "score", "validation_loss",
                                   "description_length", "equation", "sympy", "lambda", "tree"]
    assert table["validation_loss"].isna().all() and table["description_length"].isna().all()
    assert list(table["complexity"]) == [1, 3, 5, 9]
    assert table["equation"].iloc[2] == "(2.5 * (x0 * x1))"
    # scores: 0, ln(10)/2, ln(2)/2, ln(50)/4; "best" keeps losses <= 0.015 -> the last row
    assert model.get_best()["equation"] == table["equation"].iloc[3]
    model.set_params(model_selection="score")  # read when predicting, no refit needed
    assert model.get_best()["complexity"] == 3
    model.set_params(model_selection="accuracy")
    assert model.get_best()["complexity"] == 9
    # what the search was given
    call = fake_search.calls[0]
    assert call.config.niterations == 3 and call.n_jobs == 1 and call.state is None
    assert isinstance(call.random_state, np.random.SeedSequence)
    np.testing.assert_array_equal(call.data.y, y)


def test_front_is_cross_validated_on_the_data(fake_search, data):
    X, y = data
    table = HybridSRRegressor(niterations=3, random_state=1).fit(X, y).equations_
    held_out = table["validation_loss"].to_numpy()
    # 1.5 and x0*x1 miss by the spread of y; the two exact forms refit to it on every fold.
    assert held_out[0] == pytest.approx(np.var(y), rel=0.3)
    assert held_out[1] == pytest.approx(np.mean((y - X[:, 0] * X[:, 1]) ** 2), rel=0.3)
    assert held_out[2] < 1e-20 and held_out[3] < 1e-20
    again = HybridSRRegressor(niterations=3, random_state=1).fit(X, y).equations_
    np.testing.assert_array_equal(again["validation_loss"], held_out)


def test_predict_sympy_latex_by_index(fake_search, data):
    X, y = data
    model = HybridSRRegressor().fit(X, y)
    np.testing.assert_allclose(model.predict(X, index=2), 2.5 * X[:, 0] * X[:, 1])
    np.testing.assert_allclose(model.predict(X, index=0), 1.5)
    np.testing.assert_allclose(model.predict(X), model.equations_["lambda"].iloc[3](X))
    x0, x1 = sympy.symbols("x0 x1", real=True)
    assert model.sympy(2) == 2.5 * x0 * x1
    assert model.latex(2) == "2.5 x_{0} x_{1}"
    assert model.latex(2, precision=None) == sympy.latex(2.5 * x0 * x1)
    with pytest.raises(IndexError, match="4 rows"):
        model.predict(X, index=7)


def test_predict_gives_nan_only_where_undefined(fake_search, data):
    X, y = data
    model = HybridSRRegressor(unary_operators=("log",)).fit(X, y)
    language = model.language_
    tree = Individual([language.primitive("log"), language.variable(0)])
    model.equations_.at[0, "tree"] = tree
    values = model.predict(np.array([[2.0, 1.0], [-1.0, 1.0]]), index=0)
    assert values[0] == pytest.approx(np.log(2.0)) and np.isnan(values[1])


def test_dataframe_names_become_variables(fake_search, data):
    X, y = data
    frame = pd.DataFrame(X, columns=["mass (kg)", "2nd"])
    model = HybridSRRegressor().fit(frame, y)
    assert list(model.feature_names_in_) == ["mass (kg)", "2nd"]
    assert model.variable_names_ == ("mass_kg", "x2nd")
    assert model.equations_["equation"].iloc[2] == "(2.5 * (mass_kg * x2nd))"
    np.testing.assert_allclose(model.predict(frame, 2), 2.5 * X[:, 0] * X[:, 1])
    explicit = HybridSRRegressor().fit(frame, y, variable_names=["m", "r"])
    assert explicit.equations_["equation"].iloc[1] == "(m * r)"
    # Usable names stay as they are (g_ once became g, and the bench judged g against g_).
    usable = HybridSRRegressor().fit(pd.DataFrame(X, columns=["g_", "_h"]), y)
    assert usable.variable_names_ == ("g_", "_h")


def test_two_targets(fake_search, data):
    X, y = data
    Y = np.column_stack([y, 2 * y])
    model = HybridSRRegressor(random_state=3).fit(X, Y, weights=np.ones(len(y)))
    assert isinstance(model.equations_, list) and len(model.equations_) == 2
    assert model.predict(X).shape == (len(y), 2)
    np.testing.assert_allclose(model.predict(X, index=[2, 0])[:, 1], 1.5)
    assert len(model.sympy()) == 2 and len(model.get_best()) == 2
    with pytest.raises(ValueError, match="one row position per target"):
        model.predict(X, index=[1])
    # one seed per target, the first as in a 1-D fit
    seeds = [c.random_state for c in fake_search.calls]
    assert seeds[0].spawn_key != seeds[1].spawn_key
    HybridSRRegressor(random_state=3).fit(X, y)
    assert fake_search.calls[2].random_state.spawn_key == seeds[0].spawn_key
    assert "target 1:" in repr(model)


def test_repr(fake_search, data):
    model = HybridSRRegressor(maxsize=10)
    assert repr(model) == "HybridSRRegressor(maxsize=10)"
    model.fit(*data)
    text = repr(model)
    assert text.startswith("HybridSRRegressor.equations_ = [")
    assert sum(">>>>" in line for line in text.splitlines()) == 1
    assert "(2.5 * (x0 * x1))" in text


def test_unfitted_model_refuses(data):
    model = HybridSRRegressor()
    for call in (lambda: model.predict(data[0]), model.sympy, model.latex, model.get_best):
        with pytest.raises(NotFittedError):
            call()


def test_warm_start_passes_previous_state(fake_search, data):
    X, y = data
    model = HybridSRRegressor(warm_start=True).fit(X, y)
    model.fit(X, y)
    assert fake_search.calls[0].state is None
    assert fake_search.calls[1].state == {"calls": 1}
    assert fake_search.calls[1].state is not model.search_results_[0].state  # a copy
    with pytest.raises(ValueError, match="set warm_start=False"):
        model.fit(X[:, :1], y)
    with pytest.raises(ValueError, match="operators"):
        model.set_params(unary_operators=("sin",)).fit(X, y)
    HybridSRRegressor(warm_start=False).fit(X, y)
    assert fake_search.calls[-1].state is None


def test_output_file_written_during_search(monkeypatch, data, tmp_path):
    path = tmp_path / "front.csv"
    seen = []

    class Watching(FakeSearch):
        def __call__(self, *args, callback=None, **kwargs):
            def check(progress):
                callback(progress)
                seen.append(pd.read_csv(path))  # already there during the search
            return super().__call__(*args, callback=check, **kwargs)

    monkeypatch.setattr(estimator_module, "run_search", Watching())
    HybridSRRegressor(output_file=path, simplify_constants=False).fit(*data)
    assert list(seen[0]["complexity"]) == [1, 3, 5, 9]
    final = pd.read_csv(path)
    assert list(final.columns) == ["complexity", "loss", "score", "equation"]
    np.testing.assert_allclose(final["loss"], [10.0, 1.0, 0.5, 0.01])

    Y = np.column_stack([data[1], -data[1]])
    HybridSRRegressor(output_file=path).fit(data[0], Y)
    assert (tmp_path / "front.out1.csv").exists() and (tmp_path / "front.out2.csv").exists()


def test_progress_display_only_on_a_terminal():
    progress = SimpleNamespace(iteration=2, niterations=4, n_evals=1000, elapsed=2.0, best_loss=0.5)

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    quiet = io.StringIO()
    ProgressDisplay(1, stream=quiet)(progress)
    assert quiet.getvalue() == ""
    silent = Terminal()
    ProgressDisplay(0, stream=silent)(progress)
    assert silent.getvalue() == ""
    terminal = Terminal()
    display = ProgressDisplay(1, stream=terminal, label="y")
    display(progress)
    display.close()
    text = terminal.getvalue()
    assert text.startswith("\r[y] iteration 2/4") and "best loss 0.5" in text
    assert "(500/s)" in text and "~2.0 s left" in text and text.endswith("\n")


# -- real searches ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(1)
    X = rng.uniform(-3, 3, size=(80, 2))
    y = 2.5 * X[:, 0] * X[:, 1]
    model = HybridSRRegressor(niterations=3, random_state=0, verbosity=0).fit(X, y)
    return model, X, y


def test_recovers_a_product(fitted):
    model, X, y = fitted
    x0, x1 = sympy.symbols("x0 x1", real=True)
    found = model.sympy()
    coefficient = sympy.Poly(found, x0, x1).coeff_monomial(x0 * x1)
    assert float(coefficient) == pytest.approx(2.5, rel=1e-6)
    np.testing.assert_allclose(model.predict(X), y, rtol=1e-6, atol=1e-9)
    table = model.equations_
    assert table["complexity"].is_monotonic_increasing
    assert table["loss"].is_monotonic_decreasing
    assert model.get_best()["complexity"] <= 7


def test_pickled_model_predicts_the_same(fitted, tmp_path):
    model, X, _ = fitted
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict(X), model.predict(X))
    np.testing.assert_array_equal(clone.equations_["lambda"].iloc[-1](X),
                                  model.equations_["lambda"].iloc[-1](X))
    assert repr(clone) == repr(model)


def test_warm_start_continues_the_search(data):
    X, y = data
    model = HybridSRRegressor(**{**TINY, "niterations": 1}, warm_start=True).fit(X, y)
    assert model.search_results_[0].state.iteration == 1
    model.fit(X, y)
    assert model.search_results_[0].state.iteration == 2


def test_output_file_of_a_real_search(data, tmp_path):
    path = tmp_path / "hof.csv"
    model = HybridSRRegressor(**TINY, output_file=str(path)).fit(*data)
    written = pd.read_csv(path)
    assert list(written["equation"]) == list(model.equations_["equation"])


def test_interrupted_fit_returns_a_model(tmp_path):
    """Ctrl-C during fit ends the search and leaves a fitted model (in a subprocess)."""
    flag = tmp_path / "front.csv"
    script = textwrap.dedent(f"""
        import numpy as np
        from hybridsr import HybridSRRegressor
        X = np.random.default_rng(0).uniform(-3, 3, size=(50, 1))
        model = HybridSRRegressor(populations=2, population_size=12, ncycles_per_iteration=30,
                                  tournament_selection_n=4, niterations=100000, verbosity=0,
                                  output_file={str(flag)!r})
        model.fit(X, np.sin(X[:, 0]))
        print("STOP", model.search_results_[0].stop_reason, len(model.equations_))
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert flag.exists(), process.stderr.read() if process.poll() is not None else "no output"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "STOP interrupted" in out


# -- scikit-learn's own checks --------------------------------------------------------------
# Every check applies and passes, so no expected_failed_checks. sklearn itself skips
# check_array_api_input unless SCIPY_ARRAY_API=1 is set (the estimator converts any
# input to a numpy float64 array, as the numba kernels need).
@parametrize_with_checks([HybridSRRegressor(**TINY)])
def test_sklearn_compatible(estimator, check):
    check(estimator)
