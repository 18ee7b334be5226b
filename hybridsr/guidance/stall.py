"""When guidance starts: at once, or only once the plain search stalls.

With ``guidance_start="stall"`` the search first runs as plain GP, and a
:class:`StallTrigger` (the search's ``intervene`` hook) watches the Pareto
front after every iteration. Guidance costs its whole time share wherever it
runs, and the GP alone solves easy problems in a few iterations, so the
generators are worth their time only once the GP stops making progress.

The rule (:class:`StallRule`): the front's *level* is the mean, over
complexities 1..maxsize, of the log of the lowest loss reachable at that
complexity or below (the staircase of the front; losses raised to the
rounding floor). The search has stalled when the level fell by less than
``log(1 + min_improvement)`` over the last ``patience`` iterations, i.e.
the front's geometric-mean loss improved by less than 1% (default) in 3
iterations. A drop in the best loss, or a much better formula at any
complexity, counts; polishing the last digits of one large formula does not.
Whatever the front does, guidance starts at the latest once
``latest_fraction`` of the iterations (or of ``timeout_in_seconds``) has
passed (a quarter by default), so the candidates get most of the search's
time: on 40 AI Feynman equations (25 the previous version missed), starting
by a quarter of a 30 s budget instead of half, with ``maxsize=30``, recovered
18 against 15, and 21 with the generators' share raised from 20% to 35% of
the budget (``guidance_time_fraction``). A front whose best
loss is at the rounding floor is exact: guidance never runs then.

Without a timeout the rule reads iteration counts and losses only, so a
search bounded by ``niterations`` stays reproducible.

Guidance runs at most once per search: the search state records the
iteration it was injected after (``SearchState.injected_at``) and keeps its
donors, so a warm start or a resume from a checkpoint of a search that ran
it does not run it again. A search continued before guidance ran starts the
rule afresh (its window and latest start count from the continuation), so
such a resume can differ from the uninterrupted run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

__all__ = ["GUIDANCE_STARTS", "StallRule", "StallTrigger", "front_level"]

#: Values of ``guidance_start``: "stall" waits for the plain search to stall, "start"
#: runs the generators before the search.
GUIDANCE_STARTS = frozenset({"stall", "start"})


@dataclass(frozen=True)
class StallRule:
    """When a search counts as stalled (see the module's docstring)."""

    patience: int = 3
    min_improvement: float = 0.01
    latest_fraction: float = 0.25

    def __post_init__(self):
        if not (isinstance(self.patience, int) and self.patience >= 1):
            raise ValueError(f"patience must be an integer >= 1, got {self.patience!r}")
        if not self.min_improvement >= 0:
            raise ValueError(f"min_improvement must be >= 0, got {self.min_improvement!r}")
        if not 0 <= self.latest_fraction <= 1:
            raise ValueError(f"latest_fraction must lie in [0, 1], got {self.latest_fraction!r}")


def front_level(front: Sequence, maxsize: int, loss_floor: float) -> float:
    """Mean log loss of the front's staircase over complexities 1..``maxsize``.

    At complexity ``c`` the staircase holds the lowest loss of the members of
    complexity ``c`` or less (the simplest member's below it); losses are
    raised to ``loss_floor`` (and to the smallest positive float). inf for an
    empty front.
    """
    members = sorted((m for m in front if m.loss < math.inf), key=lambda m: m.complexity)
    if not members:
        return math.inf
    floor = max(loss_floor, math.ulp(0.0))
    total, index, best = 0.0, 0, members[0].loss
    top = max(int(maxsize), 1)
    for complexity in range(1, top + 1):
        while index < len(members) and members[index].complexity <= complexity:
            best = min(best, members[index].loss)
            index += 1
        total += math.log(max(best, floor))
    return total / top


@dataclass
class StallTrigger:
    """The ``intervene`` hook of :func:`hybridsr.engine.run_search` for stall-started guidance.

    Calls ``start(progress, reason)`` once, the first time the rule says the
    search has stalled (``reason`` "stall") or its latest start has come
    ("latest start"), and returns what ``start`` returns (an
    :class:`~hybridsr.engine.search.Injection`).

    Parameters
    ----------
    rule : StallRule
    maxsize : int
        The search's ``maxsize`` (the complexities the level averages over).
    loss_floor : float
        Losses at or below it are exact (the rounding floor of the targets).
    niterations : int
        Iterations of this search call.
    timeout : float or None
        Seconds of this search call (None: the rule reads no clock).
    start : callable
    """

    rule: StallRule
    maxsize: int
    loss_floor: float
    niterations: int
    timeout: float | None
    start: Callable
    levels: list = field(default_factory=list, repr=False)
    fired: bool = False

    def reason(self, progress) -> str | None:
        """Why guidance should start after ``progress`` (None: not now). Records the level."""
        self.levels.append(front_level(progress.hall_of_fame, self.maxsize, self.loss_floor))
        if self.fired or progress.best_loss <= self.loss_floor:
            return None
        patience = self.rule.patience
        if len(self.levels) > patience:
            drop = self.levels[-1 - patience] - self.levels[-1]
            if not drop >= math.log1p(self.rule.min_improvement):
                return "stall"
        latest = self.rule.latest_fraction
        if len(self.levels) >= latest * self.niterations:
            return "latest start"
        if self.timeout is not None and progress.elapsed >= latest * self.timeout:
            return "latest start"
        return None

    def __call__(self, progress):
        reason = self.reason(progress)
        if reason is None:
            return None
        self.fired = True
        return self.start(progress, reason)
