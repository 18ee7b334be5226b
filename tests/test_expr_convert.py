"""Trees to sympy and back: values kept, operators chosen, errors explained."""

import math

import numpy as np
import pytest
import sympy
from deap import gp
from hypothesis import HealthCheck, given, settings
from strategies import sample_points, stable_points, sympy_values, trees

from hybridsr.expr import (Constant, Individual, Language, evaluate_tree, sympy_to_tree,
                           to_string, tree_to_sympy, variable_symbols)
from hybridsr.operators import OperatorSet

SPECIAL = "special(x, y) = cos(x) * (x + y)"

# Division, roots and logarithms make domain errors common, which is the point.
DOMAIN_LANGUAGE = Language(OperatorSet.from_spec(
    ("+", "-", "*", "/"), ("sqrt", "log", "exp", "sin", "cos", "neg", "square", "abs")), 3)
FULL_LANGUAGE = Language(OperatorSet.from_spec(
    ("+", "-", "*", "/", "^", SPECIAL),
    ("neg", "square", "cube", "sqrt", "exp", "log", "sin", "cos", "tan", "tanh", "abs", "inv")), 3)
NAMED_LANGUAGE = Language(OperatorSet.from_spec(("+", "-", "*", "/"), ("sin", "cos")), 2, ("x", "y"))

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def language_with(binary, unary=(), n_features=1, names=()):
    return Language(OperatorSet.from_spec(binary, unary), n_features, names)


def assert_round_trip_keeps_values(tree, language):
    expr = tree_to_sympy(tree, language)
    back = tree_to_sympy(sympy_to_tree(expr, language), language)
    X = sample_points(language)
    before, after = sympy_values(expr, language, X), sympy_values(back, language, X)
    compare = stable_points(expr, language, X) & np.isfinite(after)
    np.testing.assert_allclose(after[compare], before[compare], rtol=1e-9, atol=1e-12)


@PROPERTY
@given(trees(DOMAIN_LANGUAGE, max_size=20))
def test_round_trip_keeps_values(tree):
    assert_round_trip_keeps_values(tree, DOMAIN_LANGUAGE)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees(FULL_LANGUAGE, max_size=20))
def test_round_trip_keeps_values_with_every_operator(tree):
    assert_round_trip_keeps_values(tree, FULL_LANGUAGE)


@PROPERTY
@given(trees(DOMAIN_LANGUAGE, max_size=20))
def test_sympy_form_evaluates_like_the_tree(tree):
    X = sample_points(DOMAIN_LANGUAGE)
    with np.errstate(all="ignore"):
        direct = np.broadcast_to(gp.compile(tree, DOMAIN_LANGUAGE.pset)(*X.T), (len(X),))
    expr = tree_to_sympy(tree, DOMAIN_LANGUAGE)
    compare = np.isfinite(direct) & stable_points(expr, DOMAIN_LANGUAGE, X)
    np.testing.assert_allclose(sympy_values(expr, DOMAIN_LANGUAGE, X)[compare], direct[compare],
                               rtol=1e-7, atol=1e-9)


def test_tree_to_sympy_uses_real_symbols_and_float_constants():
    P, x = NAMED_LANGUAGE.primitive, NAMED_LANGUAGE.variable
    tree = Individual([P("+"), P("*"), Constant(2.0), x(0), P("sin"), x(1)])
    x_, y_ = sympy.symbols("x y", real=True)
    expr = tree_to_sympy(tree, NAMED_LANGUAGE)
    assert expr == sympy.Float(2.0) * x_ + sympy.sin(y_)
    assert all(s.is_real for s in expr.free_symbols)
    internal = tree_to_sympy(tree, NAMED_LANGUAGE, use_variable_names=False)
    assert {s.name for s in internal.free_symbols} == {"x0", "x1"}


def test_custom_operator_expands_in_sympy():
    P, x = FULL_LANGUAGE.primitive, FULL_LANGUAGE.variable
    expr = tree_to_sympy(Individual([P("special"), x(0), x(1)]), FULL_LANGUAGE)
    x0, x1 = variable_symbols(FULL_LANGUAGE)[:2]
    assert sympy.simplify(expr - sympy.cos(x0) * (x0 + x1)) == 0


def test_imaginary_intermediate_values_become_nan():
    P, x = DOMAIN_LANGUAGE.primitive, DOMAIN_LANGUAGE.variable
    # sqrt(-2.0) is NaN to the kernels; sympy must not carry 1.41*I onwards.
    tree = Individual([P("cos"), P("*"), x(0), P("sqrt"), Constant(-2.0)])
    assert tree_to_sympy(tree, DOMAIN_LANGUAGE) is sympy.nan
    assert not tree_to_sympy(Individual([P("sqrt"), P("neg"), P("abs"), x(0)]),
                             DOMAIN_LANGUAGE).has(sympy.I)


def test_guess_with_display_names():
    tree = sympy_to_tree("3*sin(x) - 0.5*x", NAMED_LANGUAGE)
    assert to_string(tree, NAMED_LANGUAGE) == "((3.0 * sin(x)) - (0.5 * x))"
    assert to_string(sympy_to_tree("3*sin(x0) - 0.5*x0", NAMED_LANGUAGE), NAMED_LANGUAGE) == \
        "((3.0 * sin(x)) - (0.5 * x))"


