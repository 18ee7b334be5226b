"""Floats as three tokens: sign, mantissa and exponent (Kamienny et al. 2022).

A value ``v`` is written ``sign * m * 10**e`` with ``m`` an integer of
``precision`` digits (``10**(precision-1) <= m < 10**precision``), so every
number costs three tokens whatever its magnitude, and a network sees the
scale of a value (its exponent) apart from its digits. The tokens are
``"+"``/``"-"``, ``"N314"`` and ``"E-2"`` (3.14 at precision 3).

Exponents are clipped to ``[-max_exponent, max_exponent]``: smaller
magnitudes round to zero, larger ones saturate at the largest number.
Everything here is numpy and vectorised; the token ids are positions in a
:class:`~hybridsr.transformer.vocabulary.Vocabulary`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FloatFormat", "SIGN_TOKENS"]

#: The sign tokens; distinct from the operators, which are named by ident (``add``, ``sub``).
SIGN_TOKENS = ("+", "-")


@dataclass(frozen=True)
class FloatFormat:
    """How many mantissa digits, and which exponents, a float encoding has.

    Attributes
    ----------
    precision : int
        Significant digits kept (relative rounding error at most
        ``0.5 * 10**(1 - precision)``).
    max_exponent : int
        Largest exponent token (and minus the smallest).
    """

    precision: int = 3
    max_exponent: int = 40

    def __post_init__(self):
        if not 1 <= self.precision <= 4:
            raise ValueError(f"precision must be 1 to 4 digits, got {self.precision!r}")
        if self.max_exponent < self.precision:
            raise ValueError(f"max_exponent must be at least precision, got {self.max_exponent!r}")

    @property
    def mantissa_tokens(self) -> tuple[str, ...]:
        width = self.precision
        return tuple(f"N{m:0{width}d}" for m in range(10**width))

    @property
    def exponent_tokens(self) -> tuple[str, ...]:
        return tuple(f"E{e}" for e in range(-self.max_exponent, self.max_exponent + 1))

    @property
    def largest(self) -> float:
        """The largest magnitude that encodes without saturating."""
        return (10**self.precision - 1) * 10.0**self.max_exponent

    def split(self, values) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sign (0 for +, 1 for -), mantissa and exponent offset of each value.

        Returns three int arrays of ``values``' shape: the sign index into
        :data:`SIGN_TOKENS`, the mantissa (``0 .. 10**precision - 1``) and the
        exponent shifted by ``max_exponent`` (``0 .. 2 * max_exponent``), that
        is the indices into :attr:`mantissa_tokens` and :attr:`exponent_tokens`.
        Non-finite values raise.
        """
        v = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(v)):
            raise ValueError("only finite numbers can be encoded")
        p, top = self.precision, self.max_exponent
        sign = (v < 0).astype(np.int64)
        magnitude = np.abs(v)
        # Below the smallest number the exponents reach, a value encodes as zero.
        nonzero = magnitude >= 10.0 ** (p - 1 - top)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            exponent = np.where(nonzero, np.floor(np.log10(np.where(nonzero, magnitude, 1.0))), 0)
            exponent = exponent.astype(np.int64) - (p - 1)
            mantissa = np.rint(times_power_of_ten(magnitude, -exponent))
            # log10 can land one off the true exponent, and rounding can reach 10**p.
            over = mantissa >= 10**p
            mantissa = np.where(over, np.rint(mantissa / 10), mantissa)
            exponent = exponent + over
            under = nonzero & (mantissa < 10 ** (p - 1))
            mantissa = np.where(under, np.rint(times_power_of_ten(magnitude, 1 - exponent)), mantissa)
            exponent = exponent - under
        mantissa = np.where(nonzero, mantissa, 0).astype(np.int64)
        tiny = exponent < -top
        huge = exponent > top
        mantissa = np.where(tiny, 0, np.where(huge, 10**p - 1, mantissa))
        exponent = np.clip(np.where(tiny | ~nonzero, 0, exponent), -top, top)
        return sign, mantissa, exponent + top

    def join(self, sign, mantissa, exponent) -> np.ndarray:
        """The values that :meth:`split` indices stand for."""
        sign = np.where(np.asarray(sign) == 1, -1.0, 1.0)
        exponent = np.asarray(exponent, dtype=np.int64) - self.max_exponent
        return sign * times_power_of_ten(np.asarray(mantissa, dtype=np.float64), exponent)

    def round(self, values) -> np.ndarray:
        """``values`` as they come back after encoding (rounded to ``precision`` digits)."""
        return self.join(*self.split(values))


# Powers of ten as Python parses them (correctly rounded, exact up to 1e22).
_POWERS_OF_TEN = np.array([float(f"1e{k}") for k in range(309)])


def times_power_of_ten(x, exponent) -> np.ndarray:
    """``x * 10**exponent`` by one multiplication or division by a tabled power.

    The same for a scalar as for an array: numpy's ``10.0**e`` goes through
    its scalar pow for one value and its SIMD loop for many, which differ in
    the last bit (numpy 2.4: ``781 * 10.0**-5`` and its array twin), and
    encoding must round-trip exactly.
    """
    e = np.asarray(exponent, dtype=np.int64)
    power = _POWERS_OF_TEN[np.minimum(np.abs(e), len(_POWERS_OF_TEN) - 1)]
    x = np.asarray(x, dtype=np.float64)
    return np.where(e >= 0, x * power, x / power)
