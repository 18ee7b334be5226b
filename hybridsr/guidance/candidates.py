"""From candidate formulas to search seeds: subexpressions, trees, initial members, donors.

A generator (the distilled student, later the transformer) proposes whole
formulas. The search gets two things out of them: a few whole formulas and
their larger parts as members of the initial populations, and every usable
subexpression as a donor for the ``graft`` mutation, so that a partly right
candidate still contributes its right parts.
"""

from __future__ import annotations

from typing import Iterable

import sympy

from ..expr import sympy_to_tree
from ..expr.tree import Individual, Language

__all__ = ["subexpressions", "candidate_trees"]

#: At most this many donors reach the graft mutation (the most useful first).
MAX_DONORS = 200


def subexpressions(expression: sympy.Expr) -> list[sympy.Expr]:
    """The non-constant parts of ``expression``: itself, the terms of sums, the
    factors of products and the arguments of functions, recursively, without
    numeric coefficients (``3.1*sin(x)`` gives ``sin(x)`` as well), largest first."""
    found: dict[sympy.Expr, None] = {}

    def visit(node: sympy.Expr) -> None:
        if node.is_number or node in found:
            return
        found[node] = None
        coefficient, rest = node.as_coeff_Mul()
        if coefficient != 1 and not rest.is_number:
            visit(rest)
        for argument in node.args:
            visit(argument)

    visit(sympy.sympify(expression))
    return sorted(found, key=lambda e: -sympy.count_ops(e, visual=False))


def candidate_trees(candidates: Iterable[sympy.Expr], language: Language, maxsize: int,
                    n_initial: int) -> tuple[list[Individual], list[Individual]]:
    """Trees to seed the search with: ``(initial, donors)``.

    ``initial`` holds up to ``n_initial`` trees: the candidates themselves
    first, then their subexpressions; ``donors`` holds every distinct
    subexpression (up to :data:`MAX_DONORS`). Parts the language cannot write
    (an operator it lacks) or longer than ``maxsize`` nodes are left out.
    """
    wholes, parts, seen = [], [], set()
    for candidate in candidates:
        for index, expression in enumerate(subexpressions(candidate)):
            tree = _tree(expression, language, maxsize)
            if tree is None or str(tree) in seen:
                continue
            seen.add(str(tree))
            (wholes if index == 0 else parts).append(tree)
    initial = (wholes + parts)[:max(0, int(n_initial))]
    donors = (parts + wholes)[:MAX_DONORS]
    return initial, donors


def _tree(expression: sympy.Expr, language: Language, maxsize: int) -> Individual | None:
    try:
        tree = sympy_to_tree(expression, language)
    except (ValueError, TypeError, RecursionError):
        return None  # an operator the language lacks, or a non-real number
    return tree if len(tree) <= maxsize else None

