"""The structure generator: plans from a teacher, leaves solved, formulas assembled, seeding."""

import warnings

import numpy as np
import pytest
import sympy
import torch

from hybridsr import HybridSRRegressor
from hybridsr.bench.judge import symbolic_match
from hybridsr.guidance import GuidanceTask, GuidanceWarning, run_guidance
from hybridsr.guidance.decomposition import (Leaf, Merge, Split, StructureGenerator, describe,
                                             plan_structure)
from hybridsr.guidance.structure import View
from hybridsr.neural import Teacher

NAMES = ("m_0", "v", "c")
TRUTH = "m_0/sqrt(1 - v**2/c**2)"


def _relativistic(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([rng.uniform(1, 5, n), rng.uniform(1, 2, n), rng.uniform(3, 10, n)])
    return X, X[:, 0] / np.sqrt(1 - (X[:, 1] / X[:, 2]) ** 2)


class RelativisticMass(torch.nn.Module):
    """The law itself as a network: a teacher without error, so plans do not depend on training."""

    def forward(self, x):
        return x[:, 0] / torch.sqrt(1 - (x[:, 1] / x[:, 2]) ** 2)


class Compton(torch.nn.Module):
    def forward(self, x):
        return x[:, 0] / (1 + x[:, 0] / x[:, 1] ** 2 * (1 - torch.cos(x[:, 2])))


def _is_law(formula, X) -> bool:
    points = dict(zip(NAMES, X[:200].T))
    return symbolic_match(str(formula), TRUTH, names=NAMES, positive=NAMES, points=points)


def _task(X, y, seconds, teacher=None, unary=("sqrt",), names=NAMES):
    return GuidanceTask(X, y, names, unary, ("+", "-", "*", "/"), seconds, 0, teacher)


def _kinds(plan):
    if isinstance(plan, Leaf):
        return []
    children = plan.child if isinstance(plan, Merge) else plan.first + plan.second
    return [plan.hypothesis.kind] + [k for child in children for k in _kinds(child)]


def test_plan_splits_the_mass_off_and_merges_v_over_c():
    X, y = _relativistic()
    view = View.of_function(lambda P: P[:, 0] / np.sqrt(1 - (P[:, 1] / P[:, 2]) ** 2), X,
                            sympy.symbols(NAMES))
    (plan,) = plan_structure(view, np.random.default_rng(0), binary_operators=("+", "-", "*", "/"),
                             accept=0.15)
    # Both structures hold exactly, so either may come first.
    assert sorted(_kinds(plan)) == ["multiplicative", "ratio"]
    assert describe(plan) in ("[leaf(m_0) * ratio(v, c) -> leaf(v/c)]",
                              "ratio(v, c) -> [leaf(m_0) * leaf(v/c)]")
    split = plan if isinstance(plan, Split) else plan.child[0]
    # The part that varies most is solved on the teacher, the other on the data divided by it.
    assert split.first[0].view.symbols == sympy.symbols("m_0,")


def test_trained_teacher_shows_the_same_structure():
    X, y = _relativistic()
    # The generator's kind of teacher: small, and polished by L-BFGS.
    teacher = Teacher.fit(X, y, hidden=(32, 32), max_epochs=300, polish_seconds=3, random_state=0)
    view = View.of_function(teacher.predict, X, sympy.symbols(NAMES))
    (plan,) = plan_structure(view, np.random.default_rng(0), binary_operators=("+", "-", "*", "/"),
                             accept=0.15)
    assert "leaf(m_0) *" in describe(plan) and "ratio(v, c)" in describe(plan)


def test_generator_assembles_the_law_from_its_pieces():
    X, y = _relativistic()
    generator = StructureGenerator()
    formulas = generator.propose(_task(X, y, 6.0, teacher=RelativisticMass()))
    assert generator.last_report["transform"] == "identity"
    assert any(_is_law(f, X) for f in formulas)


def test_generator_inverts_the_target_when_that_splits_it():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(1, 3, 2000), rng.uniform(1, 3, 2000), rng.uniform(1, 3, 2000)])
    y = X[:, 0] / (1 + X[:, 0] / X[:, 1] ** 2 * (1 - np.cos(X[:, 2])))
    generator = StructureGenerator()
    names = ("E", "m", "theta")
    formulas = generator.propose(_task(X, y, 6.0, teacher=Compton(), unary=("cos",), names=names))
    assert generator.last_report["transform"] == "inverse"
    assert generator.last_report["plans"][0].startswith("[leaf(E) +")
    assert all(f.func == sympy.Pow and f.args[1] == -1 for f in formulas)  # 1/(...) put back


class KineticEnergy(torch.nn.Module):
    def forward(self, x):
        return x[:, 0] * (x[:, 1] ** 2 + x[:, 2] ** 2 + x[:, 3] ** 2)


