"""A population under regularized evolution: tournaments in, oldest out."""

from __future__ import annotations

import numpy as np

from .member import Member

__all__ = ["Population"]


class Population:
    """Members plus parallel arrays of what selection reads (cost, complexity, age).

    Change members only through :meth:`replace`, which keeps the arrays in step.
    """

    __slots__ = ("members", "costs", "size_classes", "births")

    def __init__(self, members: list[Member]):
        self.members = list(members)
        self.costs = np.array([m.cost for m in self.members], dtype=np.float64)
        self.size_classes = np.array([m.size_class for m in self.members], dtype=np.int64)
        self.births = np.array([m.birth for m in self.members], dtype=np.int64)

    def __reduce__(self):
        return (Population, (self.members,))

    def __len__(self):
        return len(self.members)

    def replace(self, index: int, member: Member) -> None:
        """Put ``member`` at ``index`` (in place)."""
        self.members[index] = member
        self.costs[index] = member.cost
        self.size_classes[index] = member.size_class
        self.births[index] = member.birth

    def oldest(self, count: int = 1) -> np.ndarray:
        """Indices of the ``count`` oldest members, oldest first."""
        return np.argsort(self.births, kind="stable")[:count]

    def oldest_index(self) -> int:
        return int(self.births.argmin())

    def tournament(self, rng: np.random.Generator, size: int, p_fittest: float,
                   cost_scale: np.ndarray | None = None) -> int:
        """Index of a tournament winner (the seed's Algorithm 3).

        ``size`` members are drawn without replacement; the fittest wins with
        probability ``p_fittest``, else it is dropped and the next fittest
        gets the same chance, and so on. With ``cost_scale`` (indexed by
        integer complexity, see
        :meth:`~hybridsr.gp.frequencies.ComplexityFrequencies.cost_scale`)
        costs are multiplied by it first: adaptive parsimony.
        """
        n = len(self.members)
        sample = rng.random(n).argpartition(size - 1)[:size] if size < n else np.arange(n)
        costs = self.costs.take(sample)
        if cost_scale is not None:
            costs *= cost_scale.take(self.size_classes.take(sample), mode="clip")
        # The winner's rank is geometric: the k-th fittest wins with probability p(1-p)^k.
        rank = int(rng.geometric(p_fittest)) - 1 if p_fittest < 1.0 else 0
        if rank == 0:
            return int(sample[int(np.argmin(costs))])
        return int(sample[np.argsort(costs, kind="stable")[min(rank, size - 1)]])

    def best_per_complexity(self) -> dict[int, Member]:
        best: dict[int, Member] = {}
        for member in self.members:
            current = best.get(member.size_class)
            if member.loss < float("inf") and (current is None or member.loss < current.loss):
                best[member.size_class] = member
        return best
