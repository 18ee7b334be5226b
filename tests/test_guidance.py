"""Guidance without networks: candidates to trees, seeding, the graft mutation, fallbacks."""

import dataclasses
import warnings

import numpy as np
import pytest
import sympy

from hybridsr import HybridSRRegressor
from hybridsr.expr import Language, sympy_to_tree, tree_to_sympy
from hybridsr.gp import mutations as mut
from hybridsr.guidance import (GuidanceWarning, candidate_trees, resolve_generators, run_guidance,
                               subexpressions)
from hybridsr.guidance.generators import GuidanceTask
from hybridsr.operators import OperatorSet

x, y_ = sympy.symbols("x y")


@dataclasses.dataclass
class FixedGenerator:
    """Proposes the formulas it was given (a stand-in for a trained student)."""

    formulas: tuple
    name: str = "fixed"
    calls: int = 0

    def propose(self, task):
        self.calls += 1
        assert task.time_limit > 0 and task.X.shape[0] == task.y.shape[0]
        return [sympy.sympify(f, locals={n: sympy.Symbol(n) for n in task.variable_names})
                for f in self.formulas]


class BrokenGenerator:
    name = "broken"

    def propose(self, task):
        raise RuntimeError("the teacher diverged")


def _language(unary=("sin",), n_features=1):
    return Language(OperatorSet.from_spec(("+", "-", "*", "/"), unary), n_features)


def test_subexpressions_take_terms_factors_and_arguments():
    parts = subexpressions(3.1 * sympy.sin(x) - 0.5 * x * y_)
    assert parts[0] == 3.1 * sympy.sin(x) - 0.5 * x * y_
    for part in (sympy.sin(x), x * y_, x, y_):
        assert part in parts
    assert not any(p.is_number for p in parts)


def test_candidate_trees_skip_what_the_language_cannot_write():
    language = _language(unary=("sin",))
    x0 = sympy.Symbol("x0")
    initial, donors = candidate_trees([3 * sympy.sin(x0) + sympy.exp(x0)], language, 20, n_initial=10)
    texts = [str(tree_to_sympy(t, language)) for t in initial]
    assert "3.0*sin(x0)" in texts and not any("exp" in t for t in texts)
    assert donors and len(initial) <= 10
    initial, _ = candidate_trees([3 * sympy.sin(x0)], language, 20, n_initial=0)
    assert initial == []


def test_graft_inserts_a_donor():
    language = _language()
    donor = sympy_to_tree(sympy.sin(sympy.Symbol("x0")), language)
    tables = mut.NodeTables(language, [donor])
    tree = sympy_to_tree(sympy.Symbol("x0") + 2, language)
    rng = np.random.default_rng(0)
    grafted = {str(tree_to_sympy(mut.graft(tree, tables, rng), language)) for _ in range(30)}
    assert grafted == {"sin(x0)", "sin(x0) + 2.0", "x0 + sin(x0)"}
    assert mut.graft(tree, mut.NodeTables(language), rng) is None


def test_resolve_generators_checks_names():
    assert resolve_generators(None) == []
    assert [g.name for g in resolve_generators("student")] == ["student"]
    with pytest.raises(ValueError, match="Did you mean 'student'"):
        resolve_generators(["studnet"])
    with pytest.raises(ValueError, match="propose"):
        resolve_generators([42])


def test_run_guidance_turns_failures_into_warnings():
    task = GuidanceTask(np.ones((5, 1)), np.ones(5), ("x",), (), ("+",), 1.0, 0)
    with pytest.warns(GuidanceWarning, match="teacher diverged"):
        outcome = run_guidance([BrokenGenerator(), FixedGenerator(("x + 1",))], task)
    assert outcome.candidates == [x + 1] and "broken" in outcome.failures


def _data(n=60, seed=0):
    X = np.random.default_rng(seed).uniform(-3, 3, (n, 1))
    return X, 3 * np.sin(X[:, 0]) - 0.5 * X[:, 0]


def test_seeded_search_starts_from_the_candidate():
    X, y = _data()
    generator = FixedGenerator(("2.7*sin(x0) - 0.4*x0",))  # right form, wrong constants
    model = HybridSRRegressor(unary_operators=["sin"], guidance=[generator], niterations=1,
                              populations=2, population_size=20, ncycles_per_iteration=1,
                              random_state=0, verbosity=0)
    model.fit(X, y)
    assert generator.calls == 1
    report = model.guidance_[0]
    assert report["n_initial"] > 0 and report["n_donors"] > 0 and not report["failures"]
    # One iteration of one cycle cannot find this by chance; the refitted seed is it.
    assert model.equations_["loss"].min() < 1e-20


def test_guidance_failure_falls_back_to_plain_gp():
    X, y = _data()
    options = dict(unary_operators=["sin"], niterations=2, populations=2, population_size=20,
                   ncycles_per_iteration=20, random_state=1, verbosity=0)
    with pytest.warns(GuidanceWarning, match="goes on without it"):
        guided = HybridSRRegressor(guidance=[BrokenGenerator()], **options).fit(X, y)
    plain = HybridSRRegressor(**options).fit(X, y)
    # Nothing proposed: the same search as without guidance.
    assert list(guided.equations_["equation"]) == list(plain.equations_["equation"])
    assert guided.guidance_[0]["failures"] and plain.guidance_ == []


def test_guidance_options_are_checked():
    X, y = _data(20)
    for bad in (dict(guidance_fraction=1.5), dict(guidance_time_fraction=-0.1),
                dict(guidance="eqll"), dict(teacher="net.pt")):
        with pytest.raises(ValueError):
            HybridSRRegressor(verbosity=0, **bad).fit(X, y)


def test_guided_search_is_reproducible():
    X, y = _data()
    options = dict(unary_operators=["sin"], guidance=[FixedGenerator(("sin(x0)", "x0*x0"))],
                   niterations=2, populations=2, population_size=20, ncycles_per_iteration=30,
                   random_state=3, verbosity=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = HybridSRRegressor(**options).fit(X, y)
        second = HybridSRRegressor(**options).fit(X, y)
    assert list(first.equations_["equation"]) == list(second.equations_["equation"])
