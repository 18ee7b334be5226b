"""Unit tests for hybridsr.gp: constraints, mutations, population, frequencies,
hall of fame, scoring and one island iteration.

Trees are tiny and hand-built where an exact answer is wanted; hypothesis
drives the mutation invariants over trees grown by ``random_tree``.
"""

import math
import pickle
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar
from strategies import trees

from hybridsr.config import SearchConfig
from hybridsr.engine.context import SearchContext
from hybridsr.evaluate import Evaluator
from hybridsr.evaluate.evaluator import Dataset
from hybridsr.expr import (Constant, Individual, Language, compile_tree, complexity, evaluate_tree,
                           random_tree)
from hybridsr.expr.traversal import subtree_end
from hybridsr.gp import (ComplexityFrequencies, Constraints, HallOfFame, Member, Population,
                         pareto_front)
from hybridsr.gp import mutations as mut
from hybridsr.gp.constraints import measure
from hybridsr.gp.island import new_island, run_island
from hybridsr.gp.scoring import Scorer, baseline_loss, loss_floor
from hybridsr.operators import OperatorSet

OPS = OperatorSet.from_spec(["+", "-", "*", "/"], ["sin", "cos"])
LANG = Language(OPS, 2)
# "^" for argument limits; weights for weighted complexities (no kernels are compiled for these).
POW_LANG = Language(OperatorSet.from_spec(["+", "-", "*", "/", "^"], ["sin", "cos"]), 2)
WEIGHTED_LANG = Language(OperatorSet.from_spec(["+", "-", "*", "/"], ["sin", "cos"],
                                               complexity_of_operators={"sin": 3, "/": 2},
                                               complexity_of_constants=2), 2)
BINARY_LANG = Language(OperatorSet.from_spec(["+", "*"], []), 2)


def build(language, *items):
    """A prefix tree from operator names, ``"x0"``-style variables and floats (constants)."""
    nodes = []
    for item in items:
        if isinstance(item, float):
            nodes.append(Constant(item))
        elif isinstance(item, str) and item.startswith("x") and item[1:].isdigit():
            nodes.append(language.variable(int(item[1:])))
        else:
            nodes.append(language.primitive(item))
    return Individual(nodes)


def assert_valid(tree, language=LANG):
    """A well-formed prefix tree of ``language``'s nodes (checked by hand and by compile_tree)."""
    open_slots = 1
    for node in tree:
        assert open_slots > 0, f"nodes after the tree is complete: {tree}"
        open_slots += node.arity - 1
        if node.arity:
            language.operator(node)  # raises KeyError for a foreign operator
        elif type(node) is not Constant:
            language.variable_index(node)
    assert open_slots == 0, f"operators lack arguments: {list(tree)}"
    compile_tree(tree, language)


def key(node):
    return ("const", node.value) if type(node) is Constant else node.name


def snapshot(tree):
    return [key(node) for node in tree]


def n_operators(tree):
    return sum(node.arity > 0 for node in tree)


def member(complexity_, cost, birth=0, loss=None, tree=None):
    tree = tree if tree is not None else build(LANG, "x0")
    return Member(tree, cost if loss is None else loss, cost, complexity_, birth)


# ---------------------------------------------------------------------------
# constraints.py
# ---------------------------------------------------------------------------

def test_maxsize_counts_operator_constant_and_variable_weights():
    tree = build(WEIGHTED_LANG, "/", "sin", "x0", "+", "x1", 1.5)  # sin(x0) / (x1 + 1.5)
    expected = 2 + 3 + 1 + 1 + 1 + 2
    assert complexity(tree, WEIGHTED_LANG) == expected
    assert Constraints.from_options(WEIGHTED_LANG, expected).complexity(tree) == expected
    assert Constraints.from_options(WEIGHTED_LANG, expected).allows(tree)
    assert not Constraints.from_options(WEIGHTED_LANG, expected - 1).allows(tree)
    # The same tree has complexity = node count with unit weights.
    unit = build(LANG, "/", "sin", "x0", "+", "x1", 1.5)
    assert Constraints.from_options(LANG, 6).allows(unit)
    assert not Constraints.from_options(LANG, 5).allows(unit)


def test_maxdepth():
    tree = build(LANG, "+", "sin", "cos", "x0", "x1")  # depth 4
    assert Constraints.from_options(LANG, 20, 4).allows(tree)
    assert not Constraints.from_options(LANG, 20, 3).allows(tree)
    assert Constraints.from_options(LANG, 20, None).allows(tree)


def test_argument_limits_of_a_binary_operator():
    c = Constraints.from_options(POW_LANG, 20, constraints={"^": (-1, 1)})
    assert c.argument_limits == (("pow", (-1.0, 1.0)),)
    assert c.allows(build(POW_LANG, "^", "+", "x0", "x1", "x0"))  # (x0 + x1) ^ x0
    assert c.allows(build(POW_LANG, "^", "x0", 2.0))
    assert not c.allows(build(POW_LANG, "^", "x0", "+", "x1", "x0"))  # x0 ^ (x1 + x0)
    # Nested: the limit applies to every "^" in the tree.
    assert not c.allows(build(POW_LANG, "sin", "+", "x0", "^", "x1", "sin", "x0"))


def test_argument_limit_of_a_unary_operator_uses_weights():
    c = Constraints.from_options(LANG, 20, constraints={"sin": 3})
    assert c.argument_limits == (("sin", (3.0,)),)
    assert c.allows(build(LANG, "sin", "+", "x0", "x1"))
    assert not c.allows(build(LANG, "sin", "+", "x0", "*", "x1", "x0"))
    weighted = Constraints.from_options(WEIGHTED_LANG, 20, constraints={"sin": 3})
    assert not weighted.allows(build(WEIGHTED_LANG, "sin", "+", "x0", 1.0))  # 1 + 1 + 2 = 4
    assert weighted.allows(build(WEIGHTED_LANG, "sin", "+", "x0", "x1"))


