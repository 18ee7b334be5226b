"""Random trees of a given size, for initial populations, tests and benchmarks.

A tree of ``k`` binary and ``m`` unary operators has ``k + 1`` leaves and
``2k + 1 + m`` nodes, so every size is reachable when the language has both
kinds of operators, only odd sizes when it has no unary operator, and every
size when it has no binary operator. :func:`feasible_size` gives the size
that is actually grown.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .tree import Constant, Individual, Language

__all__ = ["random_tree", "random_trees", "feasible_size"]


def feasible_size(language: Language, size: int) -> int:
    """The size :func:`random_tree` grows for a requested ``size``.

    ``size`` itself when the language can build a tree of that size,
    otherwise ``size - 1`` (an even size without unary operators), so that
    a tree never exceeds the size asked for.

    Raises
    ------
    ValueError
        When ``size`` is below 1.
    """
    if int(size) != size or size < 1:
        raise ValueError(f"a tree has at least one node; got size {size!r}")
    size = int(size)
    if not language.operator_set.unary and size % 2 == 0:
        return size - 1
    return size


def random_tree(
    language: Language,
    size: int,
    rng: np.random.Generator,
    *,
    constant_probability: float = 0.2,
    constant_scale: float = 1.0,
) -> Individual:
    """Grow a random tree of :func:`feasible_size` ``(language, size)`` nodes.

    Every node that can still be an operator picks one uniformly among the
    operators that fit the nodes left (only unary ones when one node is left
    below it); a binary operator splits the remaining nodes uniformly
    between its arguments. Leaves are constants with probability
    ``constant_probability``, drawn from a normal distribution with standard
    deviation ``constant_scale``, and otherwise a uniformly chosen variable.

    Parameters
    ----------
    language : Language
    size : int
        Number of nodes wanted, at least 1.
    rng : numpy.random.Generator
        The only source of randomness.
    constant_probability : float, default 0.2
    constant_scale : float, default 1.0

    Returns
    -------
    Individual
    """
    return _TreeGrower(language, constant_probability, constant_scale).grow(size, rng)


def random_trees(
    language: Language,
    sizes: Iterable[int],
    rng: np.random.Generator,
    *,
    constant_probability: float = 0.2,
    constant_scale: float = 1.0,
) -> list[Individual]:
    """One :func:`random_tree` per entry of ``sizes``, drawn in order from ``rng``."""
    grower = _TreeGrower(language, constant_probability, constant_scale)
    return [grower.grow(size, rng) for size in sizes]


class _TreeGrower:
    """The node tables of one language, looked up once for many trees."""

    def __init__(self, language: Language, constant_probability: float, constant_scale: float):
        if not 0.0 <= constant_probability <= 1.0:
            raise ValueError(f"constant_probability must lie in [0, 1], got {constant_probability!r}")
        self._language = language
        operators = language.operator_set.operators
        self._operators = [language.primitive(op.name) for op in operators]
        self._unary = [language.primitive(op.name) for op in operators if op.arity == 1]
        self._variables = [language.variable(i) for i in range(language.n_features)]
        self._constant_probability = constant_probability
        self._constant_scale = constant_scale

    def grow(self, size: int, rng: np.random.Generator) -> Individual:
        size = feasible_size(self._language, size)
        # Draw everything at once: two uniforms per node and a normal per
        # possible constant are much cheaper in bulk than one call per choice.
        uniforms = rng.random((size, 2))
        normals = rng.normal(0.0, self._constant_scale, size)
        nodes = []
        pending = [size]  # sizes of the subtrees still to grow, next on top
        while pending:
            n = pending.pop()
            first, second = uniforms[len(nodes)]
            if n == 1:
                nodes.append(self._leaf(first, second, normals[len(nodes)]))
                continue
            choices = self._unary if n == 2 else self._operators
            operator = choices[int(first * len(choices))]
            nodes.append(operator)
            if operator.arity == 1:
                pending.append(n - 1)
            else:
                left = self._left_size(n, second)
                # Pushed right first so that the left subtree is grown next (prefix order).
                pending.extend((n - 1 - left, left))
        return Individual(nodes)

    def _left_size(self, n: int, uniform: float) -> int:
        """Nodes of a binary operator's first argument, for a subtree of ``n`` nodes."""
        if self._unary:
            return 1 + int(uniform * (n - 2))
        # Without unary operators both arguments need odd sizes.
        return 1 + 2 * int(uniform * ((n - 1) // 2))

    def _leaf(self, first: float, second: float, normal: float):
        if first < self._constant_probability:
            return Constant(normal)
        return self._variables[int(second * len(self._variables))]
