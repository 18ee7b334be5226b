"""The variation operators: small functions from trees to new trees.

Each takes the RNG explicitly, never changes its input, and returns the new
tree, or ``None`` when it cannot apply (no constant to perturb, no operator
to delete, ...). Trees are DEAP prefix lists, so a subtree is a slice.
What the search does with the result (constraints, evaluation, acceptance)
lives in :mod:`hybridsr.gp.island`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..expr.random_trees import random_tree
from ..expr.traversal import subtree_end
from ..expr.tree import Constant, Individual, Language

__all__ = [
    "NodeTables",
    "mutate_constant",
    "mutate_operator",
    "swap_operands",
    "add_node",
    "insert_node",
    "delete_node",
    "randomize",
    "graft",
    "wrap_inverse_pair",
    "crossover",
]


class NodeTables:
    """The primitives and variables of a language, grouped for fast random picks,
    and the donor subtrees that :func:`graft` inserts (candidates from guidance)."""

    __slots__ = ("language", "unary", "binary", "variables", "donors", "wrap_shapes")

    def __init__(self, language: Language, donors: Sequence[Individual] = ()):
        self.language = language
        self.donors = tuple(Individual(d) for d in donors)
        ops = language.operator_set.operators
        self.unary = [language.primitive(op.name) for op in ops if op.arity == 1]
        self.binary = [language.primitive(op.name) for op in ops if op.arity == 2]
        self.variables = [language.variable(i) for i in range(language.n_features)]
        self.wrap_shapes = _wrap_shapes(language)

    def __reduce__(self):
        return (NodeTables, (self.language, self.donors))

    def random_leaf(self, rng: np.random.Generator):
        """A variable or (half the time) a standard-normal constant, as PySR draws leaves."""
        if rng.random() < 0.5:
            return Constant(rng.standard_normal())
        return self.variables[int(rng.integers(len(self.variables)))]

    def random_operator(self, rng: np.random.Generator, arity: int | None = None):
        """An operator of the given arity, or of any arity uniformly over all operators."""
        if arity is None:
            pool_size = len(self.unary) + len(self.binary)
            k = int(rng.integers(pool_size))
            return self.unary[k] if k < len(self.unary) else self.binary[k - len(self.unary)]
        pool = self.unary if arity == 1 else self.binary
        return pool[int(rng.integers(len(pool)))] if pool else None


def _indices(tree, predicate) -> list[int]:
    return [i for i, node in enumerate(tree) if predicate(node)]


def mutate_constant(tree: Individual, temperature: float, rng: np.random.Generator, *,
                    perturbation_factor: float = 0.076,
                    probability_negate: float = 0.01) -> Individual | None:
    """Scale one random constant by a factor up to ``1.1 + perturbation_factor * T``.

    The factor is ``max_change ** u`` with ``u`` uniform, applied as a
    multiplication or a division with equal odds, and the sign flips with
    probability ``probability_negate`` (PySR's rule).
    """
    slots = _indices(tree, lambda node: type(node) is Constant)
    if not slots:
        return None
    i = slots[int(rng.integers(len(slots)))]
    max_change = perturbation_factor * temperature + 1.1
    factor = max_change ** rng.random()
    value = tree[i].value * factor if rng.random() < 0.5 else tree[i].value / factor
    if rng.random() < probability_negate:
        value = -value
    if not math.isfinite(value):
        return None
    child = Individual(tree)
    child[i] = Constant(value)
    return child


def mutate_operator(tree: Individual, tables: NodeTables, rng: np.random.Generator) -> Individual | None:
    """Replace one random operator by another of the same arity."""
    slots = _indices(tree, lambda node: node.arity > 0)
    if not slots:
        return None
    i = slots[int(rng.integers(len(slots)))]
    replacement = tables.random_operator(rng, tree[i].arity)
    child = Individual(tree)
    child[i] = replacement
    return child


def swap_operands(tree: Individual, rng: np.random.Generator) -> Individual | None:
    """Swap the two arguments of one random binary operator."""
    slots = _indices(tree, lambda node: node.arity == 2)
    if not slots:
        return None
    i = slots[int(rng.integers(len(slots)))]
    first_end = subtree_end(tree, i + 1)
    second_end = subtree_end(tree, first_end)
    return Individual(tree[:i + 1] + tree[first_end:second_end] + tree[i + 1:first_end] + tree[second_end:])


def _new_operator_over(subtree: list, tables: NodeTables, rng: np.random.Generator) -> list:
    """``op(subtree)`` or ``op(subtree, leaf)`` / ``op(leaf, subtree)`` with a random operator."""
    operator = tables.random_operator(rng)
    if operator.arity == 1:
        return [operator, *subtree]
    leaf = tables.random_leaf(rng)
    return [operator, *subtree, leaf] if rng.random() < 0.5 else [operator, leaf, *subtree]


def add_node(tree: Individual, tables: NodeTables, rng: np.random.Generator) -> Individual:
    """Grow the tree at an end: wrap the root in a new operator, or expand a leaf into one.

    Half the time the whole tree becomes an argument of a new operator
    (PySR's "prepend"); otherwise a random leaf becomes a new operator on
    fresh leaves ("append").
    """
    if rng.random() < 0.5:
        return Individual(_new_operator_over(list(tree), tables, rng))
    leaves = _indices(tree, lambda node: node.arity == 0)
    i = leaves[int(rng.integers(len(leaves)))]
    operator = tables.random_operator(rng)
    new = [operator] + [tables.random_leaf(rng) for _ in range(operator.arity)]
    return Individual(tree[:i] + new + tree[i + 1:])


def insert_node(tree: Individual, tables: NodeTables, rng: np.random.Generator) -> Individual:
    """Put a new operator above a random node, the old subtree becoming one of its arguments."""
    i = int(rng.integers(len(tree)))
    end = subtree_end(tree, i)
    return Individual(tree[:i] + _new_operator_over(tree[i:end], tables, rng) + tree[end:])


def delete_node(tree: Individual, rng: np.random.Generator) -> Individual | None:
    """Replace one random operator by one of its arguments (chosen at random)."""
    slots = _indices(tree, lambda node: node.arity > 0)
    if not slots:
        return None
    i = slots[int(rng.integers(len(slots)))]
    end = subtree_end(tree, i)
    start = i + 1
    if tree[i].arity == 2 and rng.random() < 0.5:
        start = subtree_end(tree, start)
    kept = tree[start:subtree_end(tree, start)]
    return Individual(tree[:i] + kept + tree[end:])


def randomize(tables: NodeTables, maxsize: int, rng: np.random.Generator) -> Individual:
    """A fresh random tree of a size drawn uniformly from ``1 .. maxsize``."""
    size = int(rng.integers(1, maxsize + 1))
    return random_tree(tables.language, size, rng, constant_probability=0.5)


def graft(tree: Individual, tables: NodeTables, rng: np.random.Generator) -> Individual | None:
    """Replace a random subtree of ``tree`` by a random donor (None when there are no donors)."""
    if not tables.donors:
        return None
    donor = tables.donors[int(rng.integers(len(tables.donors)))]
    i = int(rng.integers(len(tree)))
    return Individual(tree[:i] + donor[:] + tree[subtree_end(tree, i):])


#: Where a wrap's fresh constant goes among its fixed nodes.
_FRESH = None


def _wrap_shapes(language: Language) -> tuple[tuple[tuple, tuple], ...]:
    """The shapes :func:`wrap_inverse_pair` can write in ``language``, each as the nodes
    before and after the wrapped subtree, :data:`_FRESH` marking the fresh constant."""
    names = set(language.operator_set.names)
    p = language.primitive
    shapes = []
    if "+" in names:
        shapes += [((p(outer), p("+"), p(inner)), (_FRESH,))
                   for outer, inner in (("log", "exp"), ("sqrt", "square"))
                   if outer in names and inner in names]
        if "inv" in names:
            shapes.append(((p("inv"), p("+"), p("inv")), (_FRESH,)))
        elif "/" in names:
            shapes.append(((p("/"), Constant(1.0), p("+"), p("/"), Constant(1.0)), (_FRESH,)))
    if {"exp", "-", "*", "/"} <= names:
        # (exp(c*t) - 1)/c: the Bose-Einstein and Planck denominators grow from their
        # small-argument limit t (1/(exp(c*x) - 1) from 1/(c*x)).
        shapes.append(((p("/"), p("-"), p("exp"), p("*"), _FRESH), (Constant(1.0), _FRESH)))
    return tuple(shapes)


def wrap_inverse_pair(tree: Individual, tables: NodeTables,
                      rng: np.random.Generator) -> Individual | None:
    """Replace a random subtree ``t`` by ``g(f(t) + c)`` where ``g`` undoes ``f``:
    ``log(exp(t) + c)``, ``sqrt(t**2 + c)`` or ``1/(1/t + c)``, or by
    ``(exp(c*t) - 1)/c``, ``c`` a fresh small constant.

    As ``c`` goes to 0 the tree computes what it did (``|t|`` for the square
    root), so the new shape starts near its parent and constant fitting moves
    it: ``c*x`` becomes Planck's ``log(exp(c*x) - 1)``, ``1/x`` the
    Bose-Einstein ``1/(exp(c*x) - 1)``, ``p`` the relativistic
    ``sqrt(p**2 + m**2)``, a line a saturating ``x/(1 + c*x)``. Reaching
    those by single-node insertions passes through trees (``exp(t)``,
    ``t**2 + c``) that fit far worse than either end, which selection
    removes. None when the language can write none of these shapes.
    """
    if not tables.wrap_shapes:
        return None
    before, after = tables.wrap_shapes[int(rng.integers(len(tables.wrap_shapes)))]
    i = int(rng.integers(len(tree)))
    end = subtree_end(tree, i)
    offset = 0.1 * rng.standard_normal()

    def filled(nodes):
        return [Constant(offset) if node is _FRESH else node for node in nodes]

    return Individual(tree[:i] + filled(before) + tree[i:end] + filled(after) + tree[end:])


def crossover(first: Individual, second: Individual,
              rng: np.random.Generator) -> tuple[Individual, Individual]:
    """Swap a random subtree of ``first`` with a random subtree of ``second``."""
    i = int(rng.integers(len(first)))
    j = int(rng.integers(len(second)))
    i_end = subtree_end(first, i)
    j_end = subtree_end(second, j)
    return (Individual(first[:i] + second[j:j_end] + first[i_end:]),
            Individual(second[:j] + first[i:i_end] + second[j_end:]))
