"""Conversion between expression trees and sympy expressions.

:func:`tree_to_sympy` reads a tree as a formula: each operator is applied with
:meth:`~hybridsr.operators.Operator.to_sympy`, so custom operators expand to
their definitions and sympy's automatic evaluation already merges like terms
(``x0 + x0`` becomes ``2*x0``).

:func:`sympy_to_tree` goes the other way, to seed the search with formulas
found elsewhere (the neural part, a user's guess, a simplification). sympy
keeps sums, products and powers n-ary and writes ``x - y`` as
``x + (-1)*y``, so the conversion chooses among the language's operators:

* sums and products become left-leaning chains of ``+`` and ``*``; a term
  with a minus sign is subtracted when ``-`` exists;
* a factor with a negative power goes below ``/`` when ``/`` exists;
* integer powers become ``square``/``cube``/``*`` products while the
  exponent is small (products keep the constant optimiser's Jacobian finite
  for negative bases), otherwise ``^``; half-integer powers use ``sqrt``;
  ``x**-n`` uses ``inv`` or ``1 / ...``; other powers need ``^`` (or
  ``exp``, ``log`` and ``*``, as ``exp(y*log(x))``);
* ``-x`` becomes ``neg(x)``, ``-1 * x`` or ``0 - x``, whichever exists;
* every number-valued subexpression (``3``, ``1/2``, ``pi``, ``sqrt(2)``)
  becomes one :class:`~hybridsr.expr.tree.Constant`.

Trees compute in real numbers, sympy in complex ones. Both directions
therefore evaluate node by node with two corrections: a value that sympy
finds imaginary becomes NaN (as in the kernels), and ``Abs`` stays
unevaluated rather than expanding into ``re`` and ``im``.

Custom operators are not recognised inside their expansions; they are only
used where the formula names them (``special(x0, x1)`` in a string, or an
undefined sympy function called ``special``).
"""

from __future__ import annotations

import difflib
import math
from itertools import chain
from types import MappingProxyType
from typing import Mapping, Sequence

import sympy
from sympy.core.function import AppliedUndef
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

from ..operators import BUILTIN_OPERATORS, OPERATOR_ALIASES, Operator
from .traversal import is_constant, reduce_tree
from .tree import Constant, Individual, Language

__all__ = ["tree_to_sympy", "sympy_to_tree", "parse_expression", "variable_symbols"]

#: sympy functions that have a built-in operator of the same meaning.
_SYMPY_FUNCTIONS: Mapping[type, str] = MappingProxyType({
    sympy.sin: "sin", sympy.cos: "cos", sympy.tan: "tan", sympy.tanh: "tanh",
    sympy.exp: "exp", sympy.log: "log", sympy.Abs: "abs",
})

#: Names of operators (and their aliases) that sympy's parser does not know,
#: or knows with another meaning (``div`` is polynomial division there).
_OPERATOR_FUNCTION_NAMES = frozenset(
    name for name in chain(BUILTIN_OPERATORS, OPERATOR_ALIASES)
    if name.isidentifier() and name not in {"sin", "cos", "tan", "tanh", "exp", "log", "sqrt", "abs"}
)

# Integer powers up to this exponent are written as products even when ``^``
# exists; beyond it ``^`` is shorter.
_SMALL_EXPONENT = 4
# Without ``^``, an integer power is spelt out with cube, square and * only
# while the result holds at most about this many copies of the base, so that
# a formula such as x**1000 cannot turn into a huge tree.
_MAX_BASE_COPIES = 16
# Larger exponents are not even tried as products.
_LARGEST_EXPANDED_EXPONENT = 4096
# Subexpressions quoted in error messages are cut to this many characters.
_QUOTE_LENGTH = 60


