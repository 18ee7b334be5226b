"""One expression of a population with its fitness and age."""

from __future__ import annotations

from ..expr.tree import Individual

__all__ = ["Member"]


class Member:
    """A tree with its loss, cost and complexity.

    Attributes
    ----------
    tree : Individual
    loss : float
        Prediction loss (inf when the tree is invalid on the data).
    cost : float
        ``loss / normalization + parsimony * complexity``: what selection minimises.
    complexity : float
    birth : int
        Island clock at creation; the smallest is the oldest member.
    """

    __slots__ = ("tree", "loss", "cost", "complexity", "birth")

    def __init__(self, tree: Individual, loss: float, cost: float, complexity: float, birth: int = 0):
        self.tree = tree
        self.loss = loss
        self.cost = cost
        self.complexity = complexity
        self.birth = birth

    def __reduce__(self):
        return (Member, (self.tree, self.loss, self.cost, self.complexity, self.birth))

    def __repr__(self):
        return (f"Member(tree={str(self.tree)!r}, loss={self.loss:.6g}, "
                f"complexity={self.complexity:g}, birth={self.birth})")

    @property
    def size_class(self) -> int:
        """The integer complexity used for frequency bookkeeping and the hall of fame."""
        return int(round(self.complexity))

    def copy(self, birth: int | None = None) -> "Member":
        return Member(self.tree, self.loss, self.cost, self.complexity,
                      self.birth if birth is None else birth)
