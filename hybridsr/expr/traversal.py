"""Bottom-up walks over prefix-ordered trees, without recursion.

Every conversion of a tree (to sympy, to text, to LaTeX, folding constants)
combines the results of a node's arguments into the node's own result. They
all share :func:`reduce_tree`, which walks the prefix list backwards with a
stack, as :func:`~hybridsr.expr.tree.compile_tree` does, so deep trees never
meet Python's recursion limit.
"""

from __future__ import annotations

from typing import Callable, Sequence, TypeVar

from deap import gp

from .tree import Constant

__all__ = ["reduce_tree", "is_constant", "subtree_end", "node_deletions"]

T = TypeVar("T")


def is_constant(node) -> bool:
    """Whether a tree node is a :class:`~hybridsr.expr.tree.Constant` leaf."""
    return type(node) is Constant


def reduce_tree(
    tree: Sequence,
    on_leaf: Callable[[gp.Terminal], T],
    on_operator: Callable[[gp.Primitive, list[T]], T],
) -> T:
    """Combine a tree's nodes bottom-up into one result.

    Parameters
    ----------
    tree : sequence of DEAP nodes
        A tree in prefix order (an :class:`~hybridsr.expr.tree.Individual`
        or a plain list of nodes).
    on_leaf : callable
        ``on_leaf(terminal)`` gives the result of a leaf (variable or constant).
    on_operator : callable
        ``on_operator(primitive, arguments)`` gives the result of an operator
        node from its arguments' results, first argument first.

    Returns
    -------
    The result of the root node.

    Raises
    ------
    ValueError
        When the nodes do not form exactly one tree.
    """
    stack: list = []
    for node in reversed(tree):
        if node.arity:
            if len(stack) < node.arity:
                raise ValueError(f"malformed tree: {node.name!r} lacks arguments")
            # Walking backwards leaves the first argument on top of the stack.
            arguments = [stack.pop() for _ in range(node.arity)]
            stack.append(on_operator(node, arguments))
        else:
            stack.append(on_leaf(node))
    if len(stack) != 1:
        raise ValueError(f"malformed tree: {len(stack)} subtrees instead of one")
    return stack[0]


def subtree_end(tree: Sequence, start: int) -> int:
    """One past the last node of the subtree that starts at ``start`` (prefix order)."""
    open_slots = 1
    i = start
    while open_slots:
        open_slots += tree[i].arity - 1
        i += 1
    return i


def node_deletions(tree: Sequence) -> list[list]:
    """Every tree made by replacing one operator node by one of its arguments.

    The exhaustive form of the search's ``delete`` mutation: ``a*x + b/x``
    gives ``a*x``, ``b/x``, ``x + b/x``, ``a + b/x``, ``a*x + b`` and
    ``a*x + x``. Trees come in prefix order of the deleted node, first
    argument first; repeats are left in.
    """
    found = []
    for i, node in enumerate(tree):
        if not node.arity:
            continue
        end = subtree_end(tree, i)
        start = i + 1
        for _ in range(node.arity):
            stop = subtree_end(tree, start)
            found.append(list(tree[:i]) + list(tree[start:stop]) + list(tree[end:]))
            start = stop
    return found
