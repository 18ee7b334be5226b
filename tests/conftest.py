"""Shared fixtures: a few operator sets, each compiled once per test session.

Every distinct operator set costs one numba compilation (cached on disk
afterwards), so tests reuse these instead of building their own.
"""

import numpy as np
import pytest
from hypothesis import settings

from hybridsr.evaluate import Evaluator
from hybridsr.expr import Language
from hybridsr.operators import OperatorSet

ALL_BINARY = ("+", "-", "*", "/", "^")
ALL_UNARY = ("neg", "square", "cube", "sqrt", "exp", "log", "sin", "cos", "tan", "tanh", "abs", "inv")
SPECIAL = "special(x, y) = cos(x) * (x + y)"


@pytest.fixture(scope="session")
def full_set():
    """Every built-in operator plus the seed's custom operator."""
    return OperatorSet.from_spec(ALL_BINARY + (SPECIAL,), ALL_UNARY)


@pytest.fixture(scope="session")
def full_language(full_set):
    return Language(full_set, 3)


@pytest.fixture(scope="session")
def full_evaluator(full_set):
    return Evaluator(full_set)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


# The same examples on every run, so CI results do not depend on luck.
settings.register_profile("hybridsr", derandomize=True, deadline=None)
settings.load_profile("hybridsr")
