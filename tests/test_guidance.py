"""Guidance without networks: candidates to trees, seeding, the graft mutation, fallbacks."""

import dataclasses
import math
import warnings

import numpy as np
import pytest
import sympy

from hybridsr import HybridSRRegressor
from hybridsr.expr import Constant, Language, sympy_to_tree, tree_to_sympy
from hybridsr.gp import mutations as mut
from hybridsr.guidance import (GuidanceWarning, candidate_trees, resolve_generators, run_guidance,
                               subexpressions)
from hybridsr.guidance.candidates import shared_coefficients
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


def test_candidate_trees_skip_infinite_constants():
    language = _language(unary=("sin",))
    x0 = sympy.Symbol("x0")
    initial, donors = candidate_trees([sympy.Float("1e400") * x0 + sympy.sin(x0)], language, 20,
                                      n_initial=10)
    assert all(math.isfinite(n.value) for t in initial + donors for n in t if type(n) is Constant)
    assert sorted(str(tree_to_sympy(t, language)) for t in initial) == ["sin(x0)", "x0"]


def test_coefficients_that_agree_are_shared():
    u, v, w, m = sympy.symbols("u v w m")
    pieces = 0.348 * m * (1.4345 * u**2 + 1.4362 * v**2 + 1.4333 * w**2 + 0.047)
    shared = shared_coefficients(pieces)
    assert sympy.count_ops(shared) < sympy.count_ops(pieces)
    assert shared.has(u**2 + v**2 + w**2)
    values = {u: 1.3, v: 2.1, w: 0.7, m: 3.0}
    assert abs(float(shared.subs(values)) / float(pieces.subs(values)) - 1) < 2e-3
    # Coefficients that differ by more than the tolerance, or are already equal, stay.
    assert shared_coefficients(x + 2 * y_) == x + 2 * y_
    assert shared_coefficients(1.0 * x + 1.5 * y_) == 1.0 * x + 1.5 * y_


def test_candidates_too_long_as_written_come_in_their_short_form():
    language = _language(unary=(), n_features=4)
    x0, x1, x2, x3 = sympy.symbols("x0 x1 x2 x3")
    pieces = 0.348 * x0 * (1.4345 * x1**2 + 1.4362 * x2**2 + 1.4333 * x3**2 + 0.047)
    assert len(sympy_to_tree(pieces, language)) > 20
    initial, _ = candidate_trees([pieces], language, 20, n_initial=1)
    assert len(initial) == 1 and len(initial[0]) <= 20
    quintic = x0**5 + x0**4 + x0**3 + x0**2 + x0  # 29 nodes expanded, 17 in Horner's form
    initial, _ = candidate_trees([quintic], language, 20, n_initial=1)
    values = np.linspace(-1, 1, 7)
    written = sympy.lambdify(x0, tree_to_sympy(initial[0], language))(values)
    assert np.allclose(written, sympy.lambdify(x0, quintic)(values), rtol=1e-12)
    # Nguyen-4: 21 nodes in Horner's form, 17 as x0*(x0**3 + 1)*(x0*(x0 + 1) + 1).
    sextic = x0**6 + quintic
    initial, _ = candidate_trees([sextic], language, 20, n_initial=1)
    assert len(initial) == 1 and len(initial[0]) == 17
    written = sympy.lambdify(x0, tree_to_sympy(initial[0], language))(values)
    assert np.allclose(written, sympy.lambdify(x0, sextic)(values), rtol=1e-12)


def test_a_candidate_multiplied_out_and_refactored_when_that_is_shorter():
    # A structure generator's product for m*x**2*(w**2 + v**2)/4: 24 nodes as written.
    language = _language(unary=(), n_features=4)
    m, w, v, x0 = sympy.symbols("x0 x1 x2 x3")
    product = 0.132942256146881 * m * w**2 * x0**2 * (1.88051570092046 + 1.88051570092046 * v**2 / w**2)
    assert len(sympy_to_tree(product, language)) > 20
    initial, _ = candidate_trees([product], language, 20, n_initial=1)
    assert len(initial) == 1 and len(initial[0]) == 15
    values = np.array([[1.3, 2.1, 0.7, 2.5], [0.4, 1.1, 3.0, 0.9]])
    written = tree_to_sympy(initial[0], language, use_variable_names=False)
    as_written = sympy.lambdify(sorted(written.free_symbols, key=str), written)(*values.T)
    np.testing.assert_allclose(as_written, sympy.lambdify((m, w, v, x0), product)(*values.T),
                               rtol=1e-12)


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


