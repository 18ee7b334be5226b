"""The best expression found at each complexity, and the Pareto front they form."""

from __future__ import annotations

from typing import Iterable

from ..expr.tree import Constant
from .member import Member

__all__ = ["HallOfFame", "pareto_front", "prediction_error_factor"]


def prediction_error_factor(member: Member, rows: int) -> float:
    """Akaike's final prediction error factor ``(rows + p)/(rows - p)`` of a member with
    ``p`` free constants (inf when ``p >= rows``)."""
    p = sum(1 for node in member.tree if isinstance(node, Constant))
    return (rows + p) / (rows - p) if p < rows else float("inf")


class HallOfFame:
    """Best member per integer complexity (the first found wins ties).

    Used both for an island's ``M_i`` and for the global ``H`` of the seed's
    algorithm. Entries are copies, so later changes to a population never
    reach it.

    Without ``rows`` the best is the lowest loss. With ``rows`` (the size of
    the data) it is the lowest loss times Akaike's final prediction error
    factor ``(rows + p)/(rows - p)``, ``p`` the member's free constants: the
    expected loss on new data of the same size. Of two formulas of one
    complexity, one with two constants more fits the noise a little better
    (``-0.999*log(a/n1**2 - b/n2**2)`` against Rydberg's ``-log(R*(1/n1**2 -
    1/n2**2))``) but is no better a law; on thousands of rows, or where the
    losses differ by more than noise, the factor changes nothing. The front
    stays the plain losses' (a longer formula must fit better).
    """

    __slots__ = ("entries", "rows")

    def __init__(self, entries: dict[int, Member] | None = None, rows: int | None = None):
        self.entries: dict[int, Member] = dict(entries or {})
        self.rows = rows

    def __reduce__(self):
        return (HallOfFame, (self.entries, self.rows))

    def __len__(self):
        return len(self.entries)

    def consider(self, member: Member) -> bool:
        """Keep ``member`` if it beats the entry at its complexity (in place); True if kept."""
        if not member.loss < float("inf"):
            return False
        key = member.size_class
        current = self.entries.get(key)
        if current is None or self._beats(member, current):
            self.entries[key] = member.copy()
            return True
        return False

    def _beats(self, member: Member, current: Member) -> bool:
        if self.rows is None:
            return member.loss < current.loss
        return (member.loss * prediction_error_factor(member, self.rows)
                < current.loss * prediction_error_factor(current, self.rows))

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
