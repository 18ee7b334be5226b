import numpy as np
import pytest

from hybridsr.constants import fit_constants
from hybridsr.evaluate import Dataset, Evaluator
from hybridsr.expr import Constant, Individual, compile_tree


def seed_expression(language, a=1.0, b=1.0):
    """a*sin(x0) + b*x0, the seed's 3 sin(x) - 0.5x with free constants."""
    P, x = language.primitive, language.variable(0)
    return Individual([P("+"), P("*"), Constant(a), P("sin"), x, P("*"), Constant(b), x])


@pytest.fixture
def noisy_seed_data(rng):
    X = rng.uniform(-5, 5, (300, 3))
    y = 3 * np.sin(X[:, 0]) - 0.5 * X[:, 0] + 0.05 * rng.standard_normal(300)
    return Dataset.from_arrays(X, y)


@pytest.mark.parametrize("algorithm", ["lm", "bfgs"])
def test_recovers_the_seed_constants_from_noisy_data(full_language, full_evaluator, noisy_seed_data,
                                                     rng, algorithm):
    program = compile_tree(seed_expression(full_language), full_language)
    fit = fit_constants(program, full_evaluator, noisy_seed_data, rng=rng, algorithm=algorithm)
    b, a = fit.constants  # program slots run in reversed prefix order
    assert a == pytest.approx(3.0, abs=0.02) and b == pytest.approx(-0.5, abs=0.01)
    assert fit.improved and fit.n_evals > 2
    assert fit.loss == pytest.approx(0.05**2, rel=0.3)
    np.testing.assert_array_equal(program.constants, [1.0, 1.0])  # the program is untouched


@pytest.mark.parametrize("loss", ["mae", "huber"])
def test_robust_losses_fit_with_bfgs(full_set, full_language, noisy_seed_data, rng, loss):
    evaluator = Evaluator(full_set, loss=loss)
    program = compile_tree(seed_expression(full_language), full_language)
    fit = fit_constants(program, evaluator, noisy_seed_data, rng=rng, algorithm="lm")
    assert fit.constants[1] == pytest.approx(3.0, abs=0.05)
    assert fit.loss == pytest.approx(evaluator.loss(program, noisy_seed_data, fit.constants))


def test_failed_fit_keeps_old_constants(full_language, full_evaluator, rng):
    P, x = full_language.primitive, full_language.variable(0)
    # log(c * x0) with x0 of both signs is invalid for every c.
    program = compile_tree(Individual([P("log"), P("*"), Constant(2.0), x]), full_language)
    data = Dataset.from_arrays(rng.uniform(-1, 1, (50, 3)), rng.normal(size=50))
    fit = fit_constants(program, full_evaluator, data, rng=rng)
    assert not fit.improved and fit.loss == np.inf
    np.testing.assert_array_equal(fit.constants, [2.0])


@pytest.mark.parametrize("algorithm", ["lm", "bfgs"])
def test_a_fit_that_ends_at_an_infinite_constant_is_dropped(monkeypatch, full_language, full_evaluator,
                                                           noisy_seed_data, rng, algorithm):
    """``1/(1/t + c)`` fits a zero as well at ``c = inf``; such constants never leave the fit."""
    import hybridsr.constants as constants_module

    def to_infinity(objective, x0, *args):
        return np.array([np.inf, 3.0])

    monkeypatch.setattr(constants_module, "_least_squares" if algorithm == "lm" else "_bfgs",
                        to_infinity)
    program = compile_tree(seed_expression(full_language), full_language)
    fit = fit_constants(program, full_evaluator, noisy_seed_data, rng=rng, algorithm=algorithm,
                        n_restarts=2)
    assert not fit.improved and np.all(np.isfinite(fit.constants))
    np.testing.assert_array_equal(fit.constants, [1.0, 1.0])


def test_expression_without_constants(full_language, full_evaluator, noisy_seed_data, rng):
    program = compile_tree(Individual([full_language.primitive("sin"), full_language.variable(0)]),
                           full_language)
    fit = fit_constants(program, full_evaluator, noisy_seed_data, rng=rng)
    assert fit.constants.size == 0 and fit.n_evals == 1 and not fit.improved
    assert np.isfinite(fit.loss)


def test_same_seed_same_fit(full_language, full_evaluator, noisy_seed_data):
    program = compile_tree(seed_expression(full_language, 0.1, 5.0), full_language)
    fits = [fit_constants(program, full_evaluator, noisy_seed_data, rng=np.random.default_rng(7))
            for _ in range(2)]
    np.testing.assert_array_equal(fits[0].constants, fits[1].constants)


def test_bad_options(full_language, full_evaluator, noisy_seed_data, rng):
    program = compile_tree(seed_expression(full_language), full_language)
    with pytest.raises(ValueError, match="unknown optimizer algorithm 'newton'"):
        fit_constants(program, full_evaluator, noisy_seed_data, rng=rng, algorithm="newton")


def test_levenberg_marquardt_fits_leave_the_warning_filters_alone(full_language, full_evaluator,
                                                                   noisy_seed_data, rng):
    # Islands fit constants in threads on a threaded Dask worker; warnings.catch_warnings
    # changes the filters of the whole process, so a fit inside it would silence another
    # thread's warnings (the search's IslandRetryWarning went missing that way).
    import warnings

    seen = []

    class Watching(Evaluator):
        def least_squares(self, *args, **kwargs):
            seen.append(list(warnings.filters))
            return super().least_squares(*args, **kwargs)

    evaluator = Watching(full_evaluator.operator_set)
    program = compile_tree(seed_expression(full_language), full_language)
    before = list(warnings.filters)
    fit = fit_constants(program, evaluator, noisy_seed_data, rng=rng, n_restarts=2)
    assert fit.improved and seen and all(filters == before for filters in seen)