def test_unlimited_arguments_and_aliases():
    c = Constraints.from_options(POW_LANG, 20, constraints={"pow": [-1, -1], "sin": -1})
    assert c.allows(build(POW_LANG, "^", "sin", "+", "x0", "x1", "+", "x1", "x0"))


def test_nested_limit_zero_forbids_nesting_at_any_depth():
    c = Constraints.from_options(LANG, 30, nested_constraints={"sin": {"sin": 0}})
    assert c.nesting_limits == (("sin", "sin", 0),)
    assert not c.allows(build(LANG, "sin", "sin", "x0"))
    assert not c.allows(build(LANG, "sin", "+", "x0", "cos", "*", "x1", "sin", "x0"))
    assert c.allows(build(LANG, "+", "sin", "x0", "sin", "x1"))  # siblings, not nested
    assert c.allows(build(LANG, "cos", "sin", "cos", "x0"))
    assert c.allows(build(LANG, "sin", "x0"))


def test_nested_limit_counts_along_one_path():
    c = Constraints.from_options(LANG, 30, nested_constraints={"sin": {"cos": 1}})
    assert c.allows(build(LANG, "sin", "cos", "x0"))
    assert c.allows(build(LANG, "sin", "+", "cos", "x0", "cos", "x1"))  # one cos per path
    assert not c.allows(build(LANG, "sin", "cos", "cos", "x0"))
    assert not c.allows(build(LANG, "sin", "+", "x0", "cos", "*", "x1", "cos", "x0"))
    assert c.allows(build(LANG, "cos", "cos", "sin", "x0"))  # cos outside sin is free
    # The inner sin is fine; the outer one sees two cos below it.
    assert not c.allows(build(LANG, "sin", "cos", "sin", "cos", "x0"))


def test_nested_limit_minus_one_means_no_limit():
    c = Constraints.from_options(LANG, 30, nested_constraints={"sin": {"sin": -1, "cos": 0}})
    assert c.nesting_limits == (("sin", "cos", 0),)
    assert c.allows(build(LANG, "sin", "sin", "sin", "x0"))
    assert not c.allows(build(LANG, "sin", "cos", "x0"))


@pytest.mark.parametrize("kwargs, where, hint", [
    ({"constraints": {"sinn": 3}}, "constraints names operator 'sinn'", "Did you mean 'sin'?"),
    ({"nested_constraints": {"coss": {"sin": 0}}}, "nested_constraints names operator 'coss'",
     "Did you mean 'cos'?"),
    ({"nested_constraints": {"sin": {"cso": 0}}}, "nested_constraints['sin'] names operator 'cso'",
     "Did you mean 'cos'?"),
])
def test_unknown_operator_names_are_listed_with_a_suggestion(kwargs, where, hint):
    with pytest.raises(ValueError) as info:
        Constraints.from_options(LANG, 20, **kwargs)
    message = str(info.value)
    assert where in message and hint in message
    assert "['+', '-', '*', '/', 'sin', 'cos']" in message


@pytest.mark.parametrize("constraints, shape", [
    ({"^": (1,)}, "a pair such as (-1, 1)"),
    ({"^": (1, 2, 3)}, "a pair such as (-1, 1)"),
    ({"^": (1, "a")}, "a pair such as (-1, 1)"),
    ({"^": (-2, 1)}, "a pair such as (-1, 1)"),
    ({"sin": (1, 2)}, "a number"),
    ({"sin": -3}, "a number"),
    ({"sin": True}, "a number"),
    ({"sin": None}, "a number"),
])
def test_wrong_argument_limit_shapes(constraints, shape):
    with pytest.raises(ValueError, match="must be " + shape.replace("(", r"\(").replace(")", r"\)")):
        Constraints.from_options(POW_LANG, 20, constraints=constraints)


def test_bare_number_for_binary_argument_limit_is_a_value_error():
    with pytest.raises(ValueError, match="a pair such as"):
        Constraints.from_options(POW_LANG, 20, constraints={"^": 3})


@pytest.mark.parametrize("nested, message", [
    ({"sin": 0}, r"nested_constraints\['sin'\] must be a dict"),
    ({"sin": {"cos": -2}}, r"must be an integer >= 0"),
    ({"sin": {"cos": 1.5}}, r"must be an integer >= 0"),
    ({"sin": {"cos": True}}, r"must be an integer >= 0"),
])
def test_wrong_nested_limit_shapes(nested, message):
    with pytest.raises(ValueError, match=message):
        Constraints.from_options(LANG, 20, nested_constraints=nested)


def test_measure_sizes_and_depths_of_every_subtree():
    tree = build(LANG, "*", "+", "x0", 1.5, "sin", "x1")  # (x0 + 1.5) * sin(x1)
    c = Constraints.from_options(LANG, 20)
    assert c.measure(tree) == ([6.0, 3.0, 1.0, 1.0, 2.0, 1.0], [3, 2, 1, 1, 2, 1])
    weighted = Constraints.from_options(WEIGHTED_LANG, 20)
    tree_w = build(WEIGHTED_LANG, "*", "+", "x0", 1.5, "sin", "x1")
    assert weighted.measure(tree_w) == ([9.0, 4.0, 1.0, 2.0, 4.0, 1.0], [3, 2, 1, 1, 2, 1])
    assert measure(tree_w, {"mul": 1.0, "add": 1.0, "sin": 3.0}, 2.0, 1.0) == weighted.measure(tree_w)
    assert measure(build(LANG, "x0"), {}) == ([1.0], [1])