def variable_symbols(language: Language, *, use_variable_names: bool = True) -> tuple[sympy.Symbol, ...]:
    """The real sympy symbols of a language's variables, in feature order.

    Parameters
    ----------
    language : Language
    use_variable_names : bool, default True
        Use the display names; otherwise the internal names ``x0 .. x{n-1}``.
    """
    names = language.variable_names if use_variable_names else _internal_names(language)
    return tuple(sympy.Symbol(name, real=True) for name in names)


def tree_to_sympy(tree: Sequence, language: Language, *, use_variable_names: bool = True) -> sympy.Expr:
    """The sympy expression of a tree.

    Parameters
    ----------
    tree : Individual or sequence of DEAP nodes
        A prefix-ordered tree written in ``language``.
    language : Language
    use_variable_names : bool, default True
        Name the variables by their display names; otherwise ``x0 .. x{n-1}``.

    Returns
    -------
    sympy.Expr
        Variables are real symbols and constants are ``sympy.Float`` (also
        when they hold a whole number, so that the expression shows which
        numbers the optimiser may still change). sympy evaluates as it
        builds, so the result may be simpler than the tree. Where sympy
        finds an operator's value imaginary or complex-infinite
        (``sqrt(-2.0)``, ``sqrt(-abs(x))``, ``1/0.0``) the subexpression
        becomes ``sympy.nan``, as the kernels give NaN or inf there (they
        differ only on a set of measure zero, such as ``x = 0`` in the second
        example).
    """
    symbols = variable_symbols(language, use_variable_names=use_variable_names)

    def leaf(node) -> sympy.Expr:
        if is_constant(node):
            return sympy.Float(node.value)
        return symbols[language.variable_index(node)]

    def operator(node, arguments) -> sympy.Expr:
        op = language.operator(node)
        return _real_result(_real_abs(*arguments) if op.name == "abs" else op.to_sympy(*arguments))

    return reduce_tree(tree, leaf, operator)


def _real_abs(argument: sympy.Expr) -> sympy.Expr:
    """``Abs(argument)``, left unevaluated unless the argument is a number.

    Trees compute in real numbers, but to sympy ``sqrt(x)`` may be complex,
    and evaluating ``Abs`` would expand it (and every ``Abs`` below it) into
    ``re``, ``im`` and ``atan2``, which no operator writes.
    """
    if argument.is_number:
        return sympy.Abs(argument)
    return sympy.Abs(argument, evaluate=False)


def _real_result(result: sympy.Expr) -> sympy.Expr:
    """``result``, or NaN where sympy found it imaginary although its arguments were real.

    That happens for ``sqrt(-2.0)``, ``log(-exp(x))``, ``(-0.5)**E`` and
    ``1/0.0``, where the kernels give NaN or inf. Keeping the imaginary unit
    would let sympy turn ``cos(I*x)`` into a real ``cosh(x)`` further up.
    """
    if result.has(sympy.I, sympy.zoo) or (result.is_number and not _is_real_number(result)):
        return sympy.nan
    return result


def _unevaluated_abs(argument: sympy.Expr, **options) -> sympy.Expr:
    """What ``abs`` and ``Abs`` mean while text is parsed without evaluation."""
    return sympy.Abs(argument, evaluate=False)


def _evaluate_in_reals(expression: sympy.Basic, language: Language) -> sympy.Basic:
    """Evaluate a parsed, unevaluated expression bottom-up as :func:`tree_to_sympy` would.

    Calls of built-in operators that the language lacks (``square(x)``
    without ``square``) are replaced by their definitions on the way.
    """
    if not expression.args:
        return expression
    arguments = [_evaluate_in_reals(argument, language) for argument in expression.args]
    if expression.func is sympy.Abs:
        return _real_result(_real_abs(*arguments))
    builtin = _missing_builtin(expression, language)
    result = expression.func(*arguments) if builtin is None else builtin.to_sympy(*arguments)
    return _real_result(result) if isinstance(result, sympy.Expr) else result


