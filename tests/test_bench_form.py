"""The functional-form check (the PySR paper's criterion) and its table."""

import numpy as np
import pytest
import sympy

from hybridsr.bench.form import has_law_form, law_parameters
from hybridsr.bench.judge import judge
from hybridsr.bench.report import form_table

P = {"P": np.geomspace(1.25, 158.0, 60)}
L = {"L": np.geomspace(1e6, 3e9, 60)}
N = {"n": np.array([-1000.0, 0, 1, 2, 3, 4, 5, 6])}
LEAVITT = "-2.084*log(P)/log(10) + 15.65"
SCHECHTER = "log(0.0956352499790036*exp(-4.0e-9*L)/L**1.2)"
BODE = "log(0.3*2**n + 0.4)"


def test_law_parameters_free_the_constants_and_keep_the_structure():
    family, symbols, values = law_parameters(sympy.sympify("log(6.67e-11*m1*m2/r**2) + 3*x**(3/2)"))
    assert list(values) == [6.67e-11]  # the exponents and the integer 3 stay as they are
    assert family.has(symbols[0]) and family.has(sympy.Integer(-2))
    _, _, values = law_parameters(sympy.sympify(BODE))  # 2**n is exp(log(2)*n)
    assert sorted(values) == pytest.approx([0.3, 0.4, np.log(2)])


@pytest.mark.parametrize("model, truth, points, expected", [
    ("-0.93*log(P) + 15.4", LEAVITT, P, True),            # the slope refitted
    ("log(8054083.4/P)", LEAVITT, P, True),               # slope -1 per e-fold, 10% off
    ("-0.3*log(P) + 15.4", LEAVITT, P, False),            # slope off by more than a factor 2
    ("0.93*log(P) + 15.4", LEAVITT, P, False),            # the wrong sign
    ("-0.93*log(P) + 0.001*P + 15.4", LEAVITT, P, False),  # a term the law lacks
    ("-4.076e-9*L - 1.1743*log(L) - 2.7761", SCHECHTER, L, True),
    ("-1.1743*log(L) - 2.7761", SCHECHTER, L, False),     # exp(-L/L*) dropped
    ("(-1.7e-10*L - 1.23)*(log(L) + 1.4755)", SCHECHTER, L, False),
    ("log(0.3155*exp(0.6823*n) + 0.3934)", BODE, N, True),  # base 1.978 for 2
    ("log(exp(6.29e-8*exp(0.6795*n)) - 0.99999992) + 15.4358", BODE, N, False),  # only close
    ("73.4*D", "73.3*D", {"D": np.linspace(0.1, 2.0, 30)}, True),
    ("73.4*D + 0.5", "73.3*D", {"D": np.linspace(0.1, 2.0, 30)}, False),  # no offset in the law
    ("365.2*a**1.5", "365.25*sqrt(a**3)", {"a": np.geomspace(0.3, 40, 30)}, True),
    ("365.2*a**1.6", "365.25*sqrt(a**3)", {"a": np.geomspace(0.3, 40, 30)}, False),  # exponents fixed
    ("3.1*a**2", "3*a**1.5", {"a": np.geomspace(0.3, 40, 30)}, False),  # a float exponent too
    ("not a formula (", "73.3*D", {"D": np.linspace(0.1, 2.0, 30)}, False),
])
def test_has_law_form(model, truth, points, expected):
    assert has_law_form(model, truth, points, tuple(points)) is expected


def test_judge_reports_the_form_beside_srbench():
    verdict = judge("log(8054083.4/P)", ["15.6", "log(8054083.4/P)"], LEAVITT, 0.98,
                    names=("P",), positive=("P",), points=P)
    assert verdict.outcome == "failed"  # the slope differs: not SRBench's symbolic solution
    assert verdict.selected_form and verdict.front_form
    verdict = judge("15.6", ["15.6", "-0.93*log(P) + 15.4"], LEAVITT, 0.5, names=("P",), points=P)
    assert not verdict.selected_form and verdict.front_form
    assert not judge("15.6", ["15.6"], LEAVITT, 0.5, names=("P",)).front_form  # needs points


def test_form_table_counts_fronts_and_selections():
    records = [{"title": "Leavitt", "method": "m", "front_form": f, "selected_form": s}
               for f, s in [(True, True), (True, False), (False, False)]]
    records.append({"title": "Leavitt", "method": "old"})  # judged before the form check
    table = form_table(records)
    assert table.loc["Leavitt", "m"] == "2/3 (1, 1)"
    assert "old" not in table.columns