def test_candidates_of_several_generators_come_round_robin():
    task = GuidanceTask(np.ones((5, 1)), np.ones(5), ("x",), (), ("+", "*"), 1.0, 0)
    many, few = FixedGenerator(("x", "x + 1", "x + 2", "x + 3")), FixedGenerator(("2*x",), "few")
    outcome = run_guidance([many, few], task)
    assert outcome.candidates == [x, 2 * x, x + 1, x + 2, x + 3]


def test_time_a_generator_leaves_goes_to_the_next():
    @dataclasses.dataclass
    class Recording(FixedGenerator):
        limits: list = dataclasses.field(default_factory=list)

        def propose(self, task):
            self.limits.append(task.time_limit)
            return super().propose(task)

    first, second = Recording(("x",)), Recording(("x + 1",))
    task = GuidanceTask(np.ones((5, 1)), np.ones(5), ("x",), (), ("+",), 10.0, 0)
    run_guidance([first, second], task)
    assert first.limits[0] == pytest.approx(5.0, abs=0.1)
    assert second.limits[0] > 9.0  # the first took almost nothing of its 5 s


def test_preparing_a_generator_is_not_charged_to_the_time_shares():
    import time

    @dataclasses.dataclass
    class SlowToImport(FixedGenerator):
        limits: list = dataclasses.field(default_factory=list)

        def prepare(self):
            time.sleep(0.3)

        def propose(self, task):
            self.limits.append(task.time_limit)
            return super().propose(task)

    class CannotImport(FixedGenerator):
        def prepare(self):
            raise ImportError("no module named 'torch'")

    slow, never = SlowToImport(("x",), name="slow"), CannotImport(("x + 2",), name="never")
    task = GuidanceTask(np.ones((5, 1)), np.ones(5), ("x",), (), ("+",), 1.0, 0)
    with pytest.warns(GuidanceWarning, match="no module named 'torch'"):
        outcome = run_guidance([never, slow], task)
    assert never.calls == 0 and "never" in outcome.failures
    assert slow.limits[0] == pytest.approx(1.0, abs=0.05)  # the whole second, after the import
    assert outcome.seconds["slow"] >= 0.3 and outcome.candidates == [x]


def _data(n=60, seed=0):
    X = np.random.default_rng(seed).uniform(-3, 3, (n, 1))
    return X, 3 * np.sin(X[:, 0]) - 0.5 * X[:, 0]


def test_seeded_search_starts_from_the_candidate():
    X, y = _data()
    generator = FixedGenerator(("2.7*sin(x0) - 0.4*x0",))  # right form, wrong constants
    model = HybridSRRegressor(unary_operators=["sin"], guidance=[generator], guidance_start="start",
                              niterations=1, populations=2, population_size=20,
                              ncycles_per_iteration=1, random_state=0, verbosity=0)
    model.fit(X, y)
    assert generator.calls == 1
    report = model.guidance_[0]
    assert report["n_initial"] > 0 and report["n_donors"] > 0 and not report["failures"]
    assert report["started_at_iteration"] == 0 and report["reason"] == "start"
    # One iteration of one cycle cannot find this by chance; the refitted seed is it.
    assert model.equations_["loss"].min() < 1e-20


@pytest.mark.parametrize("start", ["start", "stall"])
def test_guidance_failure_falls_back_to_plain_gp(start):
    X, y = _data()
    options = dict(unary_operators=["sin"], niterations=4, populations=2, population_size=20,
                   ncycles_per_iteration=20, random_state=1, verbosity=0)
    with pytest.warns(GuidanceWarning, match="goes on without it"):
        guided = HybridSRRegressor(guidance=[BrokenGenerator()], guidance_start=start,
                                   **options).fit(X, y)
    plain = HybridSRRegressor(**options).fit(X, y)
    # Nothing proposed: the same search as without guidance.
    assert list(guided.equations_["equation"]) == list(plain.equations_["equation"])
    assert guided.guidance_[0]["failures"] and plain.guidance_ == []


