"""Random expressions for training: Lample & Charton's unary-binary tree sampler.

Drawing a tree node by node (as :func:`hybridsr.expr.random_tree` does for
initial populations) favours some shapes over others. Lample & Charton
(2019, appendix C) instead count the unary-binary trees with ``n``
operators, ``D(e, n)`` for ``e`` empty slots still to fill::

    D(0, n) = 0,  D(e, 0) = 1,  D(e, n) = D(e-1, n) + D(e, n-1) + D(e+1, n-1)

and place each next operator with the probability that makes every tree
shape of ``n`` operators equally likely. ``n`` itself is drawn uniformly
from ``1 .. max_operators``, so the sizes are controlled directly. Operators
of each arity are then chosen by weight, and leaves are variables (some with
a constant factor, ``C * x``, as real formulas scale their inputs) or
constants.

:func:`canonical_skeleton` turns a raw tree into the form the model learns
to write: constants folded, like terms merged and the tree rewritten by
sympy's automatic evaluation and :func:`~hybridsr.expr.sympy_to_tree`
(distinct random values stand in for the constants, so ``C*x + C*x``
merges into ``C*x`` but nothing cancels by accident), every constant then
a placeholder. Two raw trees that mean the same skeleton become the same
tokens, which is what de-duplication compares.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np
import sympy

from ..expr.simplify import fold_constants
from ..expr.sympy_convert import sympy_to_tree, tree_to_sympy
from ..expr.tree import Constant, Individual, Language

__all__ = ["DEFAULT_OPERATOR_WEIGHTS", "ExpressionSampler", "canonical_skeleton", "count_trees"]

#: How often each operator is drawn among those of its arity (Lample & Charton
#: weigh theirs alike). ``neg``, ``^`` and ``abs`` are left to canonicalisation:
#: sympy writes ``-x``, ``x**2.5`` and ``sqrt(x**2)`` with them.
DEFAULT_OPERATOR_WEIGHTS: Mapping[str, float] = MappingProxyType({
    "+": 4.0, "-": 2.0, "*": 4.0, "/": 2.0,
    "sin": 2.0, "cos": 2.0, "exp": 1.5, "log": 1.5, "sqrt": 2.0, "square": 2.0,
    "cube": 0.7, "inv": 1.0, "tan": 0.3, "tanh": 0.3,
})


def count_trees(max_operators: int) -> list[list[int]]:
    """``D[n][e]``: unary-binary trees that fill ``e`` empty slots with ``n`` operators.

    Exact Python integers (they outgrow float64's integers quickly).
    """
    width = 2 * max_operators + 2
    table = [[0] + [1] * width]
    for n in range(1, max_operators + 1):
        row = [0]
        for e in range(1, width - n + 1):
            row.append(row[e - 1] + table[n - 1][e] + table[n - 1][e + 1])
        table.append(row)
    return table


@dataclass(frozen=True)
class ExpressionSampler:
    """Draws raw random trees of a language (see the module docstring).

    Parameters
    ----------
    language : Language
        The model's language; its variables are the most a tree may use.
    max_operators : int
        Operator counts are drawn uniformly from ``1 .. max_operators``.
    operator_weights : mapping of str to float
        Relative weight of each operator among those of its arity; operators
        of the language missing here are never drawn.
    constant_probability : float
        Chance that a leaf is a constant.
    scale_probability : float
        Chance that a variable leaf comes with a constant factor (``C * x``).
    """

    language: Language
    max_operators: int = 6
    operator_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_OPERATOR_WEIGHTS))
    constant_probability: float = 0.2
    scale_probability: float = 0.25
    _table: list = field(init=False, repr=False, compare=False)
    _by_arity: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if self.max_operators < 1:
            raise ValueError(f"max_operators must be at least 1, got {self.max_operators!r}")
        for name in ("constant_probability", "scale_probability"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)!r}")
        unknown = sorted(set(self.operator_weights) - set(self.language.operator_set.names))
        if unknown:
            raise ValueError(f"operator_weights names {unknown}, which the language "
                             f"{list(self.language.operator_set.names)} lacks")
        by_arity = {}
        for arity in (1, 2):
            ops = [op for op in self.language.operator_set.operators
                   if op.arity == arity and self.operator_weights.get(op.name, 0.0) > 0]
            weights = np.array([self.operator_weights[op.name] for op in ops], dtype=np.float64)
            by_arity[arity] = ([self.language.primitive(op.name) for op in ops],
                               weights / weights.sum() if len(ops) else weights)
        if not by_arity[2][0]:
            raise ValueError("the sampler needs at least one binary operator with a positive weight")
        object.__setattr__(self, "_table", count_trees(self.max_operators))
        object.__setattr__(self, "_by_arity", by_arity)

    def random_tree(self, rng: np.random.Generator, n_operators: int | None = None,
                    n_variables: int | None = None) -> Individual:
        """A raw tree with ``n_operators`` operators (drawn when None) over ``x0 .. x{n_variables-1}``.

        Constants hold distinct random values (placeholders of a skeleton).
        """
        if n_operators is None:
            n_operators = int(rng.integers(1, self.max_operators + 1))
        if not 1 <= n_operators <= self.max_operators:
            raise ValueError(f"n_operators must lie in 1 .. {self.max_operators}, got {n_operators!r}")
        n_variables = self.language.n_features if n_variables is None else int(n_variables)
        if not 1 <= n_variables <= self.language.n_features:
            raise ValueError(f"n_variables must lie in 1 .. {self.language.n_features}")
        slots: list = [None]  # prefix order; None marks a slot still empty
        empty, placed_leaves = 1, 0
        for remaining in range(n_operators, 0, -1):
            skipped, arity = self._next_position(empty, remaining, rng)
            primitives, weights = self._by_arity[arity]
            operator = primitives[int(rng.choice(len(primitives), p=weights))]
            # The first `skipped` empty slots become leaves; the operator takes the next one.
            placed_leaves += skipped
            empty += arity - 1 - skipped
            position = [i for i, node in enumerate(slots) if node is None][placed_leaves]
            slots[position:position + 1] = [operator] + [None] * arity
        nodes = []
        for node in slots:
            nodes.extend(self._leaf(rng, n_variables) if node is None else [node])
        return Individual(nodes)

    def _next_position(self, empty: int, remaining: int, rng: np.random.Generator) -> tuple[int, int]:
        """How many empty slots to skip, and the arity of the operator placed after them."""
        table = self._table
        unary = 1 if self._by_arity[1][0] else 0
        weights = [unary * table[remaining - 1][empty - k] for k in range(empty)]
        weights += [table[remaining - 1][empty - k + 1] for k in range(empty)]
        total = sum(weights)
        choice = int(rng.choice(2 * empty, p=[w / total for w in weights]))
        return choice % empty, 1 if choice < empty else 2

    def _leaf(self, rng: np.random.Generator, n_variables: int) -> list:
        if rng.random() < self.constant_probability:
            return [_random_constant(rng)]
        variable = self.language.variable(int(rng.integers(n_variables)))
        if rng.random() < self.scale_probability:
            return [self.language.primitive("*"), _random_constant(rng), variable]
        return [variable]


def _random_constant(rng: np.random.Generator) -> Constant:
    # Distinct, irregular values: canonicalisation must not cancel or merge them by accident.
    return Constant(float(rng.choice((-1.0, 1.0)) * rng.uniform(0.5, 3.5)))


def canonical_skeleton(tree: Individual, language: Language, rng: np.random.Generator
                       ) -> Individual | None:
    """The canonical skeleton of a tree (see the module docstring), or None.

    None when sympy finds the formula undefined, when it has no variable
    left (a constant formula), or when the language cannot write sympy's form.
    Constants of the result are ``Constant(1.0)`` placeholders.
    """
    values = rng.permutation(np.linspace(0.6, 3.4, 57))  # distinct stand-ins, none a round number
    nodes, used = [], 0
    for node in tree:
        if type(node) is Constant:
            nodes.append(Constant(float(values[used % len(values)]) * (1 if node.value >= 0 else -1)))
            used += 1
        else:
            nodes.append(node)
    try:
        expression = tree_to_sympy(Individual(nodes), language, use_variable_names=False)
        if expression.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo) or not expression.free_symbols:
            return None
        rewritten = fold_constants(sympy_to_tree(expression, language), language)
    except (ValueError, TypeError, RecursionError, ZeroDivisionError, OverflowError):
        return None
    return Individual([Constant(1.0) if type(n) is Constant else n for n in rewritten])