def test_constraints_pickle_round_trip():
    c = Constraints.from_options(POW_LANG, 12, 5, {"^": (-1, 1)}, {"sin": {"sin": 0}})
    clone = pickle.loads(pickle.dumps(c))
    assert clone == c
    assert not clone.allows(build(POW_LANG, "sin", "sin", "x0"))


# ---------------------------------------------------------------------------
# mutations.py
# ---------------------------------------------------------------------------

TABLES = mut.NodeTables(LANG)
SEEDS = st.integers(0, 2**32 - 1)


def test_node_tables_group_the_language():
    assert [p.name for p in TABLES.unary] == ["sin", "cos"]
    assert [p.name for p in TABLES.binary] == ["add", "sub", "mul", "div"]
    assert len(TABLES.variables) == 2
    assert mut.NodeTables(BINARY_LANG).random_operator(np.random.default_rng(0), 1) is None
    assert pickle.loads(pickle.dumps(TABLES)).language == LANG


@given(trees(LANG, constant_probability=0.5), SEEDS, st.floats(0.0, 1.0))
def test_mutate_constant(tree, seed, temperature):
    before = snapshot(tree)
    child = mut.mutate_constant(tree, temperature, np.random.default_rng(seed), probability_negate=0.0)
    assert snapshot(tree) == before
    if not any(type(node) is Constant for node in tree):
        assert child is None
        return
    assert_valid(child)
    changed = [i for i, (a, b) in enumerate(zip(tree, child)) if key(a) != key(b)]
    assert len(child) == len(tree) and len(changed) <= 1
    for i in changed:
        assert type(tree[i]) is Constant and type(child[i]) is Constant
        ratio = child[i].value / tree[i].value
        max_change = 0.076 * temperature + 1.1
        assert 1 / max_change - 1e-12 <= ratio <= max_change + 1e-12


def test_mutate_constant_never_writes_an_infinite_constant():
    tree = build(LANG, "*", 1.7e308, "x0")
    children = [mut.mutate_constant(tree, 1.0, np.random.default_rng(s)) for s in range(40)]
    assert any(c is None for c in children) and any(c is not None for c in children)
    assert all(math.isfinite(c[1].value) for c in children if c is not None)


def test_mutate_constant_negates_and_is_deterministic():
    tree = build(LANG, "+", "x0", 2.0)
    child = mut.mutate_constant(tree, 1.0, np.random.default_rng(3), probability_negate=1.0)
    assert child[2].value < 0 and tree[2].value == 2.0
    again = mut.mutate_constant(tree, 1.0, np.random.default_rng(3), probability_negate=1.0)
    assert snapshot(again) == snapshot(child)
    assert mut.mutate_constant(build(LANG, "sin", "x0"), 1.0, np.random.default_rng(0)) is None


@given(trees(LANG), SEEDS)
def test_mutate_operator(tree, seed):
    before = snapshot(tree)
    child = mut.mutate_operator(tree, TABLES, np.random.default_rng(seed))
    assert snapshot(tree) == before
    if n_operators(tree) == 0:
        assert child is None
        return
    assert_valid(child)
    assert len(child) == len(tree)
    changed = [i for i, (a, b) in enumerate(zip(tree, child)) if key(a) != key(b)]
    assert len(changed) <= 1
    for i in changed:
        assert tree[i].arity == child[i].arity > 0


@given(trees(LANG), SEEDS)
def test_swap_operands(tree, seed):
    before = snapshot(tree)
    child = mut.swap_operands(tree, np.random.default_rng(seed))
    assert snapshot(tree) == before
    if not any(node.arity == 2 for node in tree):
        assert child is None
        return
    assert_valid(child)
    assert Counter(snapshot(child)) == Counter(before)
    # Swapping back the same operator restores the tree: a second swap with the same seed does.
    assert snapshot(mut.swap_operands(child, np.random.default_rng(seed))) == before


def test_swap_operands_swaps_the_arguments():
    tree = build(LANG, "-", "x0", "sin", "x1")  # x0 - sin(x1)
    child = mut.swap_operands(tree, np.random.default_rng(0))
    assert snapshot(child) == snapshot(build(LANG, "-", "sin", "x1", "x0"))
    assert mut.swap_operands(build(LANG, "cos", "x0"), np.random.default_rng(0)) is None


@given(trees(LANG), SEEDS)
def test_add_node_grows_by_one_operator_and_its_leaves(tree, seed):
    before = snapshot(tree)
    child = mut.add_node(tree, TABLES, np.random.default_rng(seed))
    assert snapshot(tree) == before
    assert_valid(child)
    assert n_operators(child) == n_operators(tree) + 1
    assert len(child) - len(tree) in (1, 2)
    # Every old node except at most one leaf (the one expanded) is still there.
    missing = Counter(before) - Counter(snapshot(child))
    assert sum(missing.values()) <= 1


@given(trees(LANG), SEEDS)
def test_insert_node_keeps_every_node(tree, seed):
    before = snapshot(tree)
    child = mut.insert_node(tree, TABLES, np.random.default_rng(seed))
    assert snapshot(tree) == before
    assert_valid(child)
    assert n_operators(child) == n_operators(tree) + 1
    added = Counter(snapshot(child)) - Counter(before)
    assert sum(added.values()) == len(child) - len(tree) in (1, 2)
    assert not Counter(before) - Counter(snapshot(child))


@given(trees(LANG), SEEDS)
def test_delete_node_shrinks(tree, seed):
    before = snapshot(tree)
    child = mut.delete_node(tree, np.random.default_rng(seed))
    assert snapshot(tree) == before
    if n_operators(tree) == 0:
        assert child is None
        return
    assert_valid(child)
    assert len(child) < len(tree) and n_operators(child) < n_operators(tree)
    assert not Counter(snapshot(child)) - Counter(before)


