"""Writing a formula's fitted constants as the numbers they stand for.

On noise-free data the optimiser fits a constant to every digit the data
determine, so ``0.0795774715459477`` is ``1/(4*pi)`` and ``0.999999999999999``
is ``1``. :func:`readable_form` writes every float of a sympy expression that
equals a simple number to within a relative ``1e-9`` as that number (as AI
Feynman snaps its constants): a whole number, a fraction ``p/q`` with ``|p| <= 100`` and
``q <= 12`` (written as a decimal where it has a short one: ``0.5``), such a fraction times a power of pi (exponents from -2 to 2 in
halves), or the square root of such a fraction (``1/sqrt(2*pi)``). A random
float lands that close to one of these about once in a million; on noisy data
the fitted constants carry the noise and stay floats.

A fraction also carries a redundant scale when every constant of its
denominator is free: ``23791854.6/(7930618.2 - 2643539.4*x)`` is ``9/(3 - x)``.
Before snapping, each such denominator is divided through by whichever of
its coefficients leaves the fewest floats after snapping, and a product's
coefficient is multiplied into a sum it holds where that leaves fewer
(``0.3185*I*(3.1398*exp(u) - 3.1398)`` is ``I*(exp(u) - 1)``); the
expression is unchanged up to float rounding, and the scale no longer hides
the numbers.
"""

from __future__ import annotations

from fractions import Fraction

import sympy

__all__ = ["readable_form", "snap_number", "SNAP_RTOL"]

#: Relative distance within which a float is written as a simple number.
SNAP_RTOL = 1e-9
# Largest denominator and numerator of the fractions tried.
_MAX_DENOMINATOR = 12
_MAX_NUMERATOR = 100
# Powers of pi tried, simplest first (pi**0 is the plain fraction).
_PI_POWERS = tuple((sympy.pi ** exponent, float(sympy.pi ** exponent)) for exponent in (
    0, 1, -1, 2, -2, sympy.Rational(1, 2), sympy.Rational(-1, 2),
    sympy.Rational(3, 2), sympy.Rational(-3, 2)))


def snap_number(value: float, rtol: float = SNAP_RTOL) -> sympy.Expr | None:
    """The simple number within ``rtol`` (relative) of ``value``, or None.

    Tried in order of simplicity: ``p/q``, ``p/q * pi**k``, then
    ``sqrt(p/q) * pi**k`` (``|p| <= 100``, ``q <= 12``, ``k`` from -2 to 2 in
    halves). Zero and non-finite values are never snapped.

    Examples
    --------
    >>> snap_number(0.0795774715459477)
    1/(4*pi)
    >>> snap_number(0.398942280401433)
    sqrt(2)/(2*sqrt(pi))
    >>> snap_number(0.499999999999999), snap_number(2.0), snap_number(0.41234) is None
    (0.500000000000000, 2, True)
    """
    value = float(value)
    if value == 0.0 or value != value or abs(value) == float("inf"):
        return None
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    for squared in (False, True):
        for power, scale in _PI_POWERS:
            target = magnitude / scale
            if squared:
                target *= target
            if target == float("inf"):  # above 1e154 squared, or near the float limit over pi**-k
                continue
            fraction = Fraction(target).limit_denominator(_MAX_DENOMINATOR)
            if fraction == 0 or fraction.numerator > _MAX_NUMERATOR:
                continue
            rational = sympy.Rational(fraction.numerator, fraction.denominator)
            root = fraction ** 0.5 if squared else fraction
            if abs(float(root) * scale - magnitude) > rtol * magnitude:
                continue
            if not squared and power == 1 and _is_short_decimal(fraction):
                # 2.5 reads as well as 5/2, and keeps the look of a fitted constant.
                return sympy.Integer(sign * fraction.numerator) if fraction.denominator == 1 \
                    else sympy.Float(sign * float(fraction))
            return sign * (sympy.sqrt(rational) if squared else rational) * power
    return None


def _is_short_decimal(fraction: Fraction) -> bool:
    """Whether ``fraction`` has a terminating decimal expansion (its denominator divides 10**k)."""
    denominator = fraction.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


