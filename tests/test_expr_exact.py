"""Readable forms: fitted constants written as the simple numbers they equal."""

import math

import numpy as np
import pytest
import sympy

from hybridsr.expr import readable_form, snap_number

x, y, z = sympy.symbols("x y z", real=True)


@pytest.mark.parametrize("value, expected", [
    (2.0, sympy.Integer(2)),
    (0.499999999999999, sympy.Float(0.5)),
    (-0.999999999999999, sympy.Integer(-1)),
    (0.333333333333333, sympy.Rational(1, 3)),
    (1 / (4 * math.pi), 1 / (4 * sympy.pi)),
    (9.86960440108936, sympy.pi ** 2),
    (-3.5 * math.pi, -sympy.Rational(7, 2) * sympy.pi),
    (1 / math.sqrt(2 * math.pi), 1 / sympy.sqrt(2 * sympy.pi)),
    (math.sqrt(3), sympy.sqrt(3)),
])
def test_simple_numbers_are_recognised(value, expected):
    assert sympy.simplify(snap_number(value) - expected) == 0


@pytest.mark.parametrize("value", [0.0, 0.41234, 1.0001, 73.3, 1e-12, math.e, math.inf, math.nan,
                                   # a fraction whose denominator is beyond 12
                                   1 / 13])
def test_other_numbers_stay_floats(value):
    assert snap_number(value) is None


def test_tolerance_is_relative():
    assert snap_number(0.25 * (1 + 1e-11)) == sympy.Float(0.25)
    assert snap_number(0.25 * (1 + 1e-7)) is None
    assert snap_number(0.25 * (1 + 1e-7), rtol=1e-6) == sympy.Float(0.25)


def test_fitted_constants_of_a_law_become_exact():
    fitted = 0.0795774715459477 * x / (y * z ** 2.0) + 0.999999999999999
    assert readable_form(fitted) == x / (4 * sympy.pi * y * z ** 2) + 1


def test_redundant_scale_of_a_fraction_is_divided_out():
    # -2 + 9/(3 - x) with numerator and denominator scaled by 2643539.4
    fitted = -1.99999999999933 + 23791854.6315701 / (7930618.2105251 - 2643539.4035088 * x)
    readable = readable_form(fitted)
    assert not readable.atoms(sympy.Float)
    assert sympy.simplify(readable - (-2 + 9 / (3 - x))) == 0


def test_scale_in_a_square_root_denominator():
    fitted = 5.0 / sympy.sqrt(8.0 - 8.0 * x ** 2)
    readable = readable_form(fitted)
    assert not readable.atoms(sympy.Float)
    values = np.linspace(-0.9, 0.9, 7)
    np.testing.assert_allclose(sympy.lambdify(x, readable)(values), 5 / np.sqrt(8 - 8 * values ** 2))


def test_noisy_constants_and_their_fractions_are_left_alone():
    fitted = 1.00064444860871 * x * sympy.exp(-0.0811273500094265 * y / (x - 0.0765040070380938))
    assert readable_form(fitted) == fitted
    assert readable_form(x + y) == x + y


def test_a_snap_that_would_divide_by_zero_is_not_made():
    fitted = 1 / (x - x + 1e-12) + y
    assert readable_form(fitted) == fitted


def test_constants_beyond_the_square_of_a_float_do_not_overflow():
    """Planck's 1.47e-50*nu**3 rescaled can hold 1e200; its square is no float."""
    assert snap_number(1e200) is None and snap_number(-3e300) is None
    assert snap_number(4e200) is None
    assert snap_number(1.7e308) is None  # over 1/pi as well as squared
    fitted = 1e200 * x / (2.5e-160 * y + 1.0) + 7.3e-180
    assert readable_form(fitted).free_symbols == {x, y}


def test_readable_form_computes_the_same_values():
    rng = np.random.default_rng(0)
    fitted = (0.5 * sympy.sin(12.5663706143592 * x - 10.9955742875643) + 0.119366207318922 * y ** 2
              + 1.7 / (3.4 + 6.8 * z))
    readable = readable_form(fitted)
    points = rng.uniform(0.1, 2.0, size=(3, 50))
    np.testing.assert_allclose(sympy.lambdify((x, y, z), readable)(*points),
                               sympy.lambdify((x, y, z), fitted)(*points), rtol=1e-9)


def test_a_products_coefficient_moves_into_its_sum():
    # I*(exp(u) - 1) as a structure generator's pieces multiply it out
    scale = 1 / 0.318493436006259
    fitted = 0.318493436006259 * x * (scale * sympy.exp(y) - scale)
    assert readable_form(fitted) == x * (sympy.exp(y) - 1)
    noisy = 0.3185 * x * (3.1 * sympy.exp(y) - 2.9)
    assert readable_form(noisy) == noisy


def test_a_coefficient_taken_out_of_the_product_before_its_last_factor():
    # Unevaluated, the factors keep this order: the sum, then two more factors.
    scale = 1 / 0.318493436006259
    fitted = sympy.Mul(0.318493436006259, scale * x - scale, y, z, evaluate=False)
    assert readable_form(fitted) == (x - 1) * y * z