def _missing_builtin(node: sympy.Basic, language: Language) -> Operator | None:
    """The built-in operator that a call such as ``square(x)`` names, if the language lacks it."""
    if not isinstance(node, AppliedUndef):
        return None
    name = OPERATOR_ALIASES.get(node.func.__name__, node.func.__name__)
    builtin = BUILTIN_OPERATORS.get(name)
    if builtin is None or builtin.arity != len(node.args) or name in language.operator_set:
        return None
    return builtin


def parse_expression(text: str, language: Language) -> sympy.Expr:
    """Parse a formula written in PySR's or Python's notation.

    Both the display names and the internal names ``x0 ..`` of the variables
    are known (display names win where they clash), as real symbols; ``^``
    means power; operator names such as ``square`` or a custom operator's
    name parse as undefined functions that :func:`sympy_to_tree` maps back to
    the operators. The text is evaluated node by node as
    :func:`tree_to_sympy` evaluates a tree: ``abs`` stays as in
    :func:`_real_abs`, and a part that sympy finds imaginary
    (``sqrt(-2)``) becomes NaN, as the kernels would compute it. Like
    ``sympy.parse_expr`` this runs the text as Python, so parse only
    formulas you trust.

    Raises
    ------
    ValueError
        When sympy cannot parse the text.
    """
    namespace = {name: sympy.Function(name) for name in _OPERATOR_FUNCTION_NAMES}
    namespace.update({op.name: sympy.Function(op.name) for op in language.operator_set.operators
                      if op.definition is not None})
    # Python's abs() would evaluate Abs at once, before _evaluate_in_reals sees it.
    namespace.update(abs=_unevaluated_abs, Abs=_unevaluated_abs)
    namespace.update({name: sympy.Symbol(name, real=True) for name in _variable_indices(language)})
    try:
        expression = parse_expr(text, local_dict=namespace, evaluate=False,
                                transformations=standard_transformations + (convert_xor,))
        expression = _evaluate_in_reals(expression, language)
    except Exception as exc:  # the parser raises many kinds (SyntaxError, TypeError, TokenError ...)
        raise ValueError(f"cannot parse the formula {text!r}: {exc}") from None
    if not isinstance(expression, sympy.Expr):
        raise ValueError(f"the formula {text!r} is not an expression (it parses to {expression!r})")
    return expression


def sympy_to_tree(expr: sympy.Expr | str | float, language: Language) -> Individual:
    """Write a formula as a tree of the language's operators.

    Parameters
    ----------
    expr : sympy.Expr, str or number
        The formula; a string is read with :func:`parse_expression`. Symbols
        are matched to variables by name (display or internal name).
    language : Language

    Returns
    -------
    Individual
        A new tree with the value of ``expr`` (see the module docstring for
        how sums, products and powers are written).

    Raises
    ------
    ValueError
        When the formula uses symbols that are not variables of the language,
        contains a non-real number (``sympy.sqrt(-2)``; in text such a part
        becomes NaN, see :func:`parse_expression`), or needs operators the
        language lacks; the message names them and the operators that would
        do.
    """
    expression = parse_expression(expr, language) if isinstance(expr, str) else sympy.sympify(expr)
    if not isinstance(expression, sympy.Expr):
        raise ValueError(f"{expression!r} is not an expression")
    _check_symbols(expression, language)
    expression = _expand_missing_builtins(expression, language)
    builder = _TreeBuilder(language)
    nodes = builder.build(expression)
    if builder.shortfalls:
        needs = "; ".join(dict.fromkeys(builder.shortfalls))
        raise ValueError(f"cannot write {_quote(expression)} with the operators "
                         f"{list(language.operator_set.names)}: it needs {needs}. Add the missing "
                         f"operators to binary_operators or unary_operators.")
    return Individual(nodes)


def _internal_names(language: Language) -> tuple[str, ...]:
    return tuple(f"x{i}" for i in range(language.n_features))


def _variable_indices(language: Language) -> dict[str, int]:
    """Variable index by name; display names override clashing internal names."""
    indices = {name: i for i, name in enumerate(_internal_names(language))}
    indices.update({name: i for i, name in enumerate(language.variable_names)})
    return indices


