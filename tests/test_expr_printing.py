"""Trees as PySR-style text and as LaTeX."""

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from strategies import sample_points, stable_points, sympy_values, trees

from hybridsr.expr import (Constant, Individual, Language, format_constant, parse_string,
                           to_latex, to_latex_raw, to_string, tree_to_sympy)
from hybridsr.operators import OperatorSet

SPECIAL = "special(x, y) = cos(x) * (x + y)"
LANGUAGE = Language(OperatorSet.from_spec(
    ("+", "-", "*", "/", "^", SPECIAL), ("cos", "sin", "neg", "square", "sqrt", "exp", "abs")), 4)
NAMED = Language(LANGUAGE.operator_set, 4, ("alpha", "b", "speed", "x3"))
P, x = LANGUAGE.primitive, LANGUAGE.variable


def test_pysr_format():
    tree = Individual([P("+"), P("*"), x(0), x(0), P("cos"), x(3)])
    assert to_string(tree, LANGUAGE) == "((x0 * x0) + cos(x3))"


def test_display_names_are_used():
    tree = Individual([P("+"), P("*"), x(0), x(1), P("cos"), x(2)])
    assert to_string(tree, NAMED) == "((alpha * b) + cos(speed))"


def test_custom_operator_prints_as_a_call_and_expands_in_sympy():
    tree = Individual([P("special"), x(0), x(1)])
    assert to_string(tree, LANGUAGE) == "special(x0, x1)"
    assert str(tree_to_sympy(tree, LANGUAGE)) == "(x0 + x1)*cos(x0)"


def test_power_and_constants():
    tree = Individual([P("^"), x(0), P("neg"), Constant(-0.28087974)])
    assert to_string(tree, LANGUAGE) == "(x0 ^ neg(-0.28087974))"
    assert to_string(Individual([Constant(2.0 / 3.0)]), LANGUAGE, precision=3) == "0.667"


@pytest.mark.parametrize("value, precision, text", [
    (5.0, None, "5.0"), (-0.28087974, None, "-0.28087974"), (1e-20, None, "1e-20"),
    (3.14159265, 4, "3.142"), (123456.0, 2, "1.2e+05"),
])
def test_format_constant(value, precision, text):
    assert format_constant(value, precision) == text


def test_latex_uses_sympy_with_rounded_constants():
    tree = Individual([P("*"), Constant(1.23456789), P("sin"), x(0)])
    assert to_latex(tree, LANGUAGE) == r"1.235 \sin{\left(x_{0} \right)}"
    assert "1.23456789" in to_latex(tree, LANGUAGE, precision=None)
    assert to_latex(tree, NAMED) == r"1.235 \sin{\left(\alpha \right)}"


@pytest.mark.parametrize("value, text", [
    (365.19, "365"), (2.0, "2"), (73.33, "73.3"), (-0.5015, "-0.501"),
    (1234567.0, r"1.23 \cdot 10^{6}"), (1.23456e-10, r"1.23 \cdot 10^{-10}")])
def test_latex_constants_show_only_their_significant_digits(value, text):
    from hybridsr.expr.printing import rounded_number

    assert sympy.latex(rounded_number(value, 3)) == text


def test_raw_latex_shows_the_tree_structure():
    left = Individual([P("+"), P("+"), x(0), x(1), x(2)])
    right = Individual([P("+"), x(0), P("+"), x(1), x(2)])
    assert to_latex_raw(left, LANGUAGE) == "x_{0} + x_{1} + x_{2}"
    assert to_latex_raw(right, LANGUAGE) == r"x_{0} + \left(x_{1} + x_{2}\right)"
    # sympy's LaTeX would flatten both to the same text.
    assert to_latex(left, LANGUAGE) == to_latex(right, LANGUAGE)


@pytest.mark.parametrize("nodes, latex", [
    (lambda: [P("-"), x(0), Constant(-2.0)], r"x_{0} - \left(-2\right)"),
    (lambda: [P("*"), Constant(-0.5), x(0)], r"-0.5 x_{0}"),
    (lambda: [P("*"), x(0), P("+"), x(1), x(2)], r"x_{0} \left(x_{1} + x_{2}\right)"),
    (lambda: [P("/"), P("+"), x(0), x(1), x(2)], r"\frac{x_{0} + x_{1}}{x_{2}}"),
    (lambda: [P("^"), P("^"), x(0), x(1), x(2)], r"\left(x_{0}^{x_{1}}\right)^{x_{2}}"),
    (lambda: [P("square"), P("sin"), x(0)], r"\sin{\left(x_{0} \right)}^{2}"),
    (lambda: [P("neg"), P("neg"), x(0)], r"-\left(-x_{0}\right)"),
    (lambda: [P("sqrt"), P("abs"), x(0)], r"\sqrt{\left|{x_{0}}\right|}"),
])
def test_raw_latex_parenthesises_where_needed(nodes, latex):
    assert to_latex_raw(Individual(nodes()), LANGUAGE) == latex


def test_raw_latex_of_custom_operator_uses_its_template():
    tree = Individual([P("special"), P("+"), x(0), x(1), x(2)])
    assert to_latex_raw(tree, LANGUAGE) == \
        r"\left(\left(x_{0} + x_{1}\right) + x_{2}\right) \cos{\left(\left(x_{0} + x_{1}\right) \right)}"


def test_deep_trees_print_without_recursion():
    tree = Individual([P("neg")] * 5000 + [x(0)])
    assert to_string(tree, LANGUAGE).count("neg(") == 5000
    assert to_latex_raw(tree, LANGUAGE).startswith(r"-\left(-\left(")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trees(LANGUAGE, max_size=15))
def test_parse_string_reads_to_string_back(tree):
    expr = tree_to_sympy(tree, LANGUAGE)
    back = tree_to_sympy(parse_string(to_string(tree, LANGUAGE), LANGUAGE), LANGUAGE)
    X = sample_points(LANGUAGE)
    before, after = sympy_values(expr, LANGUAGE, X), sympy_values(back, LANGUAGE, X)
    compare = stable_points(expr, LANGUAGE, X) & np.isfinite(after)
    np.testing.assert_allclose(after[compare], before[compare], rtol=1e-9, atol=1e-12)