def test_guidance_options_are_checked():
    X, y = _data(20)
    for bad in (dict(guidance_fraction=1.5), dict(guidance_time_fraction=-0.1),
                dict(guidance="eqll"), dict(teacher="net.pt"), dict(guidance_start=["stall"])):
        with pytest.raises(ValueError):
            HybridSRRegressor(verbosity=0, **bad).fit(X, y)
    with pytest.raises(ValueError, match=r"guidance_start='stal'.*'stall', 'start'.*Did you mean 'stall'"):
        HybridSRRegressor(verbosity=0, guidance_start="stal").fit(X, y)


@pytest.mark.parametrize("start", ["start", "stall"])
def test_guided_search_is_reproducible(start):
    X, y = _data()
    options = dict(unary_operators=["sin"], guidance=[FixedGenerator(("sin(x0)", "x0*x0"))],
                   guidance_start=start, niterations=4, populations=2, population_size=20,
                   ncycles_per_iteration=30, random_state=3, verbosity=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first = HybridSRRegressor(**options).fit(X, y)
        second = HybridSRRegressor(**options).fit(X, y)
    assert first.guidance_[0]["started_at_iteration"] is not None
    clock = ("seconds", "generator_seconds", "started_at_seconds")
    assert [{k: v for k, v in r.items() if k not in clock} for r in first.guidance_] == \
        [{k: v for k, v in r.items() if k not in clock} for r in second.guidance_]
    assert list(first.equations_["equation"]) == list(second.equations_["equation"])


# -- guidance_start="stall" ------------------------------------------------------------------
# ncycles_per_iteration=1 without constant fitting: a search that cannot improve, so it stalls.
STUCK = dict(unary_operators=["sin"], niterations=20, populations=2, population_size=20,
             ncycles_per_iteration=1, should_optimize_constants=False, random_state=0, verbosity=0)


def test_stalled_search_takes_the_candidates_in():
    X, y = _data()
    generator = FixedGenerator(("2.7*sin(x0) - 0.4*x0",))
    # Without the wrapping mutation (whose trees keep this tiny search improving until the
    # latest start) its front stalls for the rule's 3 iterations.
    model = HybridSRRegressor(guidance=[generator], **{**STUCK, "should_optimize_constants": True},
                              mutation_weights={"wrap_inverse_pair": 0.0})
    model.fit(X, y)
    assert generator.calls == 1
    report = model.guidance_[0]
    assert report["reason"] == "stall" and report["started_at_iteration"] == 4, report
    assert report["n_initial"] > 0 and report["n_donors"] > 0
    state = model.search_results_[0].state
    assert state.injected_at == (4,) and state.donors
    # The refitted candidate is in an island and on the front.
    formulas = {str(m.tree) for island in state.islands for m in island.population.members}
    assert any("sin" in f for f in formulas)
    assert model.equations_["loss"].min() < 1e-20


def test_latest_start_when_the_search_keeps_improving():
    from hybridsr.guidance import StallRule, StallTrigger

    started = []
    trigger = StallTrigger(StallRule(patience=3, latest_fraction=0.5), 20, 1e-30, niterations=10,
                           timeout=None, start=lambda progress, reason: started.append(reason))

    class Front:  # a front whose loss halves every iteration
        def __init__(self, loss):
            self.hall_of_fame = [type("M", (), {"loss": loss, "complexity": 1})()]
            self.best_loss, self.elapsed = loss, 1e9

    for k in range(10):
        trigger(Front(2.0 ** -k))
    assert started == ["latest start"] and len(trigger.levels) == 10


def test_no_guidance_when_the_gp_solves_the_problem():
    X = np.random.default_rng(0).uniform(-3, 3, (60, 2))
    y = X[:, 0] * X[:, 1]
    generator = FixedGenerator(("x0 + x1",))
    model = HybridSRRegressor(guidance=[generator], niterations=12, populations=2,
                              population_size=20, ncycles_per_iteration=100, random_state=0,
                              verbosity=0).fit(X, y)
    assert model.equations_["loss"].min() < 1e-20
    assert generator.calls == 0
    report = model.guidance_[0]
    assert report["started_at_iteration"] is None and report["reason"] is None
    assert model.search_results_[0].state.injected_at == ()


@pytest.mark.parametrize("ending", [dict(niterations=1), dict(max_evals=41)])
def test_search_ending_before_it_stalls_runs_no_guidance(ending):
    X, y = _data()
    generator = FixedGenerator(("sin(x0)",))
    model = HybridSRRegressor(guidance=[generator], **{**STUCK, **ending}).fit(X, y)
    assert generator.calls == 0 and model.guidance_[0]["started_at_iteration"] is None
    assert model.search_results_[0].n_iterations == 1


def test_stall_guidance_is_the_same_with_processes():
    X, y = _data()
    options = dict(STUCK, niterations=14, ncycles_per_iteration=2)
    serial = HybridSRRegressor(guidance=[FixedGenerator(("sin(x0) - x0",))], **options).fit(X, y)
    parallel = HybridSRRegressor(guidance=[FixedGenerator(("sin(x0) - x0",))], n_jobs=2,
                                 **options).fit(X, y)
    assert serial.guidance_[0]["started_at_iteration"] == 4
    assert list(serial.equations_["equation"]) == list(parallel.equations_["equation"])
    assert serial.search_results_[0].n_evals == parallel.search_results_[0].n_evals


def test_warm_start_does_not_guide_twice():
    X, y = _data()
    generator = FixedGenerator(("sin(x0) - x0",))
    model = HybridSRRegressor(guidance=[generator], warm_start=True, **STUCK).fit(X, y)
    assert generator.calls == 1
    first = model.guidance_[0]["started_at_iteration"]
    donors = model.search_results_[0].state.donors
    model.fit(X, y)
    assert generator.calls == 1
    assert model.guidance_[0]["reason"] == "earlier fit"
    assert model.guidance_[0]["started_at_iteration"] == first
    assert model.search_results_[0].state.donors == donors  # the graft mutation keeps them


def test_resumed_search_keeps_its_guidance(tmp_path, monkeypatch):
    from hybridsr.engine import checkpoint as ckpt

    X, y = _data()
    path = tmp_path / "search.ckpt"
    generator = FixedGenerator(("sin(x0) - x0",))
    options = dict(STUCK, niterations=8)
    whole = HybridSRRegressor(guidance=[generator], **options).fit(X, y)
    started = whole.guidance_[0]["started_at_iteration"]
    assert generator.calls == 1 and started < 6

    real_write, writes = ckpt.write_checkpoint, []

    def crash_after_sixth_save(target, progress):
        if len(writes) == 6:
            raise KeyboardInterrupt("the job was killed")
        writes.append(progress.targets[0].state.iteration)
        real_write(target, progress)

    monkeypatch.setattr(ckpt, "write_checkpoint", crash_after_sixth_save)
    with pytest.raises(KeyboardInterrupt):
        HybridSRRegressor(guidance=[generator], checkpoint_file=path, checkpoint_every=1,
                          **options).fit(X, y)
    monkeypatch.undo()
    assert generator.calls == 2 and writes[-1] == 6
    resumed = HybridSRRegressor(guidance=[generator], **options).fit(X, y, resume_from=path)
    assert generator.calls == 2  # guidance ran before the checkpoint: not again
    assert resumed.guidance_[0]["reason"] == "earlier fit"
    assert resumed.guidance_[0]["started_at_iteration"] == started
    assert list(resumed.equations_["equation"]) == list(whole.equations_["equation"])


def test_front_level_is_the_mean_log_loss_of_the_staircase():
    from hybridsr.gp.member import Member
    from hybridsr.guidance import front_level

    front = [Member(None, 8.0, 0.0, 2), Member(None, 2.0, 0.0, 3)]
    # Complexities 1..4: 8 (below the simplest member), 8, 2, 2.
    assert front_level(front, 4, 1e-30) == pytest.approx((2 * np.log(8) + 2 * np.log(2)) / 4)
    assert front_level(front, 4, 4.0) == pytest.approx(np.log(8) / 2 + np.log(4) / 2)
    assert front_level([], 4, 1e-30) == np.inf