def test_delete_node_keeps_one_argument():
    tree = build(LANG, "+", "x0", "sin", "x1")
    results = {tuple(snapshot(mut.delete_node(tree, np.random.default_rng(s)))) for s in range(40)}
    assert results == {("x0",), ("sin", "x1"), ("add", "x0", "x1")}


@given(st.integers(1, 12), SEEDS)
def test_randomize(maxsize, seed):
    tree = mut.randomize(TABLES, maxsize, np.random.default_rng(seed))
    assert_valid(tree)
    assert 1 <= len(tree) <= maxsize


@given(trees(LANG), trees(LANG), SEEDS)
def test_crossover_conserves_nodes(first, second, seed):
    before = snapshot(first), snapshot(second)
    a, b = mut.crossover(first, second, np.random.default_rng(seed))
    assert (snapshot(first), snapshot(second)) == before
    assert_valid(a)
    assert_valid(b)
    assert len(a) + len(b) == len(first) + len(second)
    assert Counter(snapshot(a)) + Counter(snapshot(b)) == Counter(before[0]) + Counter(before[1])


def test_crossover_of_leaves_swaps_them():
    a, b = mut.crossover(build(LANG, "x0"), build(LANG, 2.0), np.random.default_rng(0))
    assert snapshot(a) == [("const", 2.0)] and snapshot(b) == ["x0"]


WRAP_LANG = Language(OperatorSet.from_spec(["+", "-", "*", "/"], ["exp", "log", "square", "sqrt"]), 2)


def wrap_layout(tree, child, tables):
    """``(i, shape, c)`` of a :func:`mut.wrap_inverse_pair` child: it is
    ``tree[:i] + before + t + after + tree[end:]``, ``t = tree[i:end]``, with the
    shape's fresh-constant slots holding the constant ``c``."""
    for i in range(len(tree)):
        end = subtree_end(tree, i)
        for before, after in tables.wrap_shapes:
            if len(child) != len(tree) + len(before) + len(after):
                continue
            slots = [k for k, node in enumerate(before) if node is mut._FRESH] + [
                len(before) + end - i + k for k, node in enumerate(after) if node is mut._FRESH]
            c = child[i + slots[0]]
            fill = [c if node is mut._FRESH else node for node in before], [
                c if node is mut._FRESH else node for node in after]
            if snapshot(child) == snapshot(tree[:i] + fill[0] + tree[i:end] + fill[1] + tree[end:]):
                return i, (before, after), c.value
    raise AssertionError(f"not a wrapped copy of its parent: {snapshot(child)}")


@given(trees(WRAP_LANG), SEEDS)
def test_wrap_inverse_pair_starts_at_its_parent(tree, seed):
    """A shape around one subtree ``t``: every old node kept, ``c`` small, and as ``c``
    goes to 0 the wrapped subtree computes ``t`` (``|t|`` for ``sqrt(t**2)``) wherever
    defined."""
    tables = mut.NodeTables(WRAP_LANG)
    before = snapshot(tree)
    child = mut.wrap_inverse_pair(tree, tables, np.random.default_rng(seed))
    assert snapshot(tree) == before
    assert_valid(child, WRAP_LANG)
    assert not Counter(before) - Counter(snapshot(child))
    i, (head, tail), c = wrap_layout(tree, child, tables)
    assert abs(c) < 1.0
    end = subtree_end(tree, i)
    # (exp(c*t) - 1)/c is t only in the limit; the other shapes are t at c = 0 exactly.
    limit = 1e-9 if head[0].name == "div" and head[1].name == "sub" else 0.0
    wrapped = Individual([Constant(limit) if node is mut._FRESH else node for node in head] + tree[i:end]
                         + [Constant(limit) if node is mut._FRESH else node for node in tail])
    X = np.random.default_rng(seed).uniform(0.5, 2.0, (20, 2))
    with np.errstate(all="ignore"):
        old = evaluate_tree(Individual(tree[i:end]), WRAP_LANG, X)
        new = evaluate_tree(wrapped, WRAP_LANG, X)
    expected = np.abs(old) if head[0].name == "sqrt" else old
    both = np.isfinite(old) & np.isfinite(new) & (np.abs(old) < 1e100) & (np.abs(old) > 1e-100)
    if limit:
        both &= np.abs(old) < 10.0
    np.testing.assert_allclose(new[both], expected[both], rtol=1e-6, atol=1e-6 if limit else 1e-9)


def test_wrap_inverse_pair_writes_each_shape_the_language_has():
    shapes = {tuple(snapshot(mut.wrap_inverse_pair(build(WRAP_LANG, "x0"), mut.NodeTables(WRAP_LANG),
                                                   np.random.default_rng(s)))[:3])
              for s in range(80)}
    assert {s[:1] for s in shapes} == {("log",), ("sqrt",), ("div",)}
    assert ("log", "add", "exp") in shapes and ("sqrt", "add", "square") in shapes
    assert ("div", "sub", "exp") in shapes and ("div", ("const", 1.0), "add") in shapes
    with_inv = Language(OperatorSet.from_spec(["+", "/"], ["inv"]), 1)
    child = mut.wrap_inverse_pair(build(with_inv, "x0"), mut.NodeTables(with_inv), np.random.default_rng(0))
    assert snapshot(child)[:4] == ["inv", "add", "inv", "x0"]
    # The Bose-Einstein shape needs no "+": exp, -, * and / write it.
    expm1 = Language(OperatorSet.from_spec(["-", "*", "/"], ["exp"]), 1)
    child = mut.wrap_inverse_pair(build(expm1, "x0"), mut.NodeTables(expm1), np.random.default_rng(0))
    layout = snapshot(child)
    assert layout[:4] == ["div", "sub", "exp", "mul"] and layout[5] == "x0"
    assert layout[4] == layout[7] and layout[6] == ("const", 1.0)
    # Without any of these shapes it cannot apply, and the island never draws it.
    no_add = Language(OperatorSet.from_spec(["*", "-"], ["sin"]), 1)
    assert mut.NodeTables(no_add).wrap_shapes == ()
    assert mut.wrap_inverse_pair(build(no_add, "x0"), mut.NodeTables(no_add), np.random.default_rng(0)) is None


