"""Trees as text: PySR-style strings and LaTeX.

:func:`to_string` prints the tree exactly as it is built, PySR style: binary
operators with an infix symbol are fully parenthesised, ``((x0 * x0) +
cos(x3))``, everything else is a call, ``special(x0, x1)``. The text parses
back with :func:`parse_string`.

:func:`to_latex` shows the formula as sympy simplifies and typesets it;
:func:`to_latex_raw` shows the tree node by node with each operator's LaTeX
template, for when the structure matters more than the looks.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Sequence

import sympy

from .sympy_convert import sympy_to_tree, tree_to_sympy
from .traversal import is_constant, reduce_tree
from .tree import Individual, Language

__all__ = ["to_string", "to_latex", "to_latex_raw", "parse_string", "format_constant"]

# How tightly a piece of LaTeX binds, loosest first.
_SUM, _NEGATION, _PRODUCT, _POWER, _ATOM = range(5)
# The binding of a built-in operator's LaTeX; those not listed (calls,
# fractions, roots) are atoms, custom operators count as sums.
_RESULT_LEVEL = MappingProxyType({"+": _SUM, "-": _SUM, "neg": _NEGATION, "*": _PRODUCT,
                                  "^": _POWER, "square": _POWER, "cube": _POWER, "exp": _POWER})
# The weakest binding an argument may have in a slot that its template does
# not enclose; slots not listed (bases of powers, custom operators) take atoms only.
_SLOT_LEVEL = MappingProxyType({
    ("+", "a"): _SUM, ("+", "b"): _PRODUCT, ("-", "a"): _SUM, ("-", "b"): _PRODUCT,
    ("*", "a"): _NEGATION, ("*", "b"): _POWER, ("neg", "a"): _PRODUCT,
})
# Stand-ins for an argument while a LaTeX template is inspected.
_SLOT_MARKERS = MappingProxyType({"a": "\x00A\x00", "b": "\x00B\x00"})
# Delimiters that enclose a template's argument completely.
_GROUPS = (("{", "}"), (r"\left(", r"\right)"), (r"\left|", r"\right|"))


def format_constant(value: float, precision: int | None = None) -> str:
    """A constant as text: the shortest round-trip ``repr``, or ``precision`` significant digits."""
    if precision is None:
        return repr(float(value))
    return f"{float(value):.{precision}g}"


def to_string(tree: Sequence, language: Language, *, precision: int | None = None) -> str:
    """The tree as PySR prints it, e.g. ``((x0 * x0) + cos(x3))``.

    Parameters
    ----------
    tree : Individual or sequence of DEAP nodes
    language : Language
        Variables are shown by their display names.
    precision : int, optional
        Significant digits of the constants; by default the shortest text
        that reads back as the same float (``-0.28087974``).
    """
    names = language.variable_names

    def leaf(node) -> str:
        if is_constant(node):
            return format_constant(node.value, precision)
        return names[language.variable_index(node)]

    def operator(node, arguments: list[str]) -> str:
        op = language.operator(node)
        if op.infix is not None and op.arity == 2:
            return f"({arguments[0]} {op.infix} {arguments[1]})"
        return f"{op.name}({', '.join(arguments)})"

    return reduce_tree(tree, leaf, operator)


def to_latex(tree: Sequence, language: Language, *, precision: int | None = 4) -> str:
    """LaTeX of the formula as sympy writes it.

    The tree goes through :func:`~hybridsr.expr.sympy_convert.tree_to_sympy`
    (so like terms merge and custom operators expand), its floats are rounded
    to ``precision`` significant digits (None keeps them whole) and
    ``sympy.latex`` typesets the result.
    """
    expression = tree_to_sympy(tree, language)
    if precision is not None:
        expression = expression.xreplace(
            {f: rounded_number(float(f), precision) for f in expression.atoms(sympy.Float)})
    return sympy.latex(expression)


def rounded_number(value: float, precision: int) -> sympy.Number:
    """``value`` to ``precision`` significant digits, an integer when it rounds to one
    below ``10**precision`` (``365.19`` at 3 digits is ``365``, not ``365.0``)."""
    rounded = float(f"{value:.{precision}g}")
    if rounded.is_integer() and abs(rounded) < 10 ** precision:
        return sympy.Integer(int(rounded))
    return sympy.Float(f"{value:.{precision}g}", precision)


def to_latex_raw(tree: Sequence, language: Language, *, precision: int | None = 4) -> str:
    """LaTeX of the tree node by node, from each operator's ``latex`` template.

    Nothing is simplified or reordered. An argument is put in
    ``\\left( \\right)`` when its template slot does not enclose it (as
    ``\\frac{..}{..}`` and ``\\sin{\\left(..\\right)}`` do) and it binds
    less tightly than the slot demands, so ``(x + y) + z`` prints as
    ``x + y + z`` but ``x + (y + z)`` keeps its parentheses, and ``x - (-2)``
    never prints as ``x - -2``. Custom operators' slots are treated
    cautiously: any argument that is not a single symbol is enclosed.
    Constants are rounded to ``precision`` significant digits (None keeps
    them whole).
    """
    symbols = [sympy.latex(sympy.Symbol(name)) for name in language.variable_names]

    def leaf(node) -> tuple[str, int]:
        if not is_constant(node):
            return symbols[language.variable_index(node)], _ATOM
        value = node.value
        text = sympy.latex(rounded_number(value, precision) if precision else sympy.Float(value))
        if value < 0:
            return text, _NEGATION
        return text, _PRODUCT if r"\cdot" in text else _ATOM

    def operator(node, arguments: list[tuple[str, int]]) -> tuple[str, int]:
        op = language.operator(node)
        slots = {}
        for slot, (text, level) in zip("ab", arguments):
            loose = not _slot_is_enclosed(op.latex, slot)
            needed = _SLOT_LEVEL.get((op.name, slot), _ATOM)
            slots[slot] = rf"\left({text}\right)" if loose and level < needed else text
        level = _RESULT_LEVEL.get(op.name, _ATOM if op.definition is None else _SUM)
        return op.latex.format(**slots), level

    return reduce_tree(tree, leaf, operator)[0]


def parse_string(text: str, language: Language) -> Individual:
    """Read a formula such as the output of :func:`to_string` into a tree.

    This is :func:`~hybridsr.expr.sympy_convert.sympy_to_tree` on the text:
    ``^`` is power, operator names such as ``square`` or a custom operator's
    name are the operators. sympy evaluates while parsing, so the tree has
    the same value as the text but not necessarily the same shape.
    """
    return sympy_to_tree(text, language)


def _slot_is_enclosed(template: str, slot: str) -> bool:
    """Whether a template's ``{slot}`` sits alone inside braces or ``\\left..\\right`` pairs.

    A base below ``^`` counts as loose even in braces, since ``{x^{2}}^{3}``
    would still need the reader to know the grouping.
    """
    rendered = template.format(**_SLOT_MARKERS)
    marker = _SLOT_MARKERS[slot]
    before, _, after = rendered.partition(marker)
    before, after = before.rstrip(), after.lstrip()
    if after.startswith("^") or after.startswith("}^"):
        return False
    return any(before.endswith(opening) and after.startswith(closing) for opening, closing in _GROUPS)
