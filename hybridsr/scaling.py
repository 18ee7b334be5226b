"""Powers of ten that bring data columns near unit size.

Searches, networks and the transformer all start from constants and
weights near 1; a column of size 1e12 (a frequency) or 1e30 (a mass in kg)
makes ``exp(c * x)`` overflow and products explode before any fit can
shrink them. Dividing such a column by a power of ten, and folding the
power back into the formula afterwards, fixes that without changing the
formula's form: columns are scaled, never shifted (a shift would turn
``a**1.5`` into a function of ``a - mean``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["decade_scales"]


def decade_scales(A: np.ndarray, within: int = 2, *, below: bool = False) -> np.ndarray:
    """Per column of ``A`` (n, k), the power of ten nearest its root-mean-square (with
    ``below``, the largest power not above it, so that scaled columns have an RMS in
    [1, 10)), or 1 when that power's exponent is at most ``within`` in size (columns of
    everyday size keep their units)."""
    A = np.asarray(A, dtype=float)
    rms = np.sqrt(np.mean(A ** 2, axis=0))
    to_integer = np.floor if below else np.round
    with np.errstate(divide="ignore", invalid="ignore"):
        exponent = np.where(np.isfinite(rms) & (rms > 0), to_integer(np.log10(rms)), 0.0)
    return np.where(np.abs(exponent) > within, 10.0 ** exponent, 1.0)