@pytest.mark.parametrize("operation", [
    lambda t, rng: mut.mutate_constant(t, 0.5, rng),
    lambda t, rng: mut.mutate_operator(t, TABLES, rng),
    lambda t, rng: mut.swap_operands(t, rng),
    lambda t, rng: mut.add_node(t, TABLES, rng),
    lambda t, rng: mut.insert_node(t, TABLES, rng),
    lambda t, rng: mut.delete_node(t, rng),
    lambda t, rng: mut.randomize(TABLES, 10, rng),
    lambda t, rng: mut.wrap_inverse_pair(t, TABLES, rng),
    lambda t, rng: mut.crossover(t, random_tree(LANG, 7, np.random.default_rng(1)), rng)[0],
], ids=["mutate_constant", "mutate_operator", "swap_operands", "add_node", "insert_node",
        "delete_node", "randomize", "wrap_inverse_pair", "crossover"])
def test_mutations_are_deterministic_given_the_seed(operation):
    tree = random_tree(LANG, 11, np.random.default_rng(0), constant_probability=0.5)
    assert any(type(n) is Constant for n in tree) and any(n.arity == 2 for n in tree)
    results = [[snapshot(operation(tree, np.random.default_rng(seed))) for seed in range(8)]
               for _ in range(2)]
    assert results[0] == results[1]
    assert len({tuple(r) for r in results[0]}) > 1  # the seed matters


# ---------------------------------------------------------------------------
# population.py
# ---------------------------------------------------------------------------

def ranked_population(n=20, seed=0):
    """Members with distinct costs in a shuffled order; rank[i] = position of member i by cost."""
    costs = np.random.default_rng(seed).permutation(n).astype(float) + 1.0
    pop = Population([member(float(i % 5 + 1), c, birth=i) for i, c in enumerate(costs)])
    return pop, np.argsort(np.argsort(costs))


def test_tournament_p1_full_size_returns_global_best():
    pop, rank = ranked_population()
    rng = np.random.default_rng(1)
    for _ in range(50):
        assert rank[pop.tournament(rng, len(pop), 1.0)] == 0


def test_tournament_p1_returns_the_best_of_its_sample():
    # With p = 1 the winner is the best of `size` distinct members, so it is never among
    # the size - 1 worst, and it is the k-th best with probability C(n-1-k, s-1) / C(n, s).
    n, size, draws = 20, 5, 4000
    pop, rank = ranked_population(n)
    rng = np.random.default_rng(2)
    counts = np.bincount([rank[pop.tournament(rng, size, 1.0)] for _ in range(draws)], minlength=n)
    assert counts[n - size + 1:].sum() == 0
    expected = np.array([math.comb(n - 1 - k, size - 1) for k in range(n)]) / math.comb(n, size)
    assert np.allclose(counts / draws, expected, atol=0.03)


def test_tournament_p09_best_wins_about_90_percent():
    pop, rank = ranked_population()
    rng = np.random.default_rng(3)
    draws = 3000
    ranks = np.array([rank[pop.tournament(rng, len(pop), 0.9)] for _ in range(draws)])
    assert abs(np.mean(ranks == 0) - 0.9) < 0.03
    assert abs(np.mean(ranks == 1) - 0.09) < 0.02
    # With a sample of 5 of 20, the global best is drawn 1/4 of the time and then wins 90%.
    small = np.array([rank[pop.tournament(rng, 5, 0.9)] for _ in range(draws)])
    assert abs(np.mean(small == 0) - 0.225) < 0.03


def test_tournament_cost_scale_changes_the_winner():
    pop = Population([member(1.0, 1.0), member(5.0, 1.1), member(3.0, 1.2)])
    rng = np.random.default_rng(0)
    assert pop.tournament(rng, 3, 1.0) == 0
    scale = np.ones(6)
    scale[1] = 10.0  # complexity 1 is crowded
    assert pop.tournament(rng, 3, 1.0, scale) == 1
    short = np.array([1.0, 10.0, 1.0, 0.1])  # complexity 5 is clipped to the last bin
    assert pop.tournament(rng, 3, 1.0, short) == 1
    assert pop.tournament(rng, 3, 1.0, np.array([1.0, 10.0, 1.0, 0.5, 1.0])) == 2


def test_tournament_is_deterministic_given_the_seed():
    pop, _ = ranked_population()
    rng_a, rng_b = np.random.default_rng(8), np.random.default_rng(8)
    assert ([pop.tournament(rng_a, 5, 0.9) for _ in range(30)]
            == [pop.tournament(rng_b, 5, 0.9) for _ in range(30)])


def test_replace_keeps_arrays_in_step_and_oldest():
    pop = Population([member(1.0, 0.5, birth=4), member(2.4, 0.7, birth=2), member(3.0, 0.1, birth=9)])
    assert list(pop.size_classes) == [1, 2, 3]
    assert pop.oldest().tolist() == [1]
    assert pop.oldest(2).tolist() == [1, 0]
    new = member(6.6, 0.05, birth=1)
    pop.replace(2, new)
    assert pop.members[2] is new
    assert pop.costs.tolist() == [m.cost for m in pop.members]
    assert pop.size_classes.tolist() == [m.size_class for m in pop.members] == [1, 2, 7]
    assert pop.births.tolist() == [m.birth for m in pop.members] == [4, 2, 1]
    assert pop.oldest().tolist() == [2]
    assert pop.oldest(3).tolist() == [2, 1, 0]
    clone = pickle.loads(pickle.dumps(pop))
    assert clone.costs.tolist() == pop.costs.tolist() and len(clone) == 3