def _check_symbols(expression: sympy.Expr, language: Language) -> None:
    known = _variable_indices(language)
    unknown = sorted(s.name for s in expression.free_symbols if s.name not in known)
    if not unknown:
        return
    hints = [f"{name!r} -> {near[0]!r}" for name in unknown
             if (near := difflib.get_close_matches(name, list(known), n=1))]
    hint = f" Did you mean {', '.join(hints)}?" if hints else ""
    internal = "" if language.variable_names == _internal_names(language) else \
        f" (or x0 .. x{language.n_features - 1})"
    raise ValueError(f"{_quote(expression)} uses unknown variable(s) {unknown}; the variables "
                     f"are {list(language.variable_names)}{internal}.{hint}")


def _expand_missing_builtins(expression: sympy.Expr, language: Language) -> sympy.Expr:
    """Replace calls such as ``square(x)`` by ``x**2`` where the language lacks ``square``.

    Done before conversion so that the expansions take part in sympy's
    evaluation (a ``neg(y)`` term becomes ``-y`` and is then subtracted).
    Parsed text has had this done already, in :func:`_evaluate_in_reals`.
    """
    return expression.replace(
        lambda node: _missing_builtin(node, language) is not None,
        lambda node: _missing_builtin(node, language).to_sympy(*node.args))


def _quote(expression: sympy.Expr) -> str:
    text = str(expression)
    return text if len(text) <= _QUOTE_LENGTH else text[: _QUOTE_LENGTH - 3] + "..."


def _is_real_number(number: sympy.Expr) -> bool:
    """Whether a number-valued expression is real; NaN and infinities count as real."""
    if number is sympy.nan or number.is_extended_real:
        return True
    if number.is_extended_real is False:
        return False
    value = complex(sympy.N(number))
    return value.imag == 0


def _real_value(number: sympy.Expr) -> float:
    """The float value of a number-valued expression; non-real numbers raise."""
    if number is sympy.nan:
        return math.nan
    if number.is_extended_real:
        return float(number)
    value = complex(sympy.N(number))  # nan+nanj for complex infinity
    if value.imag != 0 or math.isnan(value.imag):
        raise ValueError(f"the formula contains the non-real number {_quote(number)} (for example "
                         f"the square root or logarithm of a negative constant); trees are "
                         f"real-valued")
    return value.real


def _is_reciprocal_power(factor: sympy.Expr) -> bool:
    return factor.is_Pow and factor.exp.is_number and bool(factor.exp.is_extended_negative)


def _positive_first(terms: list[sympy.Expr]) -> list[sympy.Expr]:
    """Move the first term without a minus sign to the front: ``y - x``, not ``-x + y``."""
    for i, term in enumerate(terms):
        if not term.could_extract_minus_sign():
            return [term] + terms[:i] + terms[i + 1:]
    return terms