def readable_form(expression: sympy.Expr, rtol: float = SNAP_RTOL) -> sympy.Expr:
    """``expression`` with redundant scales removed and near-simple floats written exactly.

    See the module docstring. The result computes the same values as
    ``expression`` up to a relative ``rtol`` in each constant.

    Examples
    --------
    >>> x = sympy.Symbol("x")
    >>> readable_form(-1.99999999999933 + 23791854.6315701/(7930618.2105251 - 2643539.4035088*x))
    -2 + 3/(1 - x/3)
    """
    if not expression.atoms(sympy.Float):
        return expression
    readable = _snap_floats(_rescale_denominators(expression, rtol), rtol)
    # Snapping can make a denominator exactly zero (a formula dividing by a
    # tiny difference); such a formula is left as it was.
    if readable.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        return expression
    return readable


def _snap_floats(expression: sympy.Expr, rtol: float) -> sympy.Expr:
    replacements = {}
    for number in expression.atoms(sympy.Float):
        snapped = snap_number(float(number), rtol)
        if snapped is not None:
            replacements[number] = snapped
    return expression.xreplace(replacements) if replacements else expression


def _float_count(expression: sympy.Expr, rtol: float) -> int:
    return sum(snap_number(float(number), rtol) is None
               for number in expression.atoms(sympy.Float))


def _rescale_denominators(expression: sympy.Expr, rtol: float) -> sympy.Expr:
    """Bottom-up: each product's sums rescaled (:func:`_rescaled_options`) where that leaves
    fewer floats after snapping."""
    if expression.is_Atom:
        return expression
    arguments = [_rescale_denominators(argument, rtol) for argument in expression.args]
    rebuilt = expression.func(*arguments) if arguments != list(expression.args) else expression
    factors = list(rebuilt.args) if rebuilt.is_Mul else [rebuilt]
    if not any(_rescaled_options(factors, k) for k in range(len(factors))):
        return rebuilt
    # The scale taken out of a denominator joins the product's coefficient,
    # so each choice is judged on the whole product.
    position = 0
    while position < len(factors):  # a rescaling may take a number factor out of the list
        best, best_count = factors, _float_count(sympy.Mul(*factors), rtol)
        for option in _rescaled_options(factors, position):
            count = _float_count(sympy.Mul(*option), rtol)
            if count < best_count:
                best, best_count = option, count
        factors = best
        position += 1
    return sympy.Mul(*factors)


def _rescaled_options(factors: list, position: int) -> list[list]:
    """The product ``factors`` rewritten with the factor at ``position`` rescaled, each way.

    A sum in a negative power is divided through by one of its float
    coefficients (the scale joins the product); a sum in the first power
    takes in the product's numeric coefficient, ``0.32*x*(3.14*a - 3.14)``
    becoming ``x*(1.0*a - 1.0)``.
    """
    factor = factors[position]
    others = factors[:position] + factors[position + 1:]
    if _is_scalable_denominator(factor):
        base, exponent = factor.args
        options = []
        for term in base.args:
            coefficient = term.as_coeff_Mul()[0]
            if coefficient.is_Float and coefficient not in (1, -1):
                scaled = sympy.Add(*[t / coefficient for t in base.args]) ** exponent
                options.append([*others, scaled, coefficient ** exponent])
        return options
    if factor.is_Add and any(t.as_coeff_Mul()[0].is_Float for t in factor.args):
        numbers = [f for f in others if f.is_Number]
        if numbers:
            coefficient = sympy.Mul(*numbers)
            rest = [f for f in others if not f.is_Number]
            return [[*rest, sympy.Add(*[coefficient * t for t in factor.args])]]
    return []


def _is_scalable_denominator(factor: sympy.Expr) -> bool:
    """A sum of at least two terms, one with a float coefficient, raised to a negative power."""
    if not factor.is_Pow:
        return False
    base, exponent = factor.args
    return (base.is_Add and exponent.is_number and exponent.is_negative
            and any(t.as_coeff_Mul()[0].is_Float for t in base.args))
