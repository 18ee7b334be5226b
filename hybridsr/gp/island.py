"""One island: regularized evolution, then simplify and optimise (the seed's evolve step).

:func:`run_island` is a pure function of the island's state and its inputs
(migrants chosen by the head, a snapshot of the complexity frequencies), so
the same inputs give the same outputs whichever process runs it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..config import MutationWeights, SearchConfig
from ..expr.random_trees import random_tree
from ..expr.simplify import fold_constants
from ..expr.tree import Constant
from . import mutations as mut
from .frequencies import ComplexityFrequencies
from .hall_of_fame import HallOfFame
from .member import Member
from .population import Population
from .scoring import Scorer

__all__ = ["IslandState", "IslandReport", "new_island", "run_island", "inject_trees"]

_MUTATIONS = MutationWeights.names()
(_MUTATE_CONSTANT, _MUTATE_OPERATOR, _SWAP_OPERANDS, _ADD_NODE, _INSERT_NODE, _DELETE_NODE,
 _OPTIMIZE, _GRAFT, _WRAP) = (_MUTATIONS.index(name) for name in (
     "mutate_constant", "mutate_operator", "swap_operands", "add_node", "insert_node",
     "delete_node", "optimize", "graft", "wrap_inverse_pair"))
# Attempts at a mutation or crossover that satisfies the constraints before giving up.
_MAX_ATTEMPTS = 10
# How often (in mutations) the loop looks at the clock and the stop flag.
_CHECK_EVERY = 16


@dataclass
class IslandState:
    """Everything an island carries from one iteration to the next (picklable)."""

    population: Population
    best: HallOfFame  # the seed's M_i: best member seen at each complexity
    rng: np.random.Generator
    clock: int  # birth stamp of the next member


@dataclass
class IslandReport:
    """What one iteration of an island produced."""

    state: IslandState
    n_evals: int
    added_frequencies: np.ndarray
    finished: bool  # False when the deadline or a stop request cut the cycle short


def new_island(scorer: Scorer, config: SearchConfig, tables: mut.NodeTables,
               rng: np.random.Generator, seeds: list | None = None) -> IslandState:
    """A population of random trees of up to ``initial_size`` nodes, ``seeds`` trees first.

    Seeds and random trees that break the constraints are left out (a random
    one is drawn again, up to a few times, then replaced by a single leaf).
    """
    allows = scorer.constraints.allows
    members = []
    for tree in (seeds or []):
        if len(members) < config.population_size and allows(tree):
            members.append(_seed_member(scorer, config, tree, len(members), rng))
    while len(members) < config.population_size:
        for _ in range(_MAX_ATTEMPTS):
            tree = random_tree(tables.language, int(rng.integers(1, config.initial_size + 1)), rng,
                               constant_probability=0.5)
            if allows(tree):
                break
        else:
            tree = random_tree(tables.language, 1, rng, constant_probability=0.5)
        members.append(scorer.evaluate(tree, len(members), scorer.sample(rng)))
    best = HallOfFame()
    if not scorer.batching:
        best.update(members)
    return IslandState(Population(members), best, rng, len(members))


def _seed_member(scorer: Scorer, config: SearchConfig, tree, birth: int,
                 rng: np.random.Generator) -> Member:
    """``tree`` scored, with its constants fitted when the search fits constants."""
    data = scorer.sample(rng)
    member = scorer.evaluate(tree, birth, data)
    if member.loss < math.inf and config.should_optimize_constants:
        # A seed's constants were fitted to something else (a network, another run).
        member = scorer.optimize(member, rng, data, algorithm=config.optimizer_algorithm,
                                 n_restarts=config.optimizer_nrestarts,
                                 max_iterations=config.optimizer_iterations)
    return member


def inject_trees(state: IslandState, scorer: Scorer, config: SearchConfig, trees) -> list[Member]:
    """Put ``trees`` into the island in place of its worst members (changes ``state``).

    Each tree is scored (constants fitted) with the island's RNG and replaces
    the member of highest cost; at most half the population is replaced, so
    the island keeps its own best half. The newcomers are stamped newest, so
    regularized evolution keeps them longest, and enter ``M_i`` (judged on all
    rows under batching). Trees that break the constraints or cannot be
    evaluated are left out. Returns the members put in.
    """
    population, allows = state.population, scorer.constraints.allows
    added = []
    for tree in trees:
        if len(added) >= len(population) // 2:
            break
        if not allows(tree):
            continue
        member = _seed_member(scorer, config, tree, state.clock, state.rng)
        if not member.loss < math.inf:
            continue
        state.clock += 1
        # The worst member not put in just now (costs of newcomers are finite, so
        # an inf-cost slot always goes first).
        order = np.argsort(population.costs, kind="stable")[::-1]
        taken = {id(m) for m in added}
        slot = next(int(i) for i in order if id(population.members[int(i)]) not in taken)
        population.replace(slot, member)
        added.append(member)
        state.best.consider(scorer.evaluate(member.tree, member.birth) if scorer.batching else member)
    return added


def _draw(weights: list[float], target: float) -> int:
    """The index where the running sum of ``weights`` first exceeds ``target``."""
    running = 0.0
    for index, weight in enumerate(weights):
        running += weight
        if target < running:
            return index
    return max(i for i, w in enumerate(weights) if w > 0)


class _Evolution:
    """The mutable working set of one island iteration (not kept afterwards)."""

    def __init__(self, state: IslandState, scorer: Scorer, config: SearchConfig,
                 tables: mut.NodeTables, frequencies: ComplexityFrequencies):
        self.state = state
        self.rng = state.rng
        self.scorer = scorer
        self.config = config
        self.tables = tables
        self.frequencies = frequencies
        self.added = np.zeros_like(frequencies.counts)
        self.weights = config.mutation_weights.as_tuple()
        # Normalised frequencies are refreshed once per PySR "cycle" of
        # population_size / tournament_selection_n mutations, not per mutation.
        self.refresh_period = max(1, config.population_size // config.tournament_selection_n)
        self.unrefreshed = 0
        self.refresh()

    def refresh(self) -> None:
        self.unrefreshed = 0
        self.normalized = self.frequencies.normalized()
        scaling = self.config.adaptive_parsimony_scaling
        use = self.config.use_frequency_in_tournament and scaling > 0
        self.cost_scale = self.frequencies.cost_scale(scaling) if use else None

    def stamp(self) -> int:
        self.state.clock += 1
        return self.state.clock - 1

    def record(self, member: Member) -> None:
        if self.config.use_frequency:
            self.frequencies.add(member.size_class)
            self.added[self.frequencies.bin_of(member.size_class)] += 1.0
            self.unrefreshed += 1
            if self.unrefreshed >= self.refresh_period:
                self.refresh()
        if not self.scorer.batching:
            self.state.best.consider(member)

    def select(self) -> Member:
        config = self.config
        index = self.state.population.tournament(self.rng, config.tournament_selection_n,
                                                 config.tournament_selection_p, self.cost_scale)
        return self.state.population.members[index]

    # -- mutation -------------------------------------------------------------
    def mutation_weights(self, parent: Member) -> list[float]:
        """The configured weights with the mutations that cannot apply to ``parent`` zeroed."""
        weights = list(self.weights)
        has_constant = has_binary = False
        for node in parent.tree:
            if node.arity == 2:
                has_binary = True
            elif not node.arity and type(node) is Constant:
                has_constant = True
        if not has_constant:
            weights[_MUTATE_CONSTANT] = weights[_OPTIMIZE] = 0.0
        if len(parent.tree) == 1:
            weights[_MUTATE_OPERATOR] = weights[_DELETE_NODE] = 0.0
        if not has_binary:
            weights[_SWAP_OPERANDS] = 0.0
        if parent.complexity >= self.config.maxsize:
            weights[_ADD_NODE] = weights[_INSERT_NODE] = weights[_WRAP] = 0.0
        if not self.tables.wrap_shapes:
            weights[_WRAP] = 0.0
        if not self.tables.donors:
            weights[_GRAFT] = 0.0
        return weights

    def propose(self, name: str, parent: Member, temperature: float):
        rng, tables, tree, config = self.rng, self.tables, parent.tree, self.config
        if name == "mutate_constant":
            return mut.mutate_constant(tree, temperature, rng,
                                       perturbation_factor=config.perturbation_factor,
                                       probability_negate=config.probability_negate_constant)
        if name == "mutate_operator":
            return mut.mutate_operator(tree, tables, rng)
        if name == "swap_operands":
            return mut.swap_operands(tree, rng)
        if name == "add_node":
            return mut.add_node(tree, tables, rng)
        if name == "insert_node":
            return mut.insert_node(tree, tables, rng)
        if name == "delete_node":
            return mut.delete_node(tree, rng)
        if name == "randomize":
            return mut.randomize(tables, config.maxsize, rng)
        if name == "graft":
            return mut.graft(tree, tables, rng)
        if name == "wrap_inverse_pair":
            return mut.wrap_inverse_pair(tree, tables, rng)
        raise ValueError(f"unknown mutation {name!r}")

    def next_generation(self, parent: Member, temperature: float) -> Member | None:
        """A mutated child of ``parent``, or None when no acceptable child came out."""
        weights = self.mutation_weights(parent)
        total = sum(weights)
        if not total > 0:
            return None
        name = _MUTATIONS[_draw(weights, self.rng.random() * total)]
        scorer, config = self.scorer, self.config
        if name == "do_nothing":
            return parent.copy(self.stamp())
        if name == "optimize":
            child = scorer.optimize(parent, self.rng, scorer.sample(self.rng),
                                    algorithm=config.optimizer_algorithm,
                                    n_restarts=config.optimizer_nrestarts,
                                    max_iterations=config.optimizer_iterations)
            return child.copy(self.stamp())
        if name == "simplify":
            # Constant folding only: sympy's simplification has no deterministic
            # work bound, and a timeout would make results depend on the clock.
            tree = fold_constants(parent.tree, self.tables.language)
            return scorer.evaluate(tree, self.stamp(), scorer.sample(self.rng))
        for _ in range(_MAX_ATTEMPTS):
            tree = self.propose(name, parent, temperature)
            if tree is not None and scorer.constraints.allows(tree):
                break
        else:
            return None
        data = scorer.sample(self.rng)
        child = scorer.evaluate(tree, self.stamp(), data)
        if not child.loss < math.inf:
            return None
        if (name != "mutate_constant" and config.optimize_offspring_probability
                and self.rng.random() < config.optimize_offspring_probability):
            # A new structure judged with its parent's constants is judged unfairly.
            child = scorer.optimize(child, self.rng, data, algorithm=config.optimizer_algorithm,
                                    n_restarts=0, max_iterations=config.optimizer_iterations)
        return child if self.accept(parent, child, temperature) else None

    def accept(self, parent: Member, child: Member, temperature: float) -> bool:
        """Simulated annealing on cost, tilted toward rarely seen complexities (PySR's rule)."""
        log_odds = 0.0
        if self.config.annealing:
            log_odds -= (child.cost - parent.cost) / (self.config.alpha * max(temperature, 1e-12))
        if self.config.use_frequency:
            bin_of, normalized = self.frequencies.bin_of, self.normalized
            log_odds += math.log(normalized[bin_of(parent.size_class)] / normalized[bin_of(child.size_class)])
        return log_odds >= 0.0 or self.rng.random() < math.exp(log_odds)

    def crossover(self) -> tuple[Member, Member] | None:
        first, second = self.select(), self.select()
        allows = self.scorer.constraints.allows
        for _ in range(_MAX_ATTEMPTS):
            a, b = mut.crossover(first.tree, second.tree, self.rng)
            if allows(a) and allows(b):
                break
        else:
            return None
        return (self.scorer.evaluate(a, self.stamp(), self.scorer.sample(self.rng)),
                self.scorer.evaluate(b, self.stamp(), self.scorer.sample(self.rng)))

    # -- the loop -------------------------------------------------------------
    def evolve(self, deadline: float, stop_requested) -> bool:
        """The seed's ``evolve``: ``ncycles_per_iteration`` mutations or crossovers."""
        config, population = self.config, self.state.population
        n_cycles = config.ncycles_per_iteration
        for k in range(n_cycles):
            if k % _CHECK_EVERY == 0 and (time.monotonic() > deadline or stop_requested()):
                return False
            if self.rng.random() >= config.crossover_probability:
                temperature = 1.0 - k / n_cycles if config.annealing else 1.0
                child = self.next_generation(self.select(), temperature)
                if child is None:
                    if config.skip_mutation_failures:
                        continue
                    child = self.select().copy(self.stamp())
                population.replace(population.oldest_index(), child)
                self.record(child)
            else:
                children = self.crossover()
                if children is None:
                    continue
                for index, child in zip(population.oldest(2), children):
                    population.replace(int(index), child)
                    self.record(child)
        return True

    def simplify_and_optimize(self) -> None:
        """Fold constants in every member; fit the constants of some (the seed's lines 13-16)."""
        config, scorer, population = self.config, self.scorer, self.state.population
        language = self.tables.language
        for index, member in enumerate(population.members):
            updated = member
            if config.should_simplify:
                folded = fold_constants(member.tree, language)
                if len(folded) < len(member.tree):
                    updated = scorer.evaluate(folded, member.birth, scorer.sample(self.rng))
            if (config.should_optimize_constants and self.rng.random() < config.optimize_probability
                    and any(type(node) is Constant for node in updated.tree)):
                updated = scorer.optimize(updated, self.rng, scorer.sample(self.rng),
                                          algorithm=config.optimizer_algorithm,
                                          n_restarts=config.optimizer_nrestarts,
                                          max_iterations=config.optimizer_iterations)
            if updated is not member:
                population.replace(index, updated)
                self.record(updated)

    def refresh_best(self) -> None:
        """Under batching, judge the population's best on all rows before they enter ``M_i``."""
        if not self.scorer.batching:
            return
        for member in self.state.population.best_per_complexity().values():
            self.state.best.consider(self.scorer.evaluate(member.tree, member.birth))


def run_island(state: IslandState, scorer: Scorer, config: SearchConfig, tables: mut.NodeTables,
               frequencies: ComplexityFrequencies, migrants: list[tuple[int, Member]],
               deadline: float = math.inf, stop_requested=lambda: False) -> IslandReport:
    """One iteration of one island: take in migrants, evolve, simplify and optimise.

    ``state`` is changed in place and returned in the report; ``frequencies``
    is the head's snapshot, copied here so that the island sees its own
    additions during the iteration.
    """
    scorer.n_evals = 0
    for index, member in migrants:
        state.population.replace(index, member.copy(state.clock))
        state.clock += 1
    evolution = _Evolution(state, scorer, config, tables, frequencies.copy())
    finished = evolution.evolve(deadline, stop_requested)
    if finished:
        evolution.simplify_and_optimize()
    evolution.refresh_best()
    return IslandReport(state, scorer.n_evals, evolution.added, finished)