class _TreeBuilder:
    """Writes one sympy expression with a language's operators.

    Methods return prefix node lists. Where an operator is missing the
    builder records what would be needed in :attr:`shortfalls` and goes on
    with a placeholder, so that one error can list every missing operator.
    """

    def __init__(self, language: Language):
        self._language = language
        self._operators = language.operator_set
        self._primitives = {op.name: language.primitive(op.name) for op in self._operators.operators}
        self._variables = _variable_indices(language)
        self.shortfalls: list[str] = []

    # -- small pieces ----------------------------------------------------------
    def _has(self, name: str) -> bool:
        return name in self._primitives

    def _node(self, name: str, *arguments: list) -> list:
        return [self._primitives[name], *chain.from_iterable(arguments)]

    def _lack(self, alternatives: tuple[str, ...], purpose: str) -> list:
        if not alternatives:
            need = f"an operator for {purpose} (none is built in; a custom operator can define it)"
        elif len(alternatives) == 1:
            need = f"{alternatives[0]!r} for {purpose}"
        else:
            need = f"one of {', '.join(map(repr, alternatives))} for {purpose}"
        self.shortfalls.append(need)
        return [Constant(math.nan)]  # never returned to the caller: the conversion fails

    def _binary(self, name: str, left: list, right: list, purpose: str) -> list:
        if self._has(name):
            return self._node(name, left, right)
        return self._lack((name,), purpose)

    def _chain(self, name: str, trees: list[list], purpose: str) -> list | None:
        if not trees:
            return None
        result = trees[0]
        for tree in trees[1:]:
            result = self._binary(name, result, tree, purpose)
        return result

    # -- dispatch --------------------------------------------------------------
    def build(self, expr: sympy.Expr) -> list:
        if expr.is_number:
            return [Constant(_real_value(expr))]
        if expr.is_Symbol:
            return [self._language.variable(self._variables[expr.name])]
        if expr.is_Add:
            return self._sum(expr)
        if expr.is_Mul:
            return self._product(expr)
        if expr.is_Pow:
            return self._power(expr.base, expr.exp)
        if isinstance(expr, AppliedUndef):
            return self._named_function(expr)
        if expr.func in _SYMPY_FUNCTIONS:
            return self._function(_SYMPY_FUNCTIONS[expr.func], expr.args[0])
        for argument in expr.args:  # still report what the arguments lack
            self.build(argument)
        return self._lack((), f"{expr.func.__name__}(...)")

    # -- sums and products -----------------------------------------------------
    def _sum(self, expr: sympy.Expr) -> list:
        terms = expr.as_ordered_terms()
        # Number terms merge into one constant, added last unless it is the
        # only positive term: 1.5 - x rather than -x + 1.5.
        offset = sum(_real_value(t) for t in terms if t.is_number)
        ordered = [t for t in terms if not t.is_number] + ([sympy.Float(offset)] if offset else [])
        ordered = _positive_first(ordered)
        result = self.build(ordered[0])
        for term in ordered[1:]:
            result = self._add_term(result, term)
        return result

    def _add_term(self, total: list, term: sympy.Expr) -> list:
        if term.could_extract_minus_sign() and self._has("-"):
            return self._node("-", total, self.build(-term))
        if self._has("+"):
            return self._node("+", total, self.build(term))
        if self._has("-"):
            return self._node("-", total, self.build(-term))
        return self._lack(("+", "-"), "a sum")

    def _product(self, expr: sympy.Expr) -> list:
        coefficient = 1.0
        numerator, denominator = [], []
        for factor in expr.as_ordered_factors():
            if factor.is_number:
                coefficient *= _real_value(factor)
            elif self._has("/") and _is_reciprocal_power(factor):
                denominator.append(sympy.Pow(factor.base, -factor.exp))
            else:
                numerator.append(factor)
        top = self._chain("*", [self.build(f) for f in numerator], "a product")
        top = [Constant(coefficient)] if top is None else self._scale(coefficient, top)
        if not denominator:
            return top
        bottom = self._chain("*", [self.build(f) for f in denominator], "a product")
        return self._node("/", top, bottom)

    def _scale(self, coefficient: float, tree: list) -> list:
        if coefficient == 1:
            return tree
        if coefficient == -1:
            return self._negate(tree)
        return self._binary("*", [Constant(coefficient)], tree, "a product with a constant")

    def _negate(self, tree: list) -> list:
        if self._has("neg"):
            return self._node("neg", tree)
        if self._has("*"):
            return self._node("*", [Constant(-1.0)], tree)
        if self._has("-"):
            return self._node("-", [Constant(0.0)], tree)
        return self._lack(("neg", "*", "-"), "a negation")

    # -- powers ----------------------------------------------------------------
    def _power(self, base: sympy.Expr, exponent: sympy.Expr) -> list:
        if exponent.is_number:
            value = _real_value(exponent)
            if math.isfinite(value) and value.is_integer():
                return self._integer_power(self.build(base), int(value))
            if math.isfinite(value) and (2 * value).is_integer() and self._has("sqrt"):
                return self._integer_power(self._node("sqrt", self.build(base)), int(2 * value))
        if self._has("^"):
            return self._node("^", self.build(base), self.build(exponent))
        if self._has("exp") and self._has("log") and self._has("*"):
            # x**y == exp(y*log(x)) for x > 0; both are NaN for x < 0, as in the kernels.
            return self._node("exp", self._node("*", self.build(exponent),
                                                self._node("log", self.build(base))))
        return self._lack(("^",), f"the power {_quote(sympy.Pow(base, exponent))}")

    def _integer_power(self, base: list, n: int) -> list:
        if n == 0:
            return [Constant(1.0)]
        magnitude = self._positive_power(base, abs(n))
        if n > 0:
            if magnitude is not None:
                return magnitude
            needed = ("^",) if self._has("*") else ("*", "^")
            return self._lack(needed, f"raising to the power {n}")
        reciprocal = None if magnitude is None else self._reciprocal(magnitude)
        if reciprocal is not None:
            return reciprocal
        if self._has("^"):
            return self._node("^", base, [Constant(float(n))])
        return self._lack(("inv", "/", "^"), f"raising to the power {n}")

    def _positive_power(self, base: list, n: int) -> list | None:
        """``base**n`` (n >= 1): products for small n or without ``^``; None if impossible."""
        if n <= _SMALL_EXPONENT or not self._has("^"):
            product = self._repeated_product(base, n)
            if product is not None and len(product) <= _MAX_BASE_COPIES * (len(base) + 1):
                return product
        if self._has("^"):
            return self._node("^", base, [Constant(float(n))])
        return None

    def _repeated_product(self, base: list, n: int) -> list | None:
        """``base**n`` from ``cube``, ``square`` and ``*``; None if they cannot write it.

        Dividing the exponent by 3 or 2 wherever possible keeps the tree
        small: ``x**27`` is ``cube(cube(cube(x)))``.
        """
        if n == 1:
            return base
        if n > _LARGEST_EXPANDED_EXPONENT:
            return None
        for name, k in (("cube", 3), ("square", 2)):
            if n % k == 0 and self._has(name):
                inner = self._repeated_product(base, n // k)
                if inner is not None:
                    return self._node(name, inner)
        if not self._has("*"):
            return None
        if n % 2 == 0:
            half = self._repeated_product(base, n // 2)
            return None if half is None else self._node("*", half, half)
        rest = self._repeated_product(base, n - 1)
        return None if rest is None else self._node("*", rest, base)

    def _reciprocal(self, tree: list) -> list | None:
        if self._has("inv"):
            return self._node("inv", tree)
        if self._has("/"):
            return self._node("/", [Constant(1.0)], tree)
        return None

    # -- functions -------------------------------------------------------------
    def _function(self, name: str, argument: sympy.Expr) -> list:
        tree = self.build(argument)
        if self._has(name):
            return self._node(name, tree)
        if name == "abs" and self._has("sqrt"):
            # sympy turns sqrt(x**2) into Abs(x); undo that where abs is missing.
            squared = self._repeated_product(tree, 2)
            if squared is not None:
                return self._node("sqrt", squared)
        if name == "exp" and self._has("^"):
            return self._node("^", [Constant(math.e)], tree)
        return self._lack((name,), f"{name}(...)")

    def _named_function(self, expr: sympy.Expr) -> list:
        """A call named like one of the language's operators: ``square(x)``, ``special(x, y)``."""
        name = OPERATOR_ALIASES.get(expr.func.__name__, expr.func.__name__)
        arity = len(expr.args)
        if self._has(name) and self._operators[name].arity == arity:
            return self._node(name, *(self.build(a) for a in expr.args))
        for argument in expr.args:
            self.build(argument)
        return self._lack((), f"{expr.func.__name__}(...) with {arity} argument(s)")