def test_best_per_complexity_skips_infinite_losses():
    a, b, c = member(2.0, 0.5), member(2.0, 0.3), member(3.0, math.inf)
    assert Population([a, b, c]).best_per_complexity() == {2: b}


# ---------------------------------------------------------------------------
# frequencies.py
# ---------------------------------------------------------------------------

def test_frequencies_add_and_clip():
    f = ComplexityFrequencies(5)
    assert f.counts.tolist() == [0, 1, 1, 1, 1, 1]
    f.add(3)
    f.add(40)  # clipped to the last bin
    f.add(0, 2.0)  # below 1: first bin
    assert f.counts.tolist() == [0, 3, 1, 2, 1, 2]
    assert f.frequency(3) == pytest.approx(2 / 9)
    assert f.frequency(99) == pytest.approx(2 / 9)


def test_frequencies_normalized_and_cost_scale():
    f = ComplexityFrequencies(4)
    f.add(2, 5.0)
    norm = f.normalized()
    assert norm.sum() == pytest.approx(1.0) and norm[0] == 0.0
    assert norm[2] == pytest.approx(6 / 9)
    assert np.allclose(f.cost_scale(20.0), np.exp(20.0 * norm))
    assert np.allclose(f.cost_scale(0.0), 1.0)
    f.add(1)  # adding invalidates the cached normalisation
    assert f.normalized()[1] == pytest.approx(2 / 10)


@given(st.lists(st.floats(0.0, 500.0), min_size=5, max_size=5), st.floats(5.0, 1000.0))
def test_merge_moves_the_window(added, window):
    f = ComplexityFrequencies(5, window_size=window)
    f.merge(np.array([0.0] + added))
    assert f.counts.sum() <= window * (1 + 1e-9) + 1e-9
    assert np.all(f.counts[1:] >= 1.0 - 1e-12) and f.counts[0] == 0.0
    assert f.normalized().sum() == pytest.approx(1.0)


def test_move_window_keeps_the_shape_of_the_excess():
    f = ComplexityFrequencies(3, window_size=13.0, counts=[0, 1, 11, 21])
    f.move_window()
    assert f.counts.tolist() == pytest.approx([0, 1, 1 + 10 / 3, 1 + 20 / 3])
    assert f.counts.sum() == pytest.approx(13.0)
    small = ComplexityFrequencies(3, window_size=100.0, counts=[0, 5, 5, 5])
    small.move_window()
    assert small.counts.tolist() == [0, 5, 5, 5]  # under the window: unchanged


def test_frequencies_copy_and_pickle_are_independent():
    f = ComplexityFrequencies(4, window_size=50.0)
    g = f.copy()
    g.add(2)
    assert f.counts[2] == 1.0 and g.counts[2] == 2.0
    h = pickle.loads(pickle.dumps(g))
    assert h.counts.tolist() == g.counts.tolist() and h.window_size == 50.0


# ---------------------------------------------------------------------------
# hall_of_fame.py
# ---------------------------------------------------------------------------

def test_hall_of_fame_consider_keeps_the_best_per_complexity():
    hof = HallOfFame()
    first = member(3.0, 0.5)
    assert hof.consider(first)
    assert not hof.consider(member(3.0, 0.5))  # ties: the first found stays
    assert not hof.consider(member(3.2, 0.9))
    better = member(2.8, 0.2)
    assert hof.consider(better)
    assert len(hof) == 1 and hof.entries[3].loss == 0.2
    assert hof.entries[3] is not better  # a copy
    better.loss = 100.0
    assert hof.entries[3].loss == 0.2
    assert not hof.consider(member(1.0, math.inf))
    assert not hof.consider(member(1.0, math.nan))
    assert len(hof) == 1


def test_hall_of_fame_update_members_and_front():
    hof = HallOfFame()
    hof.update([member(5.0, 0.1), member(1.0, 2.0), member(3.0, 0.5), member(4.0, 0.7),
                member(2.0, 2.0), member(6.0, math.inf)])
    assert [m.complexity for m in hof.members()] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [(m.complexity, m.loss) for m in hof.front()] == [(1.0, 2.0), (3.0, 0.5), (5.0, 0.1)]
    clone = pickle.loads(pickle.dumps(hof))
    assert [m.loss for m in clone.members()] == [m.loss for m in hof.members()]


@given(st.lists(st.tuples(st.integers(1, 10), st.sampled_from([0.1, 0.5, 1.0, 2.0, math.inf])),
                max_size=15))
def test_pareto_front_is_strictly_decreasing(pairs):
    members = [member(float(c), loss) for c, loss in pairs]
    front = pareto_front(members)
    assert all(m.loss < math.inf for m in front)
    for a, b in zip(front, front[1:]):
        assert a.complexity < b.complexity and a.loss > b.loss
    # Nothing left out is better than the front at its complexity or below.
    for m in members:
        if m.loss < math.inf:
            assert any(f.complexity <= m.complexity and f.loss <= m.loss for f in front)


# ---------------------------------------------------------------------------
# scoring.py
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def data():
    X = np.random.default_rng(0).uniform(-2.0, 2.0, (30, 2))
    return Dataset.from_arrays(X, 2.0 * X[:, 0] + 1.0)