def test_nested_splits_solve_each_part_on_its_own_scale():
    # m * (u**2 + v**2 + w**2): m splits off, then u, then w from v. The last leaf is solved
    # on the data with the others taken out, which leaves v's part only if every part
    # taken out was fitted on the same scale as the data it is taken from.
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 5, (2000, 4))
    y = X[:, 0] * (X[:, 1] ** 2 + X[:, 2] ** 2 + X[:, 3] ** 2)
    generator = StructureGenerator()
    names = ("m", "u", "v", "w")
    formulas = generator.propose(_task(X, y, 8.0, teacher=KineticEnergy(), unary=(), names=names))
    assert generator.last_report["plans"][0].count("leaf") == 4
    errors = [np.max(np.abs(sympy.lambdify(names, f)(*X.T) / y - 1)) for f in formulas]
    assert min(errors) < 1e-6


class ScaledNorm(torch.nn.Module):
    def forward(self, x):
        return x[:, 0] * torch.sqrt(1 + x[:, 1] ** 2 + x[:, 2] ** 2)


def test_the_transform_that_splits_into_smaller_leaves_wins():
    # m*sqrt(1 + a**2 + b**2) splits as m times a leaf of (a, b); its square to the end.
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 5, (2000, 3))
    y = X[:, 0] * np.sqrt(1 + X[:, 1] ** 2 + X[:, 2] ** 2)
    generator = StructureGenerator()
    generator.propose(_task(X, y, 2.0, teacher=ScaledNorm(), names=("m", "a", "b")))
    assert generator.last_report["transform"] == "square"
    assert generator.last_report["plans"][0].count("leaf") == 3


def test_nothing_to_split_is_a_warning_not_a_failure():
    rng = np.random.default_rng(0)
    X = rng.uniform(1, 2, (200, 1))
    with pytest.warns(GuidanceWarning, match="one variable"):
        outcome = run_guidance([StructureGenerator()], _task(X, X[:, 0] ** 2, 2.0, names=("x",)))
    assert outcome.candidates == [] and "structure" in outcome.failures


def test_structure_guided_search_recovers_the_relativistic_mass():
    X, y = _relativistic(1000)
    model = HybridSRRegressor(binary_operators=["+", "-", "*", "/"], unary_operators=["sqrt"],
                              guidance="structure", guidance_start="start", teacher=RelativisticMass(),
                              guidance_time_fraction=0.4, timeout_in_seconds=20, niterations=200,
                              early_stop_condition=1e-20, random_state=0, verbosity=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GuidanceWarning)
        model.fit(X, y, variable_names=list(NAMES))
    assert model.guidance_[0]["n_initial"] > 0
    assert _is_law(model.sympy(), X)


def test_leaf_search_works_at_any_scale():
    from hybridsr.guidance.decomposition import _search_leaf

    u = np.random.default_rng(0).uniform(1e12, 5e12, (300, 1))
    values = 3e-20 * np.exp(-u[:, 0] / 2e12)
    task = _task(u, values, 30.0, unary=("exp",), names=("u",))
    # Stopping at the exact formula keeps it quick; the 30 s are for a loaded machine.
    formulas = _search_leaf(u, values, (sympy.Symbol("u"),), task, 30.0, seed=0,
                            stop_when_exact=True)
    errors = [np.max(np.abs(sympy.lambdify("u", f)(u[:, 0]) / values - 1)) for f in formulas]
    assert min(errors) < 1e-6


def test_a_leaf_the_sparse_fit_solves_exactly_needs_no_search():
    from hybridsr.guidance.decomposition import _search_leaf

    # The leaf of the relativistic mass: 1/y**2 = 1 - u**2 is a sum.
    u = np.random.default_rng(0).uniform(0.1, 0.7, (300, 1))
    values = 1 / np.sqrt(1 - u[:, 0] ** 2)
    task = _task(u, values, 30.0, names=("u",))
    formulas = _search_leaf(u, values, (sympy.Symbol("u"),), task, 30.0, seed=0,
                            stop_when_exact=True)
    assert len(formulas) == 1  # a search would return its front's knee and more
    assert formulas[0].count_ops() <= 6  # 1.0/sqrt(1 - 1.0*u**2), not a series
    grid = np.linspace(0.05, 0.9, 50)
    assert np.allclose(sympy.lambdify("u", formulas[0])(grid), 1 / np.sqrt(1 - grid**2),
                       rtol=1e-12)


def test_a_series_close_to_the_law_is_not_taken_for_it():
    from hybridsr.guidance.decomposition import _fits_exactly

    # III.4.32's occupation 1/(exp(x) - 1) and its Bernoulli series to x**9: on 0.01 < x < 1
    # they differ by a relative mean squared error of 1.5e-22, where exact fits reach 1e-29.
    x = sympy.Symbol("x")
    law = 1 / (sympy.exp(x) - 1)
    series = sympy.series(law, x, 0, 10).removeO()
    X = np.random.default_rng(0).uniform(0.01, 1.0, (300, 1))
    values = 1 / np.expm1(X[:, 0])
    assert _fits_exactly(law, (x,), X, values)
    assert not _fits_exactly(series, (x,), X, values)
    narrower = X[X[:, 0] < 0.3]  # where the series is the law to rounding error
    assert _fits_exactly(series, (x,), narrower, 1 / np.expm1(narrower[:, 0]))
