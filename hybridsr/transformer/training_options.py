"""The options of a training run (a module of its own so that the CLI reads them without torch)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TrainingOptions"]


@dataclass(frozen=True)
class TrainingOptions:
    """How long and on what a model trains.

    Attributes
    ----------
    steps : int
        Optimiser steps (what ends a run, so that it is reproducible).
    batch_size : int
        Datasets per step.
    min_points, max_points : int
        Each batch's datasets have a number of points drawn uniformly from this range.
    learning_rate : float
        Peak AdamW learning rate, reached after ``warmup`` steps and then
        decayed along a cosine to a tenth of it.
    warmup : int
    weight_decay : float
    pool_attempts : int
        Raw random trees drawn for the skeleton pool.
    max_operators : int
        Largest operator count of a raw tree.
    seed : int
    threads : int
        torch threads (1 trains fastest on a busy shared machine, and its
        sums never change order).
    jobs : int
        Processes that build the pool (the pool does not depend on it).
    checkpoint_every : int
        Steps between checkpoints (0: only at the end).
    log_every : int
        Steps between progress lines.
    max_seconds : float, optional
        A safety stop; a run stopped by it is marked incomplete.
    """

    steps: int = 7000
    batch_size: int = 48
    min_points: int = 24
    max_points: int = 96
    learning_rate: float = 8e-4
    warmup: int = 400
    weight_decay: float = 0.01
    pool_attempts: int = 80000
    max_operators: int = 6
    seed: int = 0
    threads: int = 1
    jobs: int = 1
    checkpoint_every: int = 250
    log_every: int = 50
    max_seconds: float | None = None

    def __post_init__(self):
        for name in ("steps", "batch_size", "min_points", "pool_attempts", "max_operators", "threads",
                     "jobs", "log_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)!r}")
        if self.max_points < self.min_points:
            raise ValueError("max_points must be at least min_points")
        if not self.learning_rate > 0 or self.warmup < 0 or self.checkpoint_every < 0:
            raise ValueError("learning_rate must be positive, warmup and checkpoint_every non-negative")
