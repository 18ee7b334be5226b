"""Random trees: exact sizes, reproducible draws, every operator reachable."""

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import trees

from hybridsr.expr import (Constant, Language, compile_tree, feasible_size, random_tree,
                           random_trees)
from hybridsr.operators import OperatorSet

MIXED = Language(OperatorSet.from_spec(("+", "-", "*", "/"), ("sin", "exp", "sqrt")), 3)
BINARY_ONLY = Language(OperatorSet.from_spec(("+", "*"), ()), 2)
UNARY_ONLY = Language(OperatorSet.from_spec((), ("sin", "neg")), 1)


@pytest.mark.parametrize("size", range(1, 41))
def test_exact_size_with_both_arities(size):
    tree = random_tree(MIXED, size, np.random.default_rng(size))
    assert len(tree) == size
    compile_tree(tree, MIXED)  # a well-formed prefix tree


@pytest.mark.parametrize("size", range(1, 21))
def test_binary_only_languages_round_down_to_odd_sizes(size):
    tree = random_tree(BINARY_ONLY, size, np.random.default_rng(size))
    assert len(tree) == feasible_size(BINARY_ONLY, size) == (size if size % 2 else size - 1)
    compile_tree(tree, BINARY_ONLY)


def test_unary_only_languages_grow_chains():
    tree = random_tree(UNARY_ONLY, 7, np.random.default_rng(0))
    assert len(tree) == 7 and all(node.arity == 1 for node in tree[:-1])


@pytest.mark.parametrize("size", [0, -3, 2.5])
def test_sizes_below_one_or_fractional_are_rejected(size):
    with pytest.raises(ValueError):
        random_tree(MIXED, size, np.random.default_rng(0))


def test_same_generator_state_gives_the_same_trees():
    first = random_trees(MIXED, [5, 9, 13], np.random.default_rng(42))
    second = random_trees(MIXED, [5, 9, 13], np.random.default_rng(42))
    assert [list(t) for t in first] == [list(t) for t in second]
    assert list(first[1]) != list(random_tree(MIXED, 9, np.random.default_rng(43)))


def test_constant_probability_bounds():
    rng = np.random.default_rng(1)
    leaves_without = [n for t in random_trees(MIXED, [15] * 20, rng, constant_probability=0.0)
                      for n in t if n.arity == 0]
    leaves_with = [n for t in random_trees(MIXED, [15] * 20, rng, constant_probability=1.0)
                   for n in t if n.arity == 0]
    assert not any(type(n) is Constant for n in leaves_without)
    assert all(type(n) is Constant for n in leaves_with)
    with pytest.raises(ValueError, match="constant_probability"):
        random_tree(MIXED, 3, rng, constant_probability=1.5)


def test_every_operator_and_variable_is_used():
    used = {node.name for tree in random_trees(MIXED, [11] * 200, np.random.default_rng(3))
            for node in tree}
    operators = {op.ident for op in MIXED.operator_set.operators}
    assert operators | {"x0", "x1", "x2"} <= used


def test_many_trees_are_cheap():
    # Benchmarks draw thousands of trees; this should take well under a second.
    batch = random_trees(MIXED, [25] * 2000, np.random.default_rng(4))
    assert sum(map(len, batch)) == 25 * 2000


@settings(max_examples=50, deadline=None)
@given(trees(MIXED, min_size=3, max_size=12))
def test_strategy_respects_its_bounds(tree):
    assert 3 <= len(tree) <= 12
