"""Cross-validated losses of front equations: over-fitting shows up held out."""

import numpy as np
import pytest

from hybridsr.evaluate import Dataset, Evaluator
from hybridsr.expr import Language, compile_tree, sympy_to_tree
from hybridsr.operators import OperatorSet
from hybridsr.validation import MIN_ROWS, cross_validated_losses


@pytest.fixture(scope="module")
def language():
    return Language(OperatorSet.from_spec(["+", "-", "*", "/"], []), 1, variable_names=("x",))


def noisy_line(n, seed=0):
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(1.0, 3.0, n))
    return x[:, None], 2.0 * x + rng.normal(0.0, 0.1, n)


def test_overfitted_polynomial_loses_held_out(language):
    X, y = noisy_line(12)
    # The law, and a degree-6 polynomial whose extra constants chase the noise.
    polynomial = sympy_to_tree("1.0 + 2.0*x + 0.1*x**2 + 0.1*x**3 + 0.1*x**4 + 0.1*x**5 + 0.1*x**6",
                               language)
    trees = [sympy_to_tree("2.0*x", language), polynomial]
    evaluator = Evaluator(language.operator_set)
    data = Dataset.from_arrays(X, y)
    held_out = cross_validated_losses(trees, language, evaluator, data, folds=4,
                                      rng=np.random.default_rng(0))
    law_train = evaluator.loss(compile_tree(trees[0], language), data)
    assert held_out[0] < held_out[1]
    assert held_out[0] == pytest.approx(0.01, rel=1.0)  # about the noise variance
    assert law_train < held_out[0] * 2


def test_reproducible_and_invalid_is_inf(language):
    X, y = noisy_line(20)
    trees = [sympy_to_tree("2.0*x", language), sympy_to_tree("1.0/(x - 2.0)", language)]
    evaluator = Evaluator(language.operator_set)
    data = Dataset.from_arrays(X, y)
    first = cross_validated_losses(trees, language, evaluator, data, folds=5, rng=np.random.default_rng(1))
    again = cross_validated_losses(trees, language, evaluator, data, folds=5, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(first, again)
    assert np.isfinite(first[0])


def test_tiny_data_and_bad_folds(language):
    X, y = noisy_line(MIN_ROWS - 1)
    trees = [sympy_to_tree("2.0*x", language)]
    evaluator = Evaluator(language.operator_set)
    data = Dataset.from_arrays(X, y)
    assert np.isnan(cross_validated_losses(trees, language, evaluator, data, folds=5,
                                           rng=np.random.default_rng(0))).all()
    with pytest.raises(ValueError, match="folds must be at least 2"):
        cross_validated_losses(trees, language, evaluator, data, folds=1, rng=np.random.default_rng(0))
