"""Which trees a search may keep: size, depth, argument-size and nesting limits.

Sizes are complexities (weighted node counts), as in PySR: ``maxsize`` bounds
a tree's complexity, ``constraints={"^": (-1, 1)}`` bounds the complexity of
each argument of ``^`` (``-1`` = unlimited; a unary operator takes one
number), and ``nested_constraints={"sin": {"sin": 0, "cos": 1}}`` bounds how
many ``sin``/``cos`` may nest inside a ``sin`` along any path.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Mapping, Sequence

from ..expr.traversal import subtree_end
from ..expr.tree import Constant, Language

__all__ = ["Constraints", "measure"]


@dataclass(frozen=True)
class Constraints:
    """Resolved limits of one search (operator names turned into identifiers).

    Build with :meth:`from_options`; check trees with :meth:`allows`.
    """

    maxsize: float
    maxdepth: int | None
    argument_limits: tuple[tuple[str, tuple[float, ...]], ...] = ()
    nesting_limits: tuple[tuple[str, str, int], ...] = ()
    weights: tuple[tuple[str, float], ...] = ()
    constant_weight: float = 1.0
    variable_weight: float = 1.0

    def __post_init__(self):
        # Lookup tables for the hot path (frozen fields stay the source of truth).
        object.__setattr__(self, "_weight_map", dict(self.weights))
        object.__setattr__(self, "_argument_map", dict(self.argument_limits))
        unit = all(w == 1.0 for _, w in self.weights) and self.constant_weight == self.variable_weight == 1.0
        object.__setattr__(self, "_unit_weights", unit)

    def __reduce__(self):
        return (Constraints, (self.maxsize, self.maxdepth, self.argument_limits, self.nesting_limits,
                              self.weights, self.constant_weight, self.variable_weight))

    @classmethod
    def from_options(cls, language: Language, maxsize: float, maxdepth: int | None = None,
                     constraints: Mapping | None = None,
                     nested_constraints: Mapping | None = None) -> "Constraints":
        """Check the user's constraint dictionaries against the language's operators."""
        ops = language.operator_set
        argument_limits = []
        for name, limit in (constraints or {}).items():
            op = _operator(ops, name, "constraints")
            limits = tuple(limit) if isinstance(limit, (tuple, list)) else (limit,)
            if len(limits) != op.arity or not all(_is_limit(v) for v in limits):
                shape = "a number" if op.arity == 1 else "a pair such as (-1, 1)"
                raise ValueError(f"constraints[{name!r}] must be {shape} of argument complexities "
                                 f"(-1 for no limit), got {limit!r}")
            argument_limits.append((op.ident, tuple(float(v) for v in limits)))
        nesting_limits = []
        for outer, inner in (nested_constraints or {}).items():
            outer_op = _operator(ops, outer, "nested_constraints")
            if not isinstance(inner, Mapping):
                raise ValueError(f"nested_constraints[{outer!r}] must be a dict such as "
                                 f"{{'sin': 0}}, got {inner!r}")
            for name, count in inner.items():
                inner_op = _operator(ops, name, f"nested_constraints[{outer!r}]")
                if isinstance(count, bool) or not isinstance(count, int) or count < -1:
                    raise ValueError(f"nested_constraints[{outer!r}][{name!r}] must be an integer >= 0 "
                                     f"(or -1 for no limit), got {count!r}")
                if count >= 0:
                    nesting_limits.append((outer_op.ident, inner_op.ident, count))
        return cls(float(maxsize), maxdepth, tuple(argument_limits), tuple(nesting_limits),
                   tuple((op.ident, op.complexity) for op in ops.operators),
                   ops.complexity_of_constants, ops.complexity_of_variables)

    def allows(self, tree: Sequence) -> bool:
        """Whether ``tree`` satisfies every limit."""
        if self.complexity(tree) > self.maxsize + 1e-9:
            return False
        if self.maxdepth is None and not self.argument_limits and not self.nesting_limits:
            return True
        sizes, depths = self.measure(tree)
        if self.maxdepth is not None and depths[0] > self.maxdepth:
            return False
        if self.argument_limits and not self._arguments_fit(tree, sizes):
            return False
        return not self.nesting_limits or self._nesting_fits(tree)

    def measure(self, tree: Sequence) -> tuple[list[float], list[int]]:
        """Complexity and depth of the subtree at every node (see :func:`measure`)."""
        return measure(tree, self._weight_map, self.constant_weight, self.variable_weight)

    def complexity(self, tree: Sequence) -> float:
        if self._unit_weights:
            return float(len(tree))
        w = self._weight_map
        c, v = self.constant_weight, self.variable_weight
        return sum(w[node.name] if node.arity else (c if type(node) is Constant else v) for node in tree)

    def _arguments_fit(self, tree: Sequence, sizes: list[float]) -> bool:
        limits = self._argument_map
        for i, node in enumerate(tree):
            limit = limits.get(node.name) if node.arity else None
            if limit is None:
                continue
            child = i + 1
            for bound in limit:
                if bound >= 0 and sizes[child] > bound + 1e-9:
                    return False
                child = subtree_end(tree, child)
        return True

    def _nesting_fits(self, tree: Sequence) -> bool:
        for outer, inner, limit in self.nesting_limits:
            # nest[i]: the most `inner` nodes on one path down from node i (itself included).
            nest = [0] * len(tree)
            stack = []
            for i in range(len(tree) - 1, -1, -1):
                node = tree[i]
                below = max((nest[stack.pop()] for _ in range(node.arity)), default=0)
                nest[i] = below + (node.name == inner)
                if node.name == outer and below > limit:
                    return False
                stack.append(i)
        return True


def measure(tree: Sequence, weights: Mapping[str, float], constant_weight: float = 1.0,
            variable_weight: float = 1.0) -> tuple[list[float], list[int]]:
    """Complexity and depth of the subtree rooted at every node of a prefix tree."""
    n = len(tree)
    sizes = [0.0] * n
    depths = [0] * n
    stack = []
    for i in range(n - 1, -1, -1):
        node = tree[i]
        if node.arity == 0:
            sizes[i] = constant_weight if type(node) is Constant else variable_weight
            depths[i] = 1
        else:
            size, depth = weights[node.name], 0
            for _ in range(node.arity):
                child = stack.pop()
                size += sizes[child]
                depth = max(depth, depths[child])
            sizes[i] = size
            depths[i] = depth + 1
        stack.append(i)
    return sizes, depths


def _is_limit(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and (value == -1 or value >= 0)


def _operator(operator_set, name, where: str):
    try:
        return operator_set[name]
    except (KeyError, TypeError):
        near = difflib.get_close_matches(str(name), list(operator_set.names), n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"{where} names operator {name!r}, which is not among this search's "
                         f"operators {list(operator_set.names)}.{hint}") from None
