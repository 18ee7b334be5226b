"""From candidate formulas to search seeds: subexpressions, trees, initial members, donors.

A generator (the distilled student, later the transformer) proposes whole
formulas. The search gets two things out of them: a few whole formulas and
their larger parts as members of the initial populations, and every usable
subexpression as a donor for the ``graft`` mutation, so that a partly right
candidate still contributes its right parts.
"""

from __future__ import annotations

import itertools
import math
from typing import Iterable

import sympy

from ..expr import sympy_to_tree
from ..expr.tree import Constant, Individual, Language

__all__ = ["subexpressions", "candidate_trees", "shared_coefficients", "factored_form",
           "node_count"]

#: At most this many donors reach the graft mutation (the most useful first).
MAX_DONORS = 200
#: Terms of a sum whose coefficients agree to this (relative) share one coefficient.
SHARED_COEFFICIENT_TOLERANCE = 0.02


def shared_coefficients(expression: sympy.Expr,
                        tolerance: float = SHARED_COEFFICIENT_TOLERANCE) -> sympy.Expr:
    """``expression`` with the terms of each sum whose coefficients agree within
    ``tolerance`` (relative, in magnitude) written over one coefficient, their mean.

    Pieces fitted separately come back as ``1.434*u**2 + 1.436*v**2 +
    1.433*w**2``: three constants where the law has one, and a formula that
    may be too long for the search's ``maxsize``. ``1.434*(u**2 + v**2 +
    w**2)`` is as close and four nodes shorter; the search refits it.
    """
    expression = sympy.sympify(expression)
    if expression.is_Atom:
        return expression
    arguments = [shared_coefficients(argument, tolerance) for argument in expression.args]
    if not isinstance(expression, sympy.Add):
        return expression.func(*arguments) if arguments != list(expression.args) else expression
    constant = sympy.Add(*(a for a in arguments if a.is_number))
    terms = []
    for argument in arguments:
        if argument.is_number:
            continue
        coefficient, rest = argument.as_coeff_Mul()
        if coefficient.is_Float or coefficient.is_Rational:
            terms.append((abs(float(coefficient)), sympy.sign(coefficient) * rest))
        else:
            terms.append((1.0, argument))
    terms.sort(key=lambda term: term[0])
    groups: list[list] = []
    for size, rest in terms:
        if groups and size > 0 and size <= groups[-1][0][0] * (1 + tolerance):
            groups[-1].append((size, rest))
        else:
            groups.append([(size, rest)])
    if all(len(group) == 1 or len({size for size, _ in group}) == 1 for group in groups):
        return expression.func(*arguments)  # nothing to share
    parts = [constant]
    for group in groups:
        sizes = {size for size, _ in group}
        if len(sizes) == 1:
            parts += [sympy.Float(size, 15) * rest if size != 1.0 else rest for size, rest in group]
        else:
            mean = sum(size for size, _ in group) / len(group)
            # Unevaluated: sympy would multiply the coefficient back into every term.
            parts.append(sympy.Mul(sympy.Float(mean, 15), sympy.Add(*(rest for _, rest in group)),
                                   evaluate=False))
    return sympy.Add(*parts)


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
    for candidate in _forms(candidates):
        for index, expression in enumerate(subexpressions(candidate)):
            tree = _tree(expression, language, maxsize)
            if tree is None or str(tree) in seen:
                continue
            seen.add(str(tree))
            (wholes if index == 0 else parts).append(tree)
    initial = (wholes + parts)[:max(0, int(n_initial))]
    donors = (parts + wholes)[:MAX_DONORS]
    return initial, donors


def _forms(candidates: Iterable[sympy.Expr]) -> list[sympy.Expr]:
    """Each candidate in its shorter forms first, then as it came.

    The shorter forms: sympy's expansion or cancellation with common factors
    pulled out, where shorter (a structure generator's
    ``0.13*m*w**2*x**2*(1.88 + 1.88*v**2/w**2)`` is ``0.25*m*x**2*(v**2 + w**2)``,
    24 nodes down to 15); coefficients shared where they agree
    (:func:`shared_coefficients`), and a polynomial in Horner's form
    (``x*(x*(x + 1) + 1)`` is 9 nodes, ``x**3 + x**2 + x`` 11 without a
    power operator) and factored, if that is shorter still
    (:func:`factored_form`); a candidate longer than ``maxsize`` is lost, its
    short form is not.
    """
    out: dict[sympy.Expr, None] = {}
    for candidate in candidates:
        candidate = sympy.sympify(candidate)
        try:
            for form in _rewritten(candidate):
                out[form] = None
            shared = shared_coefficients(candidate)
            out[shared] = None
            if candidate.free_symbols and candidate.is_polynomial():
                expanded = sympy.expand(candidate)
                if len(sympy.Add.make_args(expanded)) >= 3:
                    horner = sympy.horner(expanded)
                    factored = factored_form(expanded)
                    if factored is not None and node_count(factored) < node_count(horner):
                        out[factored] = None
                    out[horner] = None
        except (TypeError, ValueError, RecursionError, sympy.PolynomialError):
            pass  # a form sympy cannot take apart is proposed as it came
        out[candidate] = None
    return list(out)