def test_sympy_expression_input_matches_by_symbol_name():
    x, y = sympy.symbols("x y")  # no assumptions: matched by name all the same
    tree = sympy_to_tree(x * y + sympy.pi, NAMED_LANGUAGE)
    assert to_string(tree, NAMED_LANGUAGE) == f"((x * y) + {math.pi!r})"


def test_plain_numbers_become_constants():
    assert list(sympy_to_tree(2, NAMED_LANGUAGE)) == [Constant(2.0)]
    assert list(sympy_to_tree(sympy.Rational(1, 4), NAMED_LANGUAGE)) == [Constant(0.25)]
    assert list(sympy_to_tree("sqrt(2) + E", NAMED_LANGUAGE)) == [Constant(math.sqrt(2) + math.e)]


@pytest.mark.parametrize("text, binary, unary, expected", [
    ("x**2", ["*"], ["square"], "square(x0)"),
    ("x**2", ["*"], [], "(x0 * x0)"),
    ("x**3", ["*"], ["square"], "(square(x0) * x0)"),
    ("x**3", ["*"], ["cube"], "cube(x0)"),
    ("x**27", ["*"], ["cube"], "cube(cube(cube(x0)))"),
    ("x**9", ["*", "^"], [], "(x0 ^ 9.0)"),
    ("x**0.5", ["*"], ["sqrt"], "sqrt(x0)"),
    ("x**0.5", ["^"], [], "(x0 ^ 0.5)"),
    ("x**-1", ["*"], ["inv"], "inv(x0)"),
    ("x**-1", ["/"], [], "(1.0 / x0)"),
    ("2/x**2", ["*", "/"], [], "(2.0 / (x0 * x0))"),
    ("x**y", ["*"], ["exp", "log"], "exp((x1 * log(x0)))"),
    ("-x", ["*"], ["neg"], "neg(x0)"),
    ("-x", ["*"], [], "(-1.0 * x0)"),
    ("-x", ["-"], [], "(0.0 - x0)"),
    ("y - x", ["+", "-"], [], "(x1 - x0)"),
    ("1.5 - x - y", ["+", "-"], [], "((1.5 - x0) - x1)"),
    ("Abs(x)", ["*"], ["sqrt"], "sqrt((x0 * x0))"),
    ("square(x)", ["*"], [], "(x0 * x0)"),
])
def test_operator_choice(text, binary, unary, expected):
    language = language_with(binary, unary, n_features=2, names=("x", "y"))
    tree = sympy_to_tree(text, language)
    assert to_string(tree, Language(language.operator_set, 2)) == expected


def test_custom_operator_is_used_where_the_formula_names_it():
    tree = sympy_to_tree("special(x0, x1) + 1", FULL_LANGUAGE)
    assert to_string(tree, FULL_LANGUAGE) == "(special(x0, x1) + 1.0)"


def test_missing_operators_are_all_named():
    language = language_with(["+", "*"], ["sin"], n_features=2, names=("x", "y"))
    with pytest.raises(ValueError) as error:
        sympy_to_tree("tan(x) + cosh(y) - x**y", language)
    message = str(error.value)
    assert "'tan'" in message and "cosh" in message and "'^'" in message
    assert "['+', '*', 'sin']" in message


def test_missing_operator_lists_alternatives():
    language = language_with(["+"], ["sin"])
    with pytest.raises(ValueError, match="one of 'neg', '\\*', '-'"):
        sympy_to_tree("sin(x0) - x0", language)


def test_unknown_symbols_list_the_variables():
    with pytest.raises(ValueError, match=r"unknown variable\(s\) \['z'\].*\['x', 'y'\]"):
        sympy_to_tree("x + z", NAMED_LANGUAGE)


def test_non_real_numbers_are_rejected():
    x = sympy.Symbol("x", real=True)
    with pytest.raises(ValueError, match="non-real"):
        sympy_to_tree(sympy.sqrt(-2) * x, NAMED_LANGUAGE)


def test_text_is_evaluated_in_real_numbers():
    # sympy alone would turn cos(sqrt(-0.5*exp(-x))) into a real cosh(...);
    # the kernels give NaN there, and so does the parsed tree.
    tree = sympy_to_tree("cos(sqrt(-0.5 / exp(x)))", NAMED_LANGUAGE)
    assert len(tree) == 1 and math.isnan(tree[0].value)
    # abs stays abs instead of expanding into re() and im() of a complex sqrt.
    language = language_with(["*"], ["abs", "sqrt"], names=("x",))
    assert to_string(sympy_to_tree("abs(sqrt(x))", language), language) == "abs(sqrt(x))"


def test_unparsable_text_is_a_value_error():
    with pytest.raises(ValueError, match="cannot parse"):
        sympy_to_tree("x +* y", NAMED_LANGUAGE)


def test_display_names_win_over_clashing_internal_names():
    language = language_with(["+", "*"], n_features=2, names=("x1", "x0"))
    tree = sympy_to_tree("x1 + 2*x0", language)
    # Feature 0 is shown as x1 and feature 1 as x0.
    assert evaluate_tree(tree, language, np.array([[1.0, 10.0]]))[0] == 21.0
