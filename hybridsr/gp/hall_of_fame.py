"""The best expression found at each complexity, and the Pareto front they form."""

from __future__ import annotations

from typing import Iterable

from .member import Member

__all__ = ["HallOfFame", "pareto_front"]


class HallOfFame:
    """Best member per integer complexity (lowest loss; the first found wins ties).

    Used both for an island's ``M_i`` and for the global ``H`` of the seed's
    algorithm. Entries are copies, so later changes to a population never
    reach it.
    """

    __slots__ = ("entries",)

    def __init__(self, entries: dict[int, Member] | None = None):
        self.entries: dict[int, Member] = dict(entries or {})

    def __reduce__(self):
        return (HallOfFame, (self.entries,))

    def __len__(self):
        return len(self.entries)

    def consider(self, member: Member) -> bool:
        """Keep ``member`` if it beats the entry at its complexity (in place); True if kept."""
        if not member.loss < float("inf"):
            return False
        key = member.size_class
        current = self.entries.get(key)
        if current is None or member.loss < current.loss:
            self.entries[key] = member.copy()
            return True
        return False

    def update(self, members: Iterable[Member]) -> None:
        for member in members:
            self.consider(member)

    def members(self) -> list[Member]:
        """All entries, ascending complexity."""
        return [self.entries[k] for k in sorted(self.entries)]

    def front(self) -> list[Member]:
        """The Pareto front: entries that no simpler entry matches or beats in loss."""
        return pareto_front(self.members())


def pareto_front(members: Iterable[Member]) -> list[Member]:
    """Members with strictly decreasing loss as complexity grows (input in any order)."""
    front = []
    best = float("inf")
    for member in sorted(members, key=lambda m: (m.complexity, m.loss)):
        if member.loss < best:
            front.append(member)
            best = member.loss
    return front