#: Candidates longer than this many nodes are not rewritten (expanding a long
#: product of sums can take sympy seconds).
_MAX_REWRITE_NODES = 100


def _rewritten(candidate: sympy.Expr) -> list[sympy.Expr]:
    """Expanded and cancelled forms of ``candidate``, common factors pulled out, that are
    shorter than it (by :func:`node_count`), shortest first."""
    size = node_count(candidate)
    if size > _MAX_REWRITE_NODES or not candidate.free_symbols:
        return []
    forms = {sympy.factor_terms(sympy.expand(candidate)): None,
             sympy.factor_terms(sympy.cancel(candidate)): None}
    return sorted((f for f in forms if node_count(f) < size), key=node_count)


def node_count(expression: sympy.Expr) -> int:
    """Nodes of ``expression`` as a tree of binary operators with powers written as products
    (``x**3`` is ``x*x*x``, 5 nodes): the size the search would give it without ``square``
    or ``pow``."""
    if expression.is_Atom:
        return 1
    if isinstance(expression, sympy.Pow):
        base, exponent = expression.args
        if exponent.is_Integer and exponent > 0:
            return int(exponent) * node_count(base) + int(exponent) - 1
        return 2 + node_count(base) + (0 if exponent == -1 else node_count(-exponent))
    arguments = [node_count(argument) for argument in expression.args]
    return sum(arguments) + max(len(arguments) - 1, 1)


#: Factors of a polynomial regrouped in every way only up to this many.
_MAX_FACTORS = 6


def factored_form(polynomial: sympy.Expr) -> sympy.Expr | None:
    """The shortest (by :func:`node_count`) product of a polynomial's rational factors, each
    group of factors multiplied out in Horner's form; ``None`` for float coefficients or a
    single factor.

    Nguyen-4's ``x**6 + x**5 + x**4 + x**3 + x**2 + x`` is 21 nodes in Horner's form,
    longer than the default ``maxsize``; as ``x*(x**3 + 1)*(x*(x + 1) + 1)`` (its factors
    ``x + 1`` and ``x**2 - x + 1`` multiplied back together) it is 17.
    """
    if polynomial.has(sympy.Float):
        return None  # factoring over the reals is slow and its factors carry rounding
    coefficient, factors = sympy.factor_list(polynomial)
    parts = [factor ** power for factor, power in factors]
    if not 2 <= len(parts) <= _MAX_FACTORS:
        return None
    best, best_size = None, None
    for size in range(0, len(parts) + 1):
        if size == 1:
            continue  # one factor "grouped" is the same form as none grouped
        for group in itertools.combinations(range(len(parts)), size):
            pieces = [sympy.horner(sympy.expand(sympy.Mul(*(parts[k] for k in group))))] \
                if group else []
            pieces += [sympy.horner(sympy.expand(parts[k])) if parts[k].is_Add else parts[k]
                       for k in range(len(parts)) if k not in group]
            if coefficient != 1:
                pieces.insert(0, coefficient)
            # Unevaluated: sympy would multiply a number into a sum.
            form = sympy.Mul(*pieces, evaluate=False) if len(pieces) > 1 else pieces[0]
            form_size = node_count(form)
            if best is None or form_size < best_size:
                best, best_size = form, form_size
    return best


def _tree(expression: sympy.Expr, language: Language, maxsize: int) -> Individual | None:
    try:
        tree = sympy_to_tree(expression, language)
    except (ValueError, TypeError, RecursionError):
        return None  # an operator the language lacks, or a non-real number
    if any(type(node) is Constant and not math.isfinite(node.value) for node in tree):
        return None  # sympy's 1e400 is a float inf: no formula to show
    return tree if len(tree) <= maxsize else None

