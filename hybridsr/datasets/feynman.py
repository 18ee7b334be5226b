"""The AI Feynman equations: 100 from the Feynman Lectures plus 20 bonus ones.

Source: the AI Feynman symbolic regression database (S.-M. Udrescu and
M. Tegmark, "AI Feynman: a physics-inspired method for symbolic regression",
Science Advances 2020, arXiv:1905.11481), files ``FeynmanEquations.csv`` and
``BonusEquations.csv`` from https://space.mit.edu/home/tegmark/aifeynman.html.
``feynman.csv`` next to this module merges the two: formulas and variable
ranges verbatim, units from the PMLB/SRBench ``feynman_*`` metadata. Every
formula and range was checked against PMLB's copies (119 of the 120; PMLB
lacks II.11.17, which three copies of the original CSV agree on).

As in the database, every variable is drawn uniformly from its range, and the
physical constants (G, c, h, k_B, ...) are variables too. Problem names follow
PMLB/SRBench: ``feynman_I_6_2a`` for equation I.6.2a, ``feynman_test_1`` for
bonus equation 1.

Defaults: 10,000 rows (our choice; the database files hold 1,000,000 rows and
PMLB's copies 100,000), no noise. The suggested operators are ``+ - * /`` plus
the functions each formula is written with (``sqrt`` for half-integer powers,
``arcsin``/``arccos`` as custom operators) -- a hint from the true formula;
pass a fixed operator set for a blind run.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from importlib import resources

from .problem import Problem, Variable, formula_operators

__all__ = ["feynman_problems", "FEYNMAN_CSV"]

SUITE = "feynman"
FEYNMAN_CSV = "feynman.csv"
N_SAMPLES = 10_000
SOURCE = ("AI Feynman database, Udrescu & Tegmark 2020 (arXiv:1905.11481), "
          "FeynmanEquations.csv / BonusEquations.csv; units from PMLB feynman_* metadata")
# The database writes numpy names; sympy reads these.
_SYMPY_NAMES = {"arcsin": "asin", "arccos": "acos", "ln": "log"}
_FUNCTION_CALL = re.compile(r"\b(arcsin|arccos|ln)\(")


def _sympy_formula(formula: str) -> str:
    return _FUNCTION_CALL.sub(lambda m: _SYMPY_NAMES[m.group(1)] + "(", formula)


def _rows() -> list[dict[str, str]]:
    text = resources.files(__package__).joinpath(FEYNMAN_CSV).read_text(encoding="utf-8")
    lines = [line for line in io.StringIO(text) if not line.startswith("#")]
    return list(csv.DictReader(lines))


def _problem(row: dict[str, str]) -> Problem:
    filename, formula = row["filename"], _sympy_formula(row["formula"])
    variables = tuple(
        Variable(row[f"v{i}_name"], float(row[f"v{i}_low"]), float(row[f"v{i}_high"]),
                 "uniform", row[f"v{i}_units"])
        for i in range(1, int(row["n_vars"]) + 1))
    main = row["set"] == "main"
    name = "feynman_" + (filename.replace(".", "_") if main else filename)
    title = filename if main else f"{filename} ({row['title']})"
    ranges = ", ".join(f"{v.name} in [{v.low:g}, {v.high:g}]" for v in variables)
    description = (
        f"AI Feynman {'equation' if main else 'bonus equation'} {filename} "
        f"(no. {row['number']}{'' if main else ', ' + row['title']}): "
        f"{row['output']} = {row['formula']}. Published ranges, each drawn uniformly: {ranges}.")
    problem = Problem(name=name, suite=SUITE, formula=formula, variables=variables,
                      target=row["output"], target_units=row["output_units"], title=title,
                      description=description, source=SOURCE, n_samples=N_SAMPLES)
    binary, unary = formula_operators(problem.sympy())
    return dataclasses.replace(problem, binary_operators=binary, unary_operators=unary)


def feynman_problems() -> tuple[Problem, ...]:
    """All 120 problems: the 100 main equations, then the 20 bonus ones."""
    return tuple(_problem(row) for row in _rows())
