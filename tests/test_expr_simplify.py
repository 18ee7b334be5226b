"""Constant folding and sympy-backed simplification keep values and never grow trees."""

import math

import numpy as np
import pytest
from deap import gp
from hypothesis import HealthCheck, given, settings
from strategies import sample_points, stable_points, trees

from hybridsr.expr import (Constant, Individual, Language, complexity, evaluate_tree,
                           fold_constants, simplify_tree, to_string, tree_to_sympy)
from hybridsr.operators import OperatorSet

LANGUAGE = Language(OperatorSet.from_spec(
    ("+", "-", "*", "/", "^"),
    ("neg", "square", "cube", "sqrt", "exp", "log", "sin", "cos", "abs", "inv")), 3)
P, x = LANGUAGE.primitive, LANGUAGE.variable

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def values(tree, X):
    """The tree at the rows of X through DEAP's own compile path."""
    with np.errstate(all="ignore"):
        return np.broadcast_to(gp.compile(tree, LANGUAGE.pset)(*X.T), (len(X),)).astype(float)


def test_fold_constant_subtree():
    tree = Individual([P("*"), P("+"), Constant(2.0), Constant(3.0), x(0)])
    folded = fold_constants(tree, LANGUAGE)
    assert list(folded) == [P("*"), Constant(5.0), x(0)]
    X = sample_points(LANGUAGE)
    np.testing.assert_array_equal(values(folded, X), values(tree, X))


def test_fold_nested_and_leaves_input_alone():
    tree = Individual([P("+"), P("sin"), Constant(1.0), P("*"), x(1), P("*"), Constant(2.0),
                       P("exp"), Constant(0.0)])
    original = list(tree)
    folded = fold_constants(tree, LANGUAGE)
    assert to_string(folded, LANGUAGE) == f"({math.sin(1.0)!r} + (x1 * 2.0))"
    assert list(tree) == original


@pytest.mark.parametrize("invalid", [
    lambda: [P("log"), Constant(-1.0)],
    lambda: [P("sqrt"), Constant(-2.0)],
    lambda: [P("/"), Constant(1.0), Constant(0.0)],
    lambda: [P("exp"), Constant(1000.0)],
])
def test_non_finite_subtrees_stay_unfolded(invalid):
    nodes = invalid()
    tree = Individual([P("+"), x(0), P("cos"), *nodes])
    assert list(fold_constants(tree, LANGUAGE)) == [P("+"), x(0), P("cos"), *nodes]


def test_fold_handles_custom_operators():
    language = Language(OperatorSet.from_spec(("+", "f(a, b) = a * b + 1"), ()), 1)
    tree = Individual([language.primitive("+"), language.primitive("f"), Constant(2.0),
                       Constant(3.0), language.variable(0)])
    assert list(fold_constants(tree, language)) == [language.primitive("+"), Constant(7.0),
                                                    language.variable(0)]


@PROPERTY
@given(trees(LANGUAGE, max_size=20, constant_probability=0.5))
def test_folding_keeps_values_and_validity(tree):
    X = sample_points(LANGUAGE)
    folded = fold_constants(tree, LANGUAGE)
    before, after = values(tree, X), values(folded, X)
    assert len(folded) <= len(tree)
    np.testing.assert_array_equal(np.isfinite(after), np.isfinite(before))
    finite = np.isfinite(before)
    np.testing.assert_allclose(after[finite], before[finite], rtol=1e-12)


def test_simplify_x_plus_x():
    tree = Individual([P("+"), x(0), x(0)])
    simpler = simplify_tree(tree, LANGUAGE)
    assert complexity(simpler, LANGUAGE) <= complexity(tree, LANGUAGE)
    X = sample_points(LANGUAGE)
    np.testing.assert_allclose(values(simpler, X), values(tree, X))


@pytest.mark.parametrize("nodes, expected", [
    (lambda: [P("-"), x(0), x(0)], "0.0"),
    (lambda: [P("/"), P("*"), x(0), x(1), x(1)], "x0"),
    (lambda: [P("+"), P("*"), Constant(2.0), x(0), P("*"), Constant(3.0), x(0)], "(5.0 * x0)"),
    (lambda: [P("log"), P("exp"), x(2)], "x2"),
    (lambda: [P("*"), P("+"), Constant(1.0), Constant(2.0), P("sin"), x(0)], "(3.0 * sin(x0))"),
])
def test_simplify_finds_the_short_form(nodes, expected):
    assert to_string(simplify_tree(Individual(nodes()), LANGUAGE), LANGUAGE) == expected


def test_simplify_keeps_a_tree_it_cannot_shorten():
    tree = Individual([P("+"), P("sin"), x(0), P("*"), x(1), x(2)])
    assert list(simplify_tree(tree, LANGUAGE)) == list(tree)