@pytest.fixture(scope="module")
def evaluator():
    return Evaluator(OPS)


def make_scorer(evaluator, data, parsimony=0.01, normalization=4.0, batch_size=None):
    return Scorer(LANG, evaluator, data, Constraints.from_options(LANG, 20), parsimony,
                  normalization, batch_size)


def test_loss_floor():
    d = Dataset.from_arrays(np.zeros((2, 1)), [3.0, 4.0])
    rms = math.sqrt(12.5)
    assert loss_floor(d, "mae") == pytest.approx(1e-14 * rms)
    assert loss_floor(d, "mse") == pytest.approx((1e-14 * rms) ** 2)


def best_constant_loss(y, w, loss):
    w = np.ones_like(y) if w is None else np.asarray(w, dtype=float)

    def objective(c):
        r = np.abs(y - c)
        e = {"mse": r * r, "mae": r, "huber": np.where(r <= 1.0, 0.5 * r * r, r - 0.5)}[loss]
        return float(np.average(e, weights=w))

    return minimize_scalar(objective, bounds=(y.min(), y.max()), method="bounded",
                           options={"xatol": 1e-10}).fun


@pytest.mark.parametrize("loss, weighted", [("mse", False), ("mse", True), ("mae", False)])
def test_baseline_loss_is_the_best_constant_loss(loss, weighted):
    y = np.array([0.0, 1.0, 2.0, 7.0, 3.5])
    w = np.array([1.0, 2.0, 0.5, 1.0, 3.0]) if weighted else None
    d = Dataset.from_arrays(np.zeros((5, 1)), y, w)
    assert baseline_loss(d, loss) == pytest.approx(best_constant_loss(y, w, loss), rel=1e-6)
    if loss == "mse":
        mean = np.average(y, weights=w)
        assert baseline_loss(d, loss) == pytest.approx(np.average((y - mean) ** 2, weights=w))


def test_baseline_loss_mae_uses_the_weighted_median():
    y, w = np.array([0.0, 0.0, 10.0]), np.array([1.0, 1.0, 100.0])
    d = Dataset.from_arrays(np.zeros((3, 1)), y, w)
    assert baseline_loss(d, "mae") == pytest.approx(best_constant_loss(y, w, "mae"), rel=1e-6)


def test_baseline_loss_huber_is_a_huber_loss():
    y = np.array([0.0, 0.01, 0.02, 0.05])
    d = Dataset.from_arrays(np.zeros((4, 1)), y)
    assert baseline_loss(d, "huber") == pytest.approx(best_constant_loss(y, None, "huber"), rel=1e-3)


def test_scorer_cost_normalisation(evaluator, data):
    scorer = make_scorer(evaluator, data, parsimony=0.01, normalization=4.0)
    assert scorer.cost(2.0, 5.0) == pytest.approx(2.0 / 4.0 + 0.05)
    assert scorer.cost(math.inf, 5.0) == math.inf
    for bad in (0.0, -1.0, math.nan, math.inf):
        assert make_scorer(evaluator, data, normalization=bad).normalization == 1.0


def test_scorer_member_clamps_and_counts(evaluator, data):
    scorer = make_scorer(evaluator, data)
    exact = build(LANG, "+", "*", 2.0, "x0", 1.0)
    m = scorer.evaluate(exact, birth=7)
    assert scorer.n_evals == 1
    assert m.loss == scorer.floor > 0 and m.birth == 7 and m.complexity == 5.0
    assert m.cost == pytest.approx(scorer.floor / 4.0 + 0.05)
    off = scorer.evaluate(build(LANG, "x0"), 0)
    assert off.loss == pytest.approx(np.mean((data.Xt[0] - data.y) ** 2))
    nan = scorer.member(exact, math.nan, 0)
    assert nan.loss == math.inf and nan.cost == math.inf
    assert scorer.n_evals == 2


def test_scorer_optimize_fits_constants(evaluator, data):
    scorer = make_scorer(evaluator, data)
    start = scorer.evaluate(build(LANG, "+", "*", 1.0, "x0", 0.0), 3)
    fitted = scorer.optimize(start, np.random.default_rng(0), data, algorithm="lm", n_restarts=0,
                             max_iterations=20)
    assert fitted.loss < start.loss and fitted.birth == 3 and scorer.n_evals > 1
    leaf = scorer.evaluate(build(LANG, "x0"), 0)
    assert scorer.optimize(leaf, np.random.default_rng(0), data, algorithm="lm", n_restarts=0,
                           max_iterations=5) is leaf


def test_scorer_batching(evaluator):
    X = np.arange(60.0).reshape(30, 2)
    d = Dataset.from_arrays(X, X[:, 0], weights=np.arange(1.0, 31.0))
    scorer = make_scorer(evaluator, d, batch_size=7)
    assert scorer.batching
    batch = scorer.sample(np.random.default_rng(0))
    assert batch.n_rows == 7 and batch.y.shape == (7,) and batch.weights.shape == (7,)
    rows = (batch.Xt[0] / 2).astype(int)  # row index of each sampled row
    assert np.array_equal(batch.y, d.y[rows]) and np.array_equal(batch.weights, d.weights[rows])
    again = scorer.sample(np.random.default_rng(0))
    assert np.array_equal(again.Xt, batch.Xt)
    for size in (None, 30, 100):
        full = make_scorer(evaluator, d, batch_size=size)
        assert not full.batching and full.sample(np.random.default_rng(0)) is d


def test_search_context_builds_a_normalised_scorer(data):
    config = SearchConfig(populations=1, population_size=20, tournament_selection_n=5,
                          batching=True, batch_size=10)
    scorer, tables = SearchContext(data, LANG, config).helpers()
    assert scorer.normalization == pytest.approx(baseline_loss(data, "mse"))
    assert scorer.parsimony == config.parsimony and scorer.batch_size == 10
    assert tables.language == LANG


