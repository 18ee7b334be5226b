"""Operator registry: the vocabulary that every expression is written in.

Each operator carries what the other layers need: its arity, a scalar source
snippet that the numba code generator inlines into the evaluation kernels,
the partial derivatives used for the constant Jacobian, its sympy and LaTeX
forms and its complexity. The names follow PySR (``+ - * / ^``, ``sin`` ...).

Operators are never "protected": outside a function's real domain the
kernels return NaN or inf and the candidate formula is marked invalid.

Custom operators are written as in PySR, e.g.
``"special(x, y) = cos(x) * (x + y)"``; their definition is parsed with sympy,
checked, and compiled into the kernels with the built-ins.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable, Mapping

import sympy
from sympy.printing.pycode import PythonCodePrinter

__all__ = [
    "Operator",
    "OperatorSet",
    "BUILTIN_OPERATORS",
    "OPERATOR_ALIASES",
    "CUSTOM_OPERATOR_SYNTAX",
    "parse_custom_operator",
    "resolve_operator",
]

CUSTOM_OPERATOR_SYNTAX = (
    'a custom operator is written as a definition string, e.g. '
    '"special(x, y) = cos(x) * (x + y)" (binary) or "cube_root(x) = x**(1/3)" (unary)'
)

# Symbols used for operator arguments in sympy forms and derivative snippets.
_A, _B = sympy.symbols("a b", real=True)


@dataclass(frozen=True)
class Operator:
    """One operator of the expression language.

    Attributes
    ----------
    name : str
        The user-facing name (``"+"``, ``"sin"``, ``"special"``).
    arity : int
        1 or 2.
    ident : str
        A Python identifier for the operator (``"add"`` for ``"+"``); DEAP's
        primitive name and the suffix of the generated kernel functions.
    kernel : str
        Scalar numba source in terms of ``a`` (and ``b``), e.g. ``"math.sin(a)"``.
    derivatives : tuple of str
        Source of the partial derivatives with respect to ``a`` (and ``b``),
        also in terms of ``a`` and ``b``.
    sympy_form : sympy.Expr
        The operator applied to the symbols ``a`` (and ``b``).
    latex : str
        A ``str.format`` template with ``{a}`` (and ``{b}``) placeholders.
    complexity : float
        The weight of one node of this operator (PySR's
        ``complexity_of_operators``).
    infix : str or None
        The infix symbol used when printing (``"+"``), None for a function call.
    definition : str or None
        The definition string of a custom operator, None for built-ins.
    """

    name: str
    arity: int
    ident: str
    kernel: str
    derivatives: tuple[str, ...]
    sympy_form: sympy.Expr = field(compare=False)
    latex: str = field(compare=False)
    complexity: float = 1.0
    infix: str | None = None
    definition: str | None = None

    @property
    def arguments(self) -> tuple[sympy.Symbol, ...]:
        return (_A, _B)[: self.arity]

    def to_sympy(self, *args: sympy.Expr) -> sympy.Expr:
        """Apply the operator to sympy arguments (custom ones expand to their definition)."""
        if len(args) != self.arity:
            raise TypeError(f"operator {self.name!r} takes {self.arity} argument(s), got {len(args)}")
        if self.name == "+":
            return sympy.Add(*args)
        if self.name == "*":
            return sympy.Mul(*args)
        return self.sympy_form.xreplace(dict(zip(self.arguments, args)))

    def with_complexity(self, complexity: float) -> "Operator":
        return Operator(
            name=self.name, arity=self.arity, ident=self.ident, kernel=self.kernel,
            derivatives=self.derivatives, sympy_form=self.sympy_form, latex=self.latex,
            complexity=float(complexity), infix=self.infix, definition=self.definition,
        )


def _builtin(name, arity, ident, kernel, derivatives, sympy_form, latex, infix=None):
    return Operator(name=name, arity=arity, ident=ident, kernel=kernel,
                    derivatives=tuple(derivatives), sympy_form=sympy_form, latex=latex,
                    infix=infix)


_BUILTINS = (
    _builtin("+", 2, "add", "a + b", ("1.0", "1.0"), _A + _B, "{a} + {b}", "+"),
    _builtin("-", 2, "sub", "a - b", ("1.0", "-1.0"), _A - _B, "{a} - {b}", "-"),
    _builtin("*", 2, "mul", "a * b", ("b", "a"), _A * _B, "{a} {b}", "*"),
    _builtin("/", 2, "div", "a / b", ("1.0 / b", "-a / (b * b)"), _A / _B,
             r"\frac{{{a}}}{{{b}}}", "/"),
    _builtin("^", 2, "pow", "a ** b", ("b * a ** (b - 1.0)", "a ** b * math.log(a)"),
             _A**_B, "{a}^{{{b}}}", "^"),
    _builtin("neg", 1, "neg", "-a", ("-1.0",), -_A, "-{a}"),
    _builtin("square", 1, "square", "a * a", ("2.0 * a",), _A**2, "{a}^{{2}}"),
    _builtin("cube", 1, "cube", "a * a * a", ("3.0 * a * a",), _A**3, "{a}^{{3}}"),
    _builtin("sqrt", 1, "sqrt", "math.sqrt(a)", ("0.5 / math.sqrt(a)",), sympy.sqrt(_A),
             r"\sqrt{{{a}}}"),
    _builtin("exp", 1, "exp", "math.exp(a)", ("math.exp(a)",), sympy.exp(_A),
             r"e^{{{a}}}"),
    _builtin("log", 1, "log", "math.log(a)", ("1.0 / a",), sympy.log(_A),
             r"\log{{\left({a} \right)}}"),
    _builtin("sin", 1, "sin", "math.sin(a)", ("math.cos(a)",), sympy.sin(_A),
             r"\sin{{\left({a} \right)}}"),
    _builtin("cos", 1, "cos", "math.cos(a)", ("-math.sin(a)",), sympy.cos(_A),
             r"\cos{{\left({a} \right)}}"),
    _builtin("tan", 1, "tan", "math.tan(a)", ("1.0 / (math.cos(a) * math.cos(a))",),
             sympy.tan(_A), r"\tan{{\left({a} \right)}}"),
    _builtin("tanh", 1, "tanh", "math.tanh(a)", ("1.0 - math.tanh(a) * math.tanh(a)",),
             sympy.tanh(_A), r"\tanh{{\left({a} \right)}}"),
    _builtin("abs", 1, "abs", "abs(a)", ("(a > 0.0) - (a < 0.0) + 0.0",), sympy.Abs(_A),
             r"\left|{{{a}}}\right|"),
    _builtin("inv", 1, "inv", "1.0 / a", ("-1.0 / (a * a)",), 1 / _A,
             r"\frac{{1}}{{{a}}}"),
)

#: The built-in operators by name, read-only.
BUILTIN_OPERATORS: Mapping[str, Operator] = MappingProxyType({op.name: op for op in _BUILTINS})

#: Other spellings users reach for (PySR's and Python's), mapped to the canonical name.
OPERATOR_ALIASES: Mapping[str, str] = MappingProxyType({
    "add": "+", "plus": "+",
    "sub": "-", "minus": "-",
    "mul": "*", "mult": "*", "times": "*",
    "div": "/", "divide": "/",
    "pow": "^", "**": "^", "safe_pow": "^",
    "safe_sqrt": "sqrt", "safe_log": "log",
    "sqr": "square", "inverse": "inv",
})

_DEFINITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(([^()]*)\)\s*=\s*(.+?)\s*$", re.S)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED_IDENTS = frozenset(op.ident for op in _BUILTINS) | frozenset(
    {"x", "const", "var", "math", "np", "a", "b"})

# Points at which a custom operator is exercised when registered: zero,
# negatives, large and small magnitudes (gplearn checks user functions alike).
_PROBE_VALUES = (0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-8, -1e8)


class _KernelPrinter(PythonCodePrinter):
    """Prints sympy as scalar Python that numba compiles (``math`` functions only)."""

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.as_base_exp()
        if exponent == -1:
            return f"(1.0 / ({self._print(base)}))"
        if exponent == 2:
            b = self._print(base)
            return f"(({b}) * ({b}))"
        if exponent == sympy.Rational(1, 2):
            return f"math.sqrt({self._print(base)})"
        power = repr(float(exponent)) if exponent.is_Rational else self._print(exponent)
        return f"(({self._print(base)}) ** ({power}))"

    def _print_Rational(self, expr):
        return repr(float(expr))

    def _print_Integer(self, expr):
        return repr(float(expr))

    def _print_sign(self, expr):
        a = self._print(expr.args[0])
        return f"((({a}) > 0.0) - (({a}) < 0.0) + 0.0)"


def _kernel_source(expr: sympy.Expr) -> str:
    printer = _KernelPrinter({"fully_qualified_modules": True, "standard": "python3"})
    src = printer.doprint(expr)
    if printer.module_imports.keys() - {"math"}:
        modules = ", ".join(sorted(printer.module_imports))
        raise ValueError(f"needs functions from {modules}, which the numba kernels cannot call")
    return src


def parse_custom_operator(definition: str) -> Operator:
    """Build an :class:`Operator` from a definition such as ``"f(x, y) = cos(x) * (x + y)"``.

    Raises
    ------
    ValueError
        When the definition is malformed, has an arity other than 1 or 2, uses
        symbols that are not its arguments or functions the kernels cannot
        compile, clashes with a built-in name, or fails on probe values.
    """
    match = _DEFINITION.match(definition)
    if not match:
        raise ValueError(f"malformed custom operator {definition!r}: {CUSTOM_OPERATOR_SYNTAX}")
    name, arg_text, body = match.groups()
    if name in BUILTIN_OPERATORS or name in OPERATOR_ALIASES or name in _RESERVED_IDENTS:
        raise ValueError(
            f"custom operator {definition!r}: the name {name!r} clashes with a built-in "
            f"operator or reserved name; choose another name")
    arg_names = [a.strip() for a in arg_text.split(",")] if arg_text.strip() else []
    if not 1 <= len(arg_names) <= 2:
        raise ValueError(
            f"custom operator {definition!r} has {len(arg_names)} argument(s); custom operators "
            f"must be unary or binary (1 or 2 arguments): {CUSTOM_OPERATOR_SYNTAX}")
    for arg in arg_names:
        if not _IDENTIFIER.match(arg):
            raise ValueError(f"custom operator {definition!r}: argument {arg!r} is not a name")
    if len(set(arg_names)) != len(arg_names):
        raise ValueError(f"custom operator {definition!r}: argument names repeat")

    local = {arg: sympy.Symbol(arg, real=True) for arg in arg_names}
    try:
        expr = sympy.parse_expr(body, local_dict=local, evaluate=True)
    except Exception as exc:  # sympy raises many kinds for bad syntax
        raise ValueError(
            f"malformed custom operator {definition!r}: cannot parse {body!r} ({exc}); "
            f"{CUSTOM_OPERATOR_SYNTAX}") from None
    if not isinstance(expr, sympy.Expr):
        raise ValueError(f"custom operator {definition!r}: the body is not a numeric expression")
    unknown_functions = sorted(str(f.func) for f in expr.atoms(sympy.core.function.AppliedUndef))
    if unknown_functions:
        raise ValueError(
            f"custom operator {definition!r} calls unknown function(s) {unknown_functions}; "
            f"use functions sympy knows (sin, exp, log, sqrt, erf, ...)")
    extra = sorted(str(s) for s in expr.free_symbols - set(local.values()))
    if extra:
        raise ValueError(
            f"custom operator {definition!r}: symbol(s) {extra} are not among its arguments "
            f"{arg_names}; write constants as numbers")

    arguments = (_A, _B)[: len(arg_names)]
    form = expr.xreplace({local[n]: s for n, s in zip(arg_names, arguments)})
    try:
        kernel = _kernel_source(form)
        derivatives = tuple(_kernel_source(_derivative(form, s)) for s in arguments)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise ValueError(f"custom operator {definition!r} cannot be compiled: {exc}") from None
    _probe(definition, kernel, len(arguments))
    latex_template = _latex_template(form, arguments)
    return Operator(name=name, arity=len(arguments), ident=name, kernel=kernel,
                    derivatives=derivatives, sympy_form=form, latex=latex_template,
                    definition=definition.strip())


def _derivative(form: sympy.Expr, symbol: sympy.Symbol) -> sympy.Expr:
    # Jumps (sign, Heaviside) differentiate to DiracDelta: zero almost everywhere.
    return sympy.diff(form, symbol).replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)


def _latex_template(form: sympy.Expr, arguments) -> str:
    """A LaTeX template in which the arguments are replaced by ``{a}``/``{b}`` slots."""
    markers = {s: sympy.Symbol(f"ARGMARK{i}") for i, s in enumerate(arguments)}
    text = sympy.latex(form.xreplace(markers)).replace("{", "{{").replace("}", "}}")
    for i, slot in enumerate(("{a}", "{b}")[: len(arguments)]):
        text = text.replace(f"ARGMARK_{{{{{i}}}}}", slot).replace(f"ARGMARK{i}", slot)
    return text


def _probe(definition: str, kernel: str, arity: int) -> None:
    """Run the kernel source in plain Python on probe values; domain faults are fine."""
    code = compile(kernel, f"<custom operator {definition}>", "eval")
    for a in _PROBE_VALUES:
        for b in (_PROBE_VALUES if arity == 2 else (0.0,)):
            try:
                value = eval(code, {"math": math, "__builtins__": {"abs": abs}}, {"a": a, "b": b})
            except (ValueError, ZeroDivisionError, OverflowError):
                continue  # outside the real domain: NaN/inf in the kernels
            except Exception as exc:
                raise ValueError(
                    f"custom operator {definition!r} fails at a={a}, b={b}: "
                    f"{type(exc).__name__}: {exc}") from None
            if isinstance(value, complex):
                continue  # e.g. (-1)**0.5 in Python; NaN in the kernels
            if not isinstance(value, (int, float)):
                raise ValueError(
                    f"custom operator {definition!r} returns {type(value).__name__}, not a number")


def resolve_operator(spec: str | Operator) -> Operator:
    """Turn a name, an alias or a definition string into an :class:`Operator`."""
    if isinstance(spec, Operator):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"an operator is a name or a definition string, got {spec!r}")
    if "=" in spec and "(" in spec:
        return parse_custom_operator(spec)
    name = spec.strip()
    name = OPERATOR_ALIASES.get(name, name)
    if name in BUILTIN_OPERATORS:
        return BUILTIN_OPERATORS[name]
    known = sorted(BUILTIN_OPERATORS) + sorted(OPERATOR_ALIASES)
    near = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean {near[0]!r}?" if near else ""
    raise ValueError(
        f"unknown operator {spec!r}.{hint} Known operators: {' '.join(sorted(BUILTIN_OPERATORS))}; "
        f"or define your own: {CUSTOM_OPERATOR_SYNTAX}")


@dataclass(frozen=True)
class OperatorSet:
    """The operators of one search, with opcodes and complexities resolved.

    Opcodes are positions in :attr:`operators`, binary operators first. Build
    one with :meth:`from_spec`.
    """

    operators: tuple[Operator, ...]
    complexity_of_constants: float = 1.0
    complexity_of_variables: float = 1.0

    def __post_init__(self):
        names = [op.name for op in self.operators]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"operator(s) {duplicates} listed more than once; list each once")
        for op in self.operators:
            if op.arity not in (1, 2):
                raise ValueError(f"operator {op.name!r} has arity {op.arity}; only 1 or 2 are allowed")

    @classmethod
    def from_spec(
        cls,
        binary_operators: Iterable[str | Operator] = ("+", "-", "*", "/"),
        unary_operators: Iterable[str | Operator] = (),
        complexity_of_operators: Mapping[str, float] | None = None,
        complexity_of_constants: float = 1.0,
        complexity_of_variables: float = 1.0,
    ) -> "OperatorSet":
        """Resolve operator names and definitions, check arities, apply complexities."""
        if isinstance(binary_operators, str) or isinstance(unary_operators, str):
            raise TypeError("binary_operators and unary_operators are lists of names, "
                            "e.g. ['+', '*'] and ['sin']")
        binary = [resolve_operator(s) for s in binary_operators]
        unary = [resolve_operator(s) for s in unary_operators]
        for op, expected, where in ([(o, 2, "binary_operators") for o in binary]
                                    + [(o, 1, "unary_operators") for o in unary]):
            if op.arity != expected:
                other = "unary_operators" if expected == 2 else "binary_operators"
                raise ValueError(f"operator {op.name!r} takes {op.arity} argument(s) but is listed "
                                 f"in {where}; move it to {other}")
        if not binary and not unary:
            raise ValueError("no operators given; pass binary_operators and/or unary_operators")
        operators = binary + unary
        weights = dict(complexity_of_operators or {})
        for key, value in weights.items():
            canonical = OPERATOR_ALIASES.get(key, key)
            matches = [i for i, op in enumerate(operators) if op.name == canonical]
            if not matches:
                near = difflib.get_close_matches(canonical, [o.name for o in operators], n=1)
                hint = f" Did you mean {near[0]!r}?" if near else ""
                raise ValueError(f"complexity_of_operators names {key!r}, which is not among this "
                                 f"search's operators {[o.name for o in operators]}.{hint}")
            _check_weight(f"complexity_of_operators[{key!r}]", value)
            operators[matches[0]] = operators[matches[0]].with_complexity(value)
        _check_weight("complexity_of_constants", complexity_of_constants)
        _check_weight("complexity_of_variables", complexity_of_variables)
        return cls(tuple(operators), float(complexity_of_constants), float(complexity_of_variables))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(op.name for op in self.operators)

    @property
    def binary(self) -> tuple[Operator, ...]:
        return tuple(op for op in self.operators if op.arity == 2)

    @property
    def unary(self) -> tuple[Operator, ...]:
        return tuple(op for op in self.operators if op.arity == 1)

    def opcode(self, name: str) -> int:
        name = OPERATOR_ALIASES.get(name, name)
        for i, op in enumerate(self.operators):
            if op.name == name or op.ident == name:
                return i
        raise KeyError(f"operator {name!r} is not in this operator set {list(self.names)}")

    def __getitem__(self, name: str) -> Operator:
        return self.operators[self.opcode(name)]

    def __contains__(self, name: object) -> bool:
        try:
            self.opcode(name)  # type: ignore[arg-type]
        except (KeyError, TypeError):
            return False
        return True

    def by_ident(self) -> dict[str, Operator]:
        return {op.ident: op for op in self.operators}

    def fingerprint(self) -> str:
        """A text that identifies the compiled kernels for this set (not the complexities)."""
        return "\n".join(f"{op.ident}/{op.arity}: {op.kernel} | {' | '.join(op.derivatives)}"
                         for op in self.operators)


def _check_weight(what: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be a positive finite number, got {value!r}")