def test_simplify_returns_the_input_when_the_short_form_is_not_expressible():
    language = Language(OperatorSet.from_spec(("+", "-"), ("sin",)), 1)
    # sympy writes x + x as 2*x, which needs '*'.
    tree = Individual([language.primitive("+"), language.variable(0), language.variable(0)])
    assert list(simplify_tree(tree, language)) == list(tree)


def test_simplify_with_zero_timeout_still_answers():
    tree = Individual([P("+"), x(0), x(0)])
    result = simplify_tree(tree, LANGUAGE, timeout=0.0)
    assert complexity(result, LANGUAGE) <= complexity(tree, LANGUAGE)


@PROPERTY
@given(trees(LANGUAGE, max_size=16, constant_probability=0.4))
def test_simplify_never_grows_and_keeps_values(tree):
    simpler = simplify_tree(tree, LANGUAGE, rng=np.random.default_rng(1))
    assert complexity(simpler, LANGUAGE) <= complexity(tree, LANGUAGE)
    X = sample_points(LANGUAGE)
    before, after = evaluate_tree(tree, LANGUAGE, X), evaluate_tree(simpler, LANGUAGE, X)
    if np.isfinite(before).all():
        # Where the input is valid everywhere the two agree, up to rounding
        # that sympy's reordering moves and ill-conditioned points magnify.
        stable = stable_points(tree_to_sympy(tree, LANGUAGE), LANGUAGE, X)
        scale = np.maximum(1.0, np.abs(before[stable]))
        assert np.all(np.abs(after[stable] - before[stable]) <= 1e-6 * scale)


def test_evaluate_tree_matches_deap_compile():
    tree = Individual([P("+"), P("*"), Constant(1.5), x(0), P("sqrt"), x(1)])
    X = sample_points(LANGUAGE)
    np.testing.assert_array_equal(evaluate_tree(tree, LANGUAGE, X), values(tree, X))


def test_simplify_keeps_variables_apart_when_display_names_clash():
    # Display names win over internal ones: here "x1" is feature 0.
    language = Language(OperatorSet.from_spec(("+", "*"), ()), 2, ("x1", "x0"))
    first = language.variable(0)
    tree = Individual([language.primitive("+"), language.primitive("+"), first, first, first])
    simpler = simplify_tree(tree, language)
    assert to_string(simpler, language) == "(3.0 * x1)"
    assert simpler[2] is first


def test_inert_nodes_go():
    from hybridsr.expr import remove_inert_nodes
    rows = np.abs(sample_points(LANGUAGE)) + 0.1  # every variable positive
    cases = [
        ([P("+"), x(0), Constant(0.0)], "x0"),
        ([P("*"), Constant(1.0), P("-"), x(1), Constant(0.0)], "x1"),
        ([P("/"), P("+"), Constant(0.0), x(2), Constant(1.0)], "x2"),
        ([P("+"), P("exp"), P("*"), Constant(0.0), x(0), x(1)], "x1 + 1.0"),
        ([P("-"), x(1), P("/"), Constant(0.0), x(0)], "x1"),
        ([P("log"), P("exp"), P("*"), Constant(2.5), x(2)], "2.5*x2"),
        ([P("sqrt"), P("square"), P("-"), x(0), Constant(0.0)], "x0"),
    ]
    for nodes, expected in cases:
        assert str(tree_to_sympy(remove_inert_nodes(Individual(nodes), LANGUAGE, rows),
                                 LANGUAGE)) == expected
    # sqrt(t**2) is |t|: it stays where t is negative on some row.
    tree = Individual([P("sqrt"), P("square"), P("-"), x(0), Constant(1.0)])
    assert remove_inert_nodes(tree, LANGUAGE, rows - 1.0) == tree
    assert list(remove_inert_nodes(tree, LANGUAGE, rows + 1.0)) == [P("-"), x(0), Constant(1.0)]


@PROPERTY
@given(trees(LANGUAGE, max_size=20, constant_probability=0.5))
def test_removing_inert_nodes_keeps_values(tree):
    from hybridsr.expr import remove_inert_nodes
    # Constants of 0 and 1 in place of some, so that there is something to remove.
    nodes = [Constant(float(round(n.value) % 2)) if type(n) is Constant and abs(n.value) < 1.5
             else n for n in tree]
    tree = Individual(nodes)
    X = sample_points(LANGUAGE)
    pruned = remove_inert_nodes(tree, LANGUAGE, X)
    assert complexity(pruned, LANGUAGE) <= complexity(tree, LANGUAGE)
    before, after = values(tree, X), values(pruned, X)
    finite = np.isfinite(before)
    np.testing.assert_allclose(after[finite], before[finite], rtol=1e-9, atol=1e-12)
