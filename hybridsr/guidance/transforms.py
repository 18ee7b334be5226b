"""Changes of the target under which a law becomes simpler (AI Feynman's transformations).

``1/y``, ``exp(y)`` or ``y**2`` of a law may separate, or be a short sum,
where the law itself is neither: Compton's ``1/E'`` is a sum, so is the
square of the law of cosines. A generator seeks its structure or its fit in
``forward(y)`` and proposes ``inverse(F)`` for each formula ``F`` it found,
which the search can write only with its ``operators``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy

__all__ = ["Transform", "TRANSFORMS", "usable_transforms"]


@dataclass(frozen=True)
class Transform:
    """A target transform: ``forward`` on the data (of derivative ``slope``), ``inverse`` on
    formulas and ``backward`` (its numpy twin) on predictions; it ``applies`` to targets it
    keeps finite."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    inverse: Callable[[sympy.Expr], sympy.Expr]
    backward: Callable[[np.ndarray], np.ndarray]
    slope: Callable[[np.ndarray], np.ndarray]
    operators: tuple[str, ...]
    applies: Callable[[np.ndarray], bool]


def _one_sign(y: np.ndarray) -> bool:
    return bool(np.all(y > 0) or np.all(y < 0))


#: The transforms, the identity first.
TRANSFORMS = (
    Transform("identity", lambda y: y, lambda f: f, lambda f: f, np.ones_like, (),
              lambda y: True),
    # 1/y = 1/E + (1 - cos(theta))/(m c^2) splits where Compton's E' does not.
    Transform("inverse", lambda y: 1.0 / y, lambda f: 1 / f, lambda f: 1.0 / f,
              lambda y: -1.0 / y ** 2, ("/",), _one_sign),
    # exp(-log(lambda)) = R (1/n1^2 - 1/n2^2): a logarithm of a sum splits after exp.
    Transform("exp", np.exp, sympy.log, np.log, np.exp, ("log",),
              lambda y: bool(np.ptp(y) < 50 and np.max(y) < 300)),
    # x1**2 + x2**2 - 2*x1*x2*cos(theta) is a sum; its square root is not.
    Transform("square", np.square, sympy.sqrt, np.sqrt, lambda y: 2.0 * y, ("sqrt",),
              lambda y: bool(np.all(y > 0))),
    # exp(-log(lambda)) = R/n1**2 - R/n2**2 is a short sum; exp(log(lambda)) is its inverse,
    # which separates (a split sees both alike) but is no sum.
    Transform("negexp", lambda y: np.exp(-y), lambda f: -sympy.log(f), lambda f: -np.log(f),
              lambda y: -np.exp(-y), ("log",), lambda y: bool(np.ptp(y) < 50 and np.min(y) > -300)),
    # log(x1**x2) = x2*log(x1), log(a*exp(b*x)) = log(a) + b*x: products become sums.
    Transform("log", np.log, sympy.exp, np.exp, lambda y: 1.0 / y, ("exp",),
              lambda y: bool(np.all(y > 0))),
    # 1/y**2 = 1/v**2 - 1/c**2 for the relativistic v/sqrt(1 - v**2/c**2).
    Transform("inverse_square", lambda y: 1.0 / y ** 2, lambda f: 1 / sympy.sqrt(f),
              lambda f: 1.0 / np.sqrt(f), lambda y: -2.0 / y ** 3, ("/", "sqrt"),
              lambda y: bool(np.all(y > 0))),
)


def usable_transforms(y: np.ndarray, operators, names=None) -> list[Transform]:
    """The transforms (of ``names``, in that order; default all) that apply to ``y`` and whose
    inverse ``operators`` can write."""
    by_name = {transform.name: transform for transform in TRANSFORMS}
    chosen = TRANSFORMS if names is None else tuple(by_name[name] for name in names)
    operators = set(operators)
    return [t for t in chosen
            if set(t.operators) <= operators and t.applies(y)]