def test_automatic_batching_follows_the_data_size():
    from hybridsr.config import AUTO_BATCHING_ROWS

    config = SearchConfig(batch_size=64)
    assert config.batching == "auto"
    assert config.batch_rows(AUTO_BATCHING_ROWS) is None
    assert config.batch_rows(AUTO_BATCHING_ROWS + 1) == 64
    assert config.replace(batching=True).batch_rows(10) == 64
    assert config.replace(batching=False).batch_rows(10**6) is None
    with pytest.raises(ValueError, match="batching must be True, False or 'auto'"):
        SearchConfig(batching="yes")


# ---------------------------------------------------------------------------
# island.py
# ---------------------------------------------------------------------------

def island_setup(data, **changes):
    config = SearchConfig(populations=1, population_size=20, ncycles_per_iteration=100,
                          tournament_selection_n=5, **changes)
    scorer, tables = SearchContext(data, LANG, config).helpers()
    return scorer, tables, config


def run_one(data, seed, migrants=(), **changes):
    scorer, tables, config = island_setup(data, **changes)
    state = new_island(scorer, config, tables, np.random.default_rng(seed))
    frequencies = ComplexityFrequencies(config.maxsize)
    report = run_island(state, scorer, config, tables, frequencies, list(migrants))
    return state, report, scorer, frequencies


def test_new_island(data):
    scorer, tables, config = island_setup(data)
    seed_tree = build(LANG, "+", "*", 2.0, "x0", 1.0)
    state = new_island(scorer, config, tables, np.random.default_rng(0), seeds=[seed_tree])
    assert len(state.population) == 20 and state.clock == 20
    assert state.population.members[0].tree is seed_tree
    assert state.population.births.tolist() == list(range(20))
    for m in state.population.members:
        assert_valid(m.tree)
        assert 1 <= len(m.tree) <= config.initial_size or m.tree is seed_tree
    assert state.best.members() and state.best.entries[5].loss == scorer.floor


def test_run_island_keeps_size_and_advances(data):
    state, report, scorer, frequencies = run_one(data, 0)
    assert report.state is state and report.finished
    assert len(state.population) == 20
    assert state.clock > 20 and report.n_evals > 0 and scorer.n_evals == report.n_evals
    assert state.population.births.max() < state.clock
    pop = state.population
    assert pop.costs.tolist() == [m.cost for m in pop.members]
    assert pop.size_classes.tolist() == [m.size_class for m in pop.members]
    # The head's snapshot is left alone; the report says what this island added.
    assert frequencies.counts[1:].tolist() == [1.0] * 20
    assert report.added_frequencies.sum() > 0 and report.added_frequencies[0] == 0


def test_run_island_respects_constraints(data):
    changes = dict(maxsize=9, maxdepth=3, constraints={"/": (-1, 1), "sin": 2})
    state, _, scorer, _ = run_one(data, 1, **changes)
    constraints = scorer.constraints
    assert constraints.maxdepth == 3
    for m in state.population.members + state.best.members():
        assert_valid(m.tree)
        assert constraints.allows(m.tree), str(m.tree)


@pytest.mark.parametrize("changes", [dict(maxdepth=2), dict(nested_constraints={"sin": {"sin": 0},
                                                                                "cos": {"cos": 0}})],
                         ids=["maxdepth", "nested"])
def test_new_island_respects_constraints(data, changes):
    scorer, tables, config = island_setup(data, **changes)
    for seed in range(3):
        state = new_island(scorer, config, tables, np.random.default_rng(seed))
        assert all(scorer.constraints.allows(m.tree) for m in state.population.members)


def test_run_island_is_deterministic(data):
    def summary(seed):
        state, report, _, _ = run_one(data, seed)
        return ([(str(m.tree), m.loss, m.birth) for m in state.population.members],
                [(str(m.tree), m.loss) for m in state.best.members()],
                state.clock, report.n_evals, report.added_frequencies.tolist())

    first = summary(5)
    assert summary(5) == first
    assert summary(6) != first


def test_migrants_are_placed_at_their_slots(data):
    scorer, tables, config = island_setup(data)
    state = new_island(scorer, config, tables, np.random.default_rng(0))
    migrants = [(3, scorer.evaluate(build(LANG, "*", "x0", "x1"), 0)),
                (11, scorer.evaluate(build(LANG, "+", "*", 2.0, "x0", 1.0), 0))]
    frequencies = ComplexityFrequencies(config.maxsize)
    report = run_island(state, scorer, config, tables, frequencies, migrants,
                        stop_requested=lambda: True)
    assert not report.finished
    pop = state.population
    for (index, migrant), birth in zip(migrants, (20, 21)):
        assert pop.members[index].tree is migrant.tree
        assert pop.members[index] is not migrant and migrant.birth == 0
        assert pop.births[index] == birth and pop.costs[index] == migrant.cost
    assert state.clock == 22 and len(pop) == 20


def test_migrants_then_evolution(data):
    migrant = Member(build(LANG, "+", "*", 2.0, "x0", 1.0), 1e-30, 0.05, 5.0, 0)
    state, report, _, _ = run_one(data, 2, migrants=[(0, migrant)])
    assert report.finished and len(state.population) == 20
    assert state.clock > 21


# ---------------------------------------------------------------------------
# hybridsr.expr.compile_tree, used above as the validity check
# ---------------------------------------------------------------------------

def test_compile_tree_rejects_operator_missing_arguments():
    with pytest.raises(ValueError):
        compile_tree([LANG.variable(0), LANG.primitive("+"), LANG.variable(1)], LANG)
