"""Structure tests on known functions: separability, pair symmetries, views, support."""

import numpy as np
import pytest
import sympy

from hybridsr.guidance.structure import (Support, View, find_structures, separability_score,
                                         symmetry_score)

x0, x1, x2 = sympy.symbols("x0 x1 x2")


def _view(function, low, high, n=1500, seed=0):
    points = np.random.default_rng(seed).uniform(low, high, (n, len(low)))
    return View.of_function(lambda P: function(*P.T), points, sympy.symbols(f"x0:{len(low)}"))


@pytest.mark.parametrize("function, kind, separable", [
    (lambda a, b: a ** 2 + np.sin(b), "additive", True),
    (lambda a, b: a * np.exp(b), "multiplicative", True),
    (lambda a, b: a * b + b, "additive", False),
    (lambda a, b: a + 2 * b, "multiplicative", False),
])
def test_separability_score_tells_separable_functions(function, kind, separable):
    view = _view(function, [1.0, 1.0], [3.0, 2.0])
    score = separability_score(view, (0,), kind, np.random.default_rng(1))
    assert (score < 1e-8) if separable else (score > 0.05)


@pytest.mark.parametrize("kind, function", [
    ("ratio", lambda a, b: np.sin(a / b)),
    ("difference", lambda a, b: np.cos(a - b) * 3),
    ("product", lambda a, b: np.sqrt(a * b)),
    ("sum", lambda a, b: np.exp(-(a + b))),
])
def test_symmetry_score_finds_each_kind_and_only_it(kind, function):
    view = _view(function, [1.0, 1.5], [2.0, 3.0])
    rng = np.random.default_rng(2)
    scores = {k: symmetry_score(view, 0, 1, k, rng) for k in ("ratio", "difference", "product", "sum")}
    assert scores[kind] < 1e-8
    assert all(score > 0.05 for other, score in scores.items() if other != kind)


def test_ratio_needs_positive_coordinates():
    view = _view(lambda a, b: a / b, [-1.0, 1.0], [1.0, 2.0])
    assert symmetry_score(view, 0, 1, "ratio", np.random.default_rng(0)) == np.inf


def test_find_structures_ranks_the_true_one_first_and_respects_operators():
    view = _view(lambda m, v, c: m / np.sqrt(1 - (v / c) ** 2), [1.0, 1.0, 3.0], [5.0, 2.0, 10.0])
    found = find_structures(view, np.random.default_rng(0))
    best = {(h.kind, h.indices) for h in found[:2]}
    assert best == {("multiplicative", (0,)), ("ratio", (1, 2))}
    assert found[0].score < 1e-8 and found[2].score > 0.05
    without_division = find_structures(view, np.random.default_rng(0), binary_operators=("+", "*"))
    assert all(h.kind not in ("ratio", "difference") for h in without_division)


def test_separated_view_holds_the_other_coordinates_at_the_reference():
    view = _view(lambda a, b, c: a + b * c, [0.0, 1.0, 1.0], [1.0, 2.0, 2.0])
    reference = view.reference()
    part = view.separated((1, 2), reference)
    assert part.symbols == (x1, x2) and part.dimension == 2
    Z = part.points[:5]
    np.testing.assert_allclose(part(Z), reference[0] + Z[:, 0] * Z[:, 1])
    np.testing.assert_allclose(part.from_root(view.points[:5]), view.points[:5, 1:])


def test_combined_view_lifts_back_inside_the_box():
    function = lambda a, b, c: c * np.sin(a / b)  # noqa: E731
    view = _view(function, [1.0, 1.0, 0.5], [2.0, 4.0, 1.5])
    merged = view.combined("ratio", 0, 1)
    assert merged.symbols == (x0 / x1, x2)
    lifted = merged.lift(merged.points)
    assert np.all(lifted >= view.low - 1e-12) and np.all(lifted <= view.high + 1e-12)
    np.testing.assert_allclose(merged(merged.points), merged.points[:, 1] * np.sin(merged.points[:, 0]))
    # A ratio no point of the box has cannot be lifted.
    assert np.isnan(merged(np.array([[100.0, 1.0]])))[0]
    np.testing.assert_allclose(merged.from_root(view.points[:3])[:, 0],
                               view.points[:3, 0] / view.points[:3, 1])


def test_support_excludes_what_the_data_never_covered():
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 1, (2, 3000))
    below = b < a  # a triangle
    support = Support(np.column_stack([a[below], b[below]]), rng=rng)
    assert support.contains(np.array([[0.8, 0.2], [0.5, 0.4]])).all()
    assert not support.contains(np.array([[0.1, 0.9]])).any()  # the empty corner
    assert not support.contains(np.array([[2.0, 0.5]])).any()  # outside the bounds


def test_support_of_a_grid_holds_its_points_only():
    n1, n2 = np.meshgrid(np.arange(1, 5), np.arange(1, 5))
    grid = np.column_stack([n1.ravel(), n2.ravel()]).astype(float)
    support = Support(np.repeat(grid, 3, axis=0), rng=np.random.default_rng(0))
    assert support.contains(grid).all()
    assert not support.contains(np.array([[1.5, 2.0]])).any()


@pytest.mark.parametrize("degree", [1.0, -2.0, 0.5])
def test_homogeneity_finds_the_power_of_a_scaled_pair(degree):
    from hybridsr.guidance.structure import homogeneity

    view = _view(lambda v, c: v ** degree / np.sqrt(1 - (v / c) ** 2), [1.0, 3.0], [2.0, 10.0])
    score, found = homogeneity(view, 0, 1, np.random.default_rng(0))
    assert found == degree and score < 1e-8
    merged = view.combined("ratio", 0, 1, degree=degree)
    assert merged.factor == x0 ** -sympy.nsimplify(degree)
    u = merged.points[:, 0]
    np.testing.assert_allclose(merged(merged.points), 1 / np.sqrt(1 - u ** 2))


def test_homogeneity_of_a_function_that_is_not():
    from hybridsr.guidance.structure import homogeneity

    view = _view(lambda a, b: a + b ** 2, [1.0, 1.0], [2.0, 2.0])
    score, _ = homogeneity(view, 0, 1, np.random.default_rng(0))
    assert score > 0.05
