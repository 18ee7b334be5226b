"""Adaptive parsimony: how often each complexity has been seen recently.

PySR's "frecency": a count per integer complexity over a moving window of
recent members. Selection multiplies a member's cost by
``exp(scaling * normalized_frequency[complexity])``, so crowded complexities
lose tournaments and the search spreads over the whole front.

Counts are kept as plain arrays so islands can work on private copies and
hand back what they added; the head merges those in island order, which
keeps a search reproducible whatever runs the islands.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ComplexityFrequencies"]


class ComplexityFrequencies:
    """Counts of complexities ``1 .. maxsize`` (larger ones are clipped to the last bin).

    Parameters
    ----------
    maxsize : int
    window_size : float
        When the counts sum above this, they are shrunk back toward one, so
        the statistics follow what the search does now.
    """

    __slots__ = ("counts", "window_size", "_normalized")

    def __init__(self, maxsize: int, window_size: float = 100_000.0, counts: np.ndarray | None = None):
        self.counts = np.ones(maxsize + 1) if counts is None else np.array(counts, dtype=np.float64)
        self.counts[0] = 0.0  # complexity 0 does not exist
        self.window_size = float(window_size)
        self._normalized = None

    def __reduce__(self):
        return (ComplexityFrequencies, (len(self.counts) - 1, self.window_size, self.counts))

    def copy(self) -> "ComplexityFrequencies":
        return ComplexityFrequencies(len(self.counts) - 1, self.window_size, self.counts)

    def bin_of(self, size_class: int) -> int:
        return min(max(size_class, 1), len(self.counts) - 1)

    def add(self, size_class: int, amount: float = 1.0) -> None:
        """Count one more member of complexity ``size_class`` (in place)."""
        self.counts[self.bin_of(size_class)] += amount
        self._normalized = None

    def merge(self, added: np.ndarray) -> None:
        """Add counts gathered elsewhere, then move the window (in place)."""
        self.counts += added
        self.move_window()

    def move_window(self) -> None:
        """Shrink counts toward one so their sum stays within the window (in place)."""
        total = self.counts.sum()
        if total > self.window_size:
            excess = self.counts[1:] - 1.0
            scale = max(self.window_size - (len(self.counts) - 1), 0.0) / max(excess.sum(), 1e-300)
            self.counts[1:] = 1.0 + excess * min(scale, 1.0)
        self._normalized = None

    def normalized(self) -> np.ndarray:
        """Frequencies summing to one, indexed by complexity."""
        if self._normalized is None:
            self._normalized = self.counts / self.counts.sum()
        return self._normalized

    def cost_scale(self, scaling: float) -> np.ndarray:
        """``exp(scaling * normalized)``: the adaptive-parsimony factor per complexity."""
        return np.exp(scaling * self.normalized())

    def frequency(self, size_class: int) -> float:
        return float(self.normalized()[self.bin_of(size_class)])
