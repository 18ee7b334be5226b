import pytest
import sympy

from hybridsr.operators import (BUILTIN_OPERATORS, OperatorSet, parse_custom_operator,
                                resolve_operator)

PYSR_NAMES = {"+", "-", "*", "/", "^", "neg", "square", "cube", "sqrt", "exp", "log", "sin",
              "cos", "tan", "tanh", "abs", "inv"}


def test_builtins_use_pysr_names():
    assert set(BUILTIN_OPERATORS) == PYSR_NAMES
    for op in BUILTIN_OPERATORS.values():
        assert op.arity in (1, 2)
        assert op.complexity == 1.0
        assert len(op.derivatives) == op.arity


def test_opcodes_are_positions_binary_first():
    ops = OperatorSet.from_spec(["+", "*"], ["sin", "exp"])
    assert ops.names == ("+", "*", "sin", "exp")
    assert [ops.opcode(n) for n in ops.names] == [0, 1, 2, 3]
    assert ops.opcode("mult") == 1  # PySR's alias


def test_custom_operator_from_the_seed():
    op = parse_custom_operator("special(x, y) = cos(x) * (x + y)")
    a, b = op.arguments
    assert op.name == "special" and op.arity == 2
    assert sympy.simplify(op.sympy_form - sympy.cos(a) * (a + b)) == 0
    x, y = sympy.symbols("x y", real=True)
    assert sympy.simplify(op.to_sympy(x, y) - sympy.cos(x) * (x + y)) == 0
    assert r"\cos" in op.latex.format(a="x", b="y")
    assert "math.cos" in op.kernel


def test_unary_custom_operator_and_its_derivative():
    op = parse_custom_operator("cube_root(x) = x**(1/3)")
    assert op.arity == 1
    a = 8.0
    assert eval(op.kernel, {"math": __import__("math")}, {"a": a}) == pytest.approx(2.0)
    assert eval(op.derivatives[0], {"math": __import__("math")}, {"a": a}) == pytest.approx(1 / 12)


def test_complexity_override():
    ops = OperatorSet.from_spec(["+", "*"], ["sin"], complexity_of_operators={"sin": 3, "mult": 2})
    assert ops["sin"].complexity == 3.0 and ops["*"].complexity == 2.0 and ops["+"].complexity == 1.0


@pytest.mark.parametrize("spec, message", [
    ("sinn", "Did you mean 'sin'"),
    ("sinn", "special(x, y) = cos(x) * (x + y)"),
    ("f(x, y, z) = x + y + z", "unary or binary"),
    ("f() = 1", "unary or binary"),
    ("f(x) = x + q", "not among its arguments"),
    ("sin(x) = x", "clashes with a built-in"),
    ("mult(x, y) = x", "clashes with a built-in"),
    ("f(x) = foo(x)", "unknown function"),
    ("f(x) = (x", "malformed"),
    ("f(x, x) = x", "repeat"),
    ("f(x) = besselj(1, x)", "cannot be compiled"),
])
def test_operator_errors_name_the_problem(spec, message):
    with pytest.raises(ValueError, match=None) as info:
        resolve_operator(spec)
    assert message in str(info.value)


def test_unknown_operator_lists_known_ones():
    with pytest.raises(ValueError) as info:
        resolve_operator("cosh")
    text = str(info.value)
    assert "cos" in text and "tanh" in text and "custom operator" in text


@pytest.mark.parametrize("kwargs, message", [
    (dict(binary_operators=["sin"]), "move it to unary_operators"),
    (dict(binary_operators=["+"], unary_operators=["*"]), "move it to binary_operators"),
    (dict(binary_operators=["+", "plus"]), "more than once"),
    (dict(binary_operators=[], unary_operators=[]), "no operators"),
    (dict(binary_operators=["+"], complexity_of_operators={"sin": 2}), "not among"),
    (dict(binary_operators=["+"], complexity_of_operators={"+": -1}), "positive finite"),
    (dict(binary_operators=["+"], complexity_of_constants=0), "positive finite"),
])
def test_operator_set_errors(kwargs, message):
    with pytest.raises(ValueError) as info:
        OperatorSet.from_spec(**kwargs)
    assert message in str(info.value)


def test_operator_list_must_not_be_a_string():
    with pytest.raises(TypeError):
        OperatorSet.from_spec("+*")
