"""Nguyen-1..12 (Uy et al., Genetic Programming and Evolvable Machines 12, 2011).

Formulas, ranges and sizes as in the benchmark table of DSR/DSO (Petersen et
al., "Deep symbolic regression", ICLR 2021; ``dso/task/regression/benchmarks.csv``
and ``function_sets.csv`` of github.com/dso-org/deep-symbolic-optimization):
20 points drawn uniformly from U[-1, 1] for Nguyen-1..6, U[0, 2] for Nguyen-7,
U[0, 4] for Nguyen-8 and U[0, 1] for both variables of Nguyen-9..12, with the
"Koza" operator set ``+ - * /`` and ``sin cos exp log``. No noise.
"""

from __future__ import annotations

from .problem import Problem, Variable

__all__ = ["nguyen_problems"]

SUITE = "nguyen"
SOURCE = ("Nguyen benchmarks (Uy et al. 2011) as specified in DSO "
          "(github.com/dso-org/deep-symbolic-optimization benchmarks.csv)")
BINARY = ("+", "-", "*", "/")
UNARY = ("sin", "cos", "exp", "log")

# (number, formula, low, high, number of variables)
_TABLE = (
    (1, "x1**3 + x1**2 + x1", -1, 1, 1),
    (2, "x1**4 + x1**3 + x1**2 + x1", -1, 1, 1),
    (3, "x1**5 + x1**4 + x1**3 + x1**2 + x1", -1, 1, 1),
    (4, "x1**6 + x1**5 + x1**4 + x1**3 + x1**2 + x1", -1, 1, 1),
    (5, "sin(x1**2)*cos(x1) - 1", -1, 1, 1),
    (6, "sin(x1) + sin(x1 + x1**2)", -1, 1, 1),
    (7, "log(x1 + 1) + log(x1**2 + 1)", 0, 2, 1),
    (8, "sqrt(x1)", 0, 4, 1),
    (9, "sin(x1) + sin(x2**2)", 0, 1, 2),
    (10, "2*sin(x1)*cos(x2)", 0, 1, 2),
    (11, "x1**x2", 0, 1, 2),
    (12, "x1**4 - x1**3 + x2**2/2 - x2", 0, 1, 2),
)


def nguyen_problems() -> tuple[Problem, ...]:
    """Nguyen-1 .. Nguyen-12, named ``nguyen_1`` .. ``nguyen_12``."""
    problems = []
    for number, formula, low, high, n_vars in _TABLE:
        variables = tuple(Variable(f"x{i}", low, high, "uniform") for i in range(1, n_vars + 1))
        problems.append(Problem(
            name=f"nguyen_{number}", suite=SUITE, title=f"Nguyen-{number}", formula=formula,
            variables=variables, n_samples=20, noise=0.0, source=SOURCE,
            binary_operators=BINARY, unary_operators=UNARY,
            description=(f"Nguyen-{number}: y = {formula}; 20 points, each variable uniform in "
                         f"[{low}, {high}]; operators + - * / sin cos exp log.")))
    return tuple(problems)
