"""Hypothesis strategies for expression trees, and the numeric checks their tests share.

Trees come from :func:`hybridsr.expr.random_tree` with a drawn size and seed,
so every tree the strategy yields is one the package itself can grow, and
hypothesis shrinks failures towards small sizes and small seeds.
"""

import warnings

import numpy as np
import sympy
from hypothesis import strategies as st

from hybridsr.expr import Individual, Language, random_tree, variable_symbols

# Relative change of inputs and constants used to find points where a formula is
# ill-conditioned (sin of a huge argument): there, rewriting it in another
# but equal form legitimately changes the last digits by a lot.
_NUDGE = 1e-11
_STABLE_RTOL = 1e-8  # condition numbers up to 1000


@st.composite
def trees(
    draw,
    language: Language,
    *,
    min_size: int = 1,
    max_size: int = 15,
    constant_probability: float = 0.25,
) -> Individual:
    """Random trees of ``language`` with ``min_size`` to ``max_size`` nodes."""
    size = draw(st.integers(min_size, max_size), label="size")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    return random_tree(language, size, np.random.default_rng(seed),
                       constant_probability=constant_probability)


def sample_points(language: Language, n_points: int = 64, seed: int = 7) -> np.ndarray:
    """Points in [-3, 3] for every feature; the negatives take sqrt and log out of their domain."""
    return np.random.default_rng(seed).uniform(-3.0, 3.0, (n_points, language.n_features))


def sympy_values(expr: sympy.Expr, language: Language, X: np.ndarray) -> np.ndarray:
    """``expr`` at the rows of ``X`` through ``sympy.lambdify``; NaN where it is not real."""
    function = sympy.lambdify(variable_symbols(language), expr, "numpy")
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy warns when complex values are cast
        values = np.broadcast_to(np.asarray(function(*X.T), dtype=complex), (len(X),))
    return np.where(values.imag == 0, values.real, np.nan)


def stable_points(expr: sympy.Expr, language: Language, X: np.ndarray) -> np.ndarray:
    """Mask of the rows where ``expr`` is finite and barely moves when nudged.

    Both the inputs and the float constants are nudged, each its own way (a
    common factor would leave ``x/y`` unmoved), since rounding differences
    enter through either.
    """
    rng = np.random.default_rng(0)
    floats = sorted(expr.atoms(sympy.Float), key=float)
    nudged_expr = expr.xreplace(
        {f: sympy.Float(float(f) * (1 + _NUDGE * rng.uniform(-1.0, 1.0))) for f in floats})
    nudged_X = X * (1 + _NUDGE * rng.uniform(-1.0, 1.0, size=X.shape))
    here = sympy_values(expr, language, X)
    nudged = sympy_values(nudged_expr, language, nudged_X)
    with np.errstate(all="ignore"):
        return np.isfinite(here) & (np.abs(here - nudged) <= _STABLE_RTOL * np.abs(here))
