"""Frozen settings of one search, resolved from the estimator's parameters.

The estimator stores what the user passed unchanged; ``fit`` builds these
objects, whose ``__post_init__`` checks every value and says what is wrong
and how to fix it. Defaults follow the PySR paper (the seed document) where
they are practical on a workstation, and PySR's own tuned defaults where the
paper's (40 populations of 1,000 members, 300,000 mutations per iteration)
would make one iteration take hours on two cores.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

__all__ = ["MutationWeights", "SearchConfig", "check_choice", "OPTIMIZER_ALGORITHMS", "LOSS_NAMES"]

LOSS_NAMES = frozenset({"mse", "mae", "huber"})
OPTIMIZER_ALGORITHMS = frozenset({"lm", "bfgs"})


def check_choice(name: str, value, choices) -> None:
    """Raise a ValueError naming the valid choices (and the nearest one) for an invalid value."""
    if value in choices:
        return
    near = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    hint = f" Did you mean {near[0]!r}?" if near else ""
    raise ValueError(f"{name}={value!r} is not valid; choose one of {sorted(map(str, choices))}.{hint}")


def _positive_int(name: str, value, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _number(name: str, value, low=-math.inf, high=math.inf, *, low_open=False, high_open=False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < low or value > high or (low_open and value == low) or (high_open and value == high):
        lo, hi = ("(" if low_open else "[") + str(low), str(high) + (")" if high_open else "]")
        raise ValueError(f"{name} must lie in {lo}, {hi}, got {value!r}")


@dataclass(frozen=True)
class MutationWeights:
    """Relative odds of each mutation (normalised when drawn).

    Defaults are PySR's (v0.16) tuned weights, plus ``graft``: replace a
    random subtree by a candidate subexpression from neural guidance (it
    applies only when guidance supplied candidates), and ``wrap_inverse_pair``:
    wrap a random subtree ``t`` as ``log(exp(t) + c)``, ``sqrt(t**2 + c)``,
    ``1/(1/t + c)`` or ``(exp(c*t) - 1)/c`` with a small ``c``
    (:func:`hybridsr.gp.mutations.wrap_inverse_pair`;
    0.8 found Planck's law in 4 of 5 EmpiricalBench runs, 0.3 in 2). A weight
    of 0 disables a mutation; mutations that cannot apply to a tree (no
    constant to perturb, nothing to delete, the tree already at ``maxsize``,
    no candidates to graft, no operators to wrap with) are skipped for it.
    """

    mutate_constant: float = 0.048
    mutate_operator: float = 0.47
    swap_operands: float = 0.1
    add_node: float = 0.79
    insert_node: float = 5.1
    delete_node: float = 1.7
    simplify: float = 0.0020
    randomize: float = 0.00023
    do_nothing: float = 0.21
    optimize: float = 0.0
    graft: float = 0.5
    wrap_inverse_pair: float = 0.8

    def __post_init__(self):
        for f in dataclasses.fields(self):
            _number(f"mutation_weights.{f.name}", getattr(self, f.name), 0.0)
        if not sum(self.as_tuple()) > 0:
            raise ValueError("mutation_weights are all zero; give at least one mutation a positive weight")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def as_tuple(self) -> tuple[float, ...]:
        return tuple(getattr(self, name) for name in self.names())

    @classmethod
    def from_value(cls, value) -> "MutationWeights":
        """Accept None, an instance or a mapping of (some) weights."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            unknown = [k for k in value if k not in cls.names()]
            if unknown:
                near = difflib.get_close_matches(str(unknown[0]), cls.names(), n=1)
                hint = f" Did you mean {near[0]!r}?" if near else ""
                raise ValueError(f"unknown mutation weight(s) {unknown}; valid names are "
                                 f"{list(cls.names())}.{hint}")
            return cls(**value)
        raise TypeError(f"mutation_weights must be a MutationWeights, a dict or None, got {type(value).__name__}")


#: ``batching="auto"`` evaluates candidates on mini-batches above this many rows:
#: a pass over 10,000 rows makes an iteration about ten times slower than on
#: mini-batches, and the front is still judged on every row.
AUTO_BATCHING_ROWS = 5000


@dataclass(frozen=True)
class SearchConfig:
    """Every setting of the evolutionary search (see the estimator for their meaning)."""

    # search size
    populations: int = 15
    population_size: int = 33
    ncycles_per_iteration: int = 550
    niterations: int = 40
    initial_size: int = 3
    # selection and variation
    tournament_selection_n: int = 12
    tournament_selection_p: float = 0.9
    crossover_probability: float = 0.01
    mutation_weights: MutationWeights = field(default_factory=MutationWeights)
    annealing: bool = True
    alpha: float = 0.1
    perturbation_factor: float = 0.076
    probability_negate_constant: float = 0.01
    skip_mutation_failures: bool = True
    # complexity
    maxsize: int = 20
    maxdepth: int | None = None
    constraints: Mapping | None = None
    nested_constraints: Mapping | None = None
    parsimony: float = 0.0032
    adaptive_parsimony_scaling: float = 20.0
    use_frequency: bool = True
    use_frequency_in_tournament: bool = True
    # constants
    should_optimize_constants: bool = True
    optimize_probability: float = 0.14
    optimize_offspring_probability: float = 0.5
    optimizer_algorithm: str = "lm"
    optimizer_nrestarts: int = 2
    optimizer_iterations: int = 8
    should_simplify: bool = True
    # migration
    migration: bool = True
    hof_migration: bool = True
    fraction_replaced: float = 0.05
    fraction_replaced_hof: float = 0.05
    # loss and data
    loss: str = "mse"
    huber_delta: float = 1.0
    batching: bool | str = "auto"
    batch_size: int = 50
    # stopping
    timeout_in_seconds: float | None = None
    max_evals: int | None = None
    early_stop_condition: float | Callable | None = None

    def __post_init__(self):
        for name in ("populations", "population_size", "ncycles_per_iteration", "niterations",
                     "initial_size", "batch_size"):
            _positive_int(name, getattr(self, name))
        _positive_int("optimizer_iterations", self.optimizer_iterations)
        _positive_int("optimizer_nrestarts", self.optimizer_nrestarts, 0)
        _positive_int("tournament_selection_n", self.tournament_selection_n)
        if self.tournament_selection_n > self.population_size:
            raise ValueError(f"tournament_selection_n={self.tournament_selection_n} exceeds "
                             f"population_size={self.population_size}; lower it or grow the populations")
        _positive_int("maxsize", self.maxsize, 3)
        if self.initial_size > self.maxsize:
            raise ValueError(f"initial_size={self.initial_size} exceeds maxsize={self.maxsize}")
        if self.maxdepth is not None:
            _positive_int("maxdepth", self.maxdepth, 2)
        for name in ("tournament_selection_p", "crossover_probability", "optimize_probability",
                     "optimize_offspring_probability",
                     "fraction_replaced", "fraction_replaced_hof", "probability_negate_constant"):
            _number(name, getattr(self, name), 0.0, 1.0)
        if self.tournament_selection_p == 0.0:
            raise ValueError("tournament_selection_p must be above 0 (it is the chance the fittest wins)")
        for name in ("parsimony", "adaptive_parsimony_scaling", "perturbation_factor"):
            _number(name, getattr(self, name), 0.0)
        if not (isinstance(self.batching, bool) or self.batching == "auto"):
            raise ValueError(f"batching must be True, False or 'auto' (on above "
                             f"{AUTO_BATCHING_ROWS} rows), got {self.batching!r}")
        _number("alpha", self.alpha, 0.0, low_open=True)
        _number("huber_delta", self.huber_delta, 0.0, low_open=True)
        check_choice("loss", self.loss, LOSS_NAMES)
        check_choice("optimizer_algorithm", self.optimizer_algorithm, OPTIMIZER_ALGORITHMS)
        if not isinstance(self.mutation_weights, MutationWeights):
            raise TypeError("mutation_weights must be a MutationWeights (use MutationWeights.from_value)")
        if self.timeout_in_seconds is not None:
            _number("timeout_in_seconds", self.timeout_in_seconds, 0.0, low_open=True)
        if self.max_evals is not None:
            _positive_int("max_evals", self.max_evals)
        condition = self.early_stop_condition
        if condition is not None and not callable(condition):
            _number("early_stop_condition (a loss threshold or a callable(loss, complexity))", condition)

        for name in ("constraints", "nested_constraints"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Mapping):
                raise TypeError(f"{name} must be a dict keyed by operator name, got {type(value).__name__}")

    def batch_rows(self, n_rows: int) -> int | None:
        """Rows of a candidate's mini-batch on data of ``n_rows`` rows (None: all rows)."""
        on = self.batching is True or (self.batching == "auto" and n_rows > AUTO_BATCHING_ROWS)
        return self.batch_size if on else None

    def replace(self, **changes) -> "SearchConfig":
        return dataclasses.replace(self, **changes)

    def should_stop_early(self, loss: float, complexity: float) -> bool:
        condition = self.early_stop_condition
        if condition is None:
            return False
        if callable(condition):
            return bool(condition(loss, complexity))
        return loss <= condition
