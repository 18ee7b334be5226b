"""Cross-validated losses of front equations: over-fitting shows up held out."""

import numpy as np
import pytest

from hybridsr.evaluate import Dataset, Evaluator
from hybridsr.expr import Language, compile_tree, sympy_to_tree
from hybridsr.operators import OperatorSet
from hybridsr.gp.scoring import row_losses
from hybridsr.validation import (MAX_REPEATS, MIN_ROWS, cross_validate, cross_validated_losses,
                                 default_repeats)


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
    with pytest.raises(ValueError, match="repeats must be at least 1, got 0"):
        cross_validated_losses(trees, language, evaluator, data, folds=5,
                               rng=np.random.default_rng(0), repeats=0)


def test_constants_a_fold_cannot_determine_have_no_held_out_loss(language):
    # 8 rows in 5 folds leave 6 or 7 rows to fit on: six constants can pass through any six
    # of them, and each fold's refit starts from the fit to all 8 rows, held-out ones included.
    X, y = noisy_line(8, seed=3)
    trees = [sympy_to_tree("2.0*x", language),
             sympy_to_tree("0.1 + 2.0*x + 0.1*x**2 + 0.1*x**3 + 0.1*x**4", language),
             sympy_to_tree("0.1 + 2.0*x + 0.1*x**2 + 0.1*x**3 + 0.1*x**4 + 0.1*x**5", language)]
    evaluator = Evaluator(language.operator_set)
    result = cross_validate(trees, language, evaluator, Dataset.from_arrays(X, y), folds=5,
                            rng=np.random.default_rng(0))
    assert [compile_tree(t, language).constants.size for t in trees] == [1, 5, 6]
    assert np.isfinite(result.losses[:2]).all() and result.losses[2] == np.inf
    assert np.isinf(result.row_losses[2]).all() and np.isfinite(result.row_losses[:2]).all()


def test_small_samples_are_split_into_folds_again_and_averaged(language):
    assert [default_repeats(n) for n in (4, 30, 200, 201, 1000, 2000, 10**6)] == \
        [MAX_REPEATS, 10, 10, 10, 2, 1, 1]
    # Which rows share a fold moves one split's held-out loss; ten splits move it less.
    X, y = noisy_line(30, seed=4)
    data, evaluator = Dataset.from_arrays(X, y), Evaluator(language.operator_set)
    trees = [sympy_to_tree("2.0*x + 0.01*x*x*x", language)]
    spread = {repeats: np.std([cross_validated_losses(trees, language, evaluator, data, folds=5,
                                                      rng=np.random.default_rng(seed),
                                                      repeats=repeats)[0] for seed in range(12)])
              for repeats in (1, None)}
    assert spread[None] < 0.7 * spread[1]


def test_row_losses_average_to_the_mean_held_out_loss(language):
    X, y = noisy_line(23)
    trees = [sympy_to_tree("2.0*x", language), sympy_to_tree("1.0 + x*x", language)]
    evaluator = Evaluator(language.operator_set)
    result = cross_validate(trees, language, evaluator, Dataset.from_arrays(X, y), folds=5,
                            rng=np.random.default_rng(0))
    assert result.row_losses.shape == (2, 23) and result.folds == 5
    np.testing.assert_allclose(result.row_losses.mean(axis=1), result.losses, rtol=1e-9)


@pytest.mark.parametrize("loss, expected", [("mse", [0.25, 4.0]), ("mae", [0.5, 2.0]),
                                            ("huber", [0.125, 1.5])])
def test_row_losses_of_each_kind(loss, expected):
    out = row_losses(np.array([1.5, 3.0, np.nan]), np.array([1.0, 1.0, 1.0]), loss, 1.0)
    np.testing.assert_allclose(out, [*expected, np.inf])


def test_a_pole_at_one_noisy_point_does_not_displace_the_law():
    # Hubble's law on the EmpiricalBench sample of seed 2 (30 galaxies, noise 1/4 of v's
    # spread), and what a search selected there: a pole that lands on the noisiest point
    # lowers the held-out loss too, since each fold's refit starts from the fitted pole.
    from collections import namedtuple

    from hybridsr.datasets import get_problem
    from hybridsr.expr import complexity
    from hybridsr.export import equations_table, select_index

    problem = get_problem("hubble")
    X, y = problem.sample(seed=2)
    language = Language(OperatorSet.from_spec(["+", "-", "*", "/"], ["square", "cube", "exp", "log",
                                                                      "sqrt"]), 1, ("D",))
    evaluator = Evaluator(language.operator_set)
    data = Dataset.from_arrays(np.asarray(X, dtype=float), np.asarray(y, dtype=float))
    texts = ["754.874506576258", "75.2098987925477*D",
             "73.4522052456026*D + 51.6497460339443 - 109.989018315471/"
             "log((1.60290222226272 - (8.99816467668036 - D)**2)**2)"]
    Member = namedtuple("Member", "tree complexity loss")
    front = []
    for text in texts:
        tree = sympy_to_tree(text, language)
        front.append(Member(tree, complexity(tree, language),
                            evaluator.loss(compile_tree(tree, language), data)))
    held_out = cross_validate([m.tree for m in front], language, evaluator, data, folds=5,
                              rng=np.random.default_rng(0))
    assert held_out.losses[2] * 1.5 < held_out.losses[1]  # the pole wins on average
    by_loss = equations_table(front, language, 0.0, held_out.losses)  # PySR's rule on them
    assert select_index(by_loss, "best") == 2
    # Its 17 more nodes cost more than its gain on 30 rows says: the law's description is shorter.
    by_length = equations_table(front, language, 0.0, held_out.losses,
                                held_out.row_losses.shape[1], validation_folds=held_out.folds)
    assert select_index(by_length, "best") == 1
