"""The seed document's worked example, f(x) = 3 sin(x) - 0.5 x.

The seed gives only the formula. The range, size and operators are our
choice: x uniform in [-10, 10] (a little over three periods, so the linear
drift is visible), 200 points, no noise, and the seed's PySR example operators
``+ - * /`` with ``sin cos``.
"""

from __future__ import annotations

from .problem import Problem, Variable

__all__ = ["seed_problems"]


def seed_problems() -> tuple[Problem, ...]:
    return (Problem(
        name="seed", suite="seed", title="3 sin(x) - 0.5x", formula="3*sin(x) - 0.5*x",
        variables=(Variable("x", -10, 10, "uniform"),), n_samples=200, noise=0.0,
        binary_operators=("+", "-", "*", "/"), unary_operators=("sin", "cos"),
        source="seed document 002 (the recovered expression of its PySR example)",
        description=("The seed's recovered expression f(x) = 3 sin(x) - 0.5x; x uniform in "
                     "[-10, 10], 200 points, no noise (range and size are our choice)."),
    ),)
