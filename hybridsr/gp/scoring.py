"""Turning trees into scored members: loss, complexity and cost.

A :class:`Scorer` binds the data, the compiled evaluator and the parsimony
settings of one search. It counts every evaluation it performs, so callers
can report how much work a step took.
"""

from __future__ import annotations

import math

import numpy as np

from ..constants import fit_constants
from ..evaluate.evaluator import Dataset, Evaluator
from ..expr.tree import Individual, Language, compile_tree, with_constants
from .constraints import Constraints
from .member import Member

__all__ = ["Scorer", "baseline_loss", "loss_floor", "row_losses"]


def loss_floor(data, loss: str, huber_delta: float = 1.0, relative_error: float = 1e-14) -> float:
    """The loss that an error of ``relative_error * rms(y)`` on every row gives.

    ``data`` is a :class:`Dataset` or the targets themselves. Losses below
    this are rounding noise; clamping to it makes every numerically exact
    formula tie, so the simplest one wins instead of whichever rounds luckiest.
    """
    y = np.asarray(data.y if isinstance(data, Dataset) else data, dtype=np.float64)
    tolerance = relative_error * float(np.sqrt(np.mean(y * y)))
    if loss == "mae":
        return tolerance
    if loss == "huber":
        return (0.5 * tolerance * tolerance if tolerance <= huber_delta
                else huber_delta * (tolerance - 0.5 * huber_delta))
    return tolerance * tolerance


def row_losses(predictions: np.ndarray, targets: np.ndarray, loss: str, huber_delta: float) -> np.ndarray:
    """Each row's loss (``"mse"``: squared error, ``"mae"``: absolute, ``"huber"``), as the
    kernels add them up; inf where a prediction is not finite."""
    residual = np.abs(np.asarray(predictions, dtype=np.float64) - targets)
    if loss == "mse":
        out = residual * residual
    elif loss == "mae":
        out = residual
    else:
        out = np.where(residual <= huber_delta, 0.5 * residual * residual,
                       huber_delta * (residual - 0.5 * huber_delta))
    return np.where(np.isfinite(out), out, np.inf)


def baseline_loss(data: Dataset, loss: str, huber_delta: float = 1.0) -> float:
    """The loss of the best constant prediction (weighted median for MAE, weighted mean otherwise)."""
    y = data.y
    w = data.weights if data.weights.size else np.ones_like(y)
    if loss == "mae":
        order = np.argsort(y, kind="stable")
        cumulative = np.cumsum(w[order])
        centre = float(y[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])
    else:
        centre = float(np.average(y, weights=w))
    return float(np.average(row_losses(np.full_like(y, centre), y, loss, huber_delta), weights=w))


class Scorer:
    """Evaluates trees on the full data or on random mini-batches.

    Parameters
    ----------
    language, evaluator, data, constraints
        What a tree is made of, how it is run, what it is fitted to, how
        complex it is.
    parsimony : float
        Cost added per unit of complexity.
    normalization : float
        Losses are divided by this (the baseline loss) before the parsimony
        term is added, so ``parsimony`` means the same on any scale of y.
    batch_size : int or None
        Rows per mini-batch; None evaluates candidates on all rows.
    """

    def __init__(self, language: Language, evaluator: Evaluator, data: Dataset,
                 constraints: Constraints, parsimony: float, normalization: float,
                 batch_size: int | None = None):
        self.language = language
        self.evaluator = evaluator
        self.data = data
        self.constraints = constraints
        self.parsimony = parsimony
        self.normalization = normalization if normalization > 0 and math.isfinite(normalization) else 1.0
        self.batch_size = batch_size if batch_size is not None and batch_size < data.n_rows else None
        self.floor = loss_floor(data, evaluator.loss_name, evaluator.huber_delta)
        self.n_evals = 0

    @property
    def batching(self) -> bool:
        return self.batch_size is not None

    def sample(self, rng: np.random.Generator) -> Dataset:
        """The data a candidate is judged on: a fresh mini-batch when batching."""
        if self.batch_size is None:
            return self.data
        return self.data.rows(rng.integers(0, self.data.n_rows, self.batch_size))

    def cost(self, loss: float, complexity: float) -> float:
        return loss / self.normalization + self.parsimony * complexity if loss < math.inf else math.inf

    def member(self, tree: Individual, loss: float, birth: int) -> Member:
        loss = max(loss, self.floor) if math.isfinite(loss) else math.inf
        complexity = self.constraints.complexity(tree)
        return Member(tree, loss, self.cost(loss, complexity), complexity, birth)

    def evaluate(self, tree: Individual, birth: int, data: Dataset | None = None) -> Member:
        """Score ``tree`` on ``data`` (default: all rows)."""
        self.n_evals += 1
        loss = self.evaluator.loss(compile_tree(tree, self.language), data or self.data)
        return self.member(tree, loss, birth)

    def optimize(self, member: Member, rng: np.random.Generator, data: Dataset, *,
                 algorithm: str, n_restarts: int, max_iterations: int) -> Member:
        """``member`` with its constants fitted on ``data``; the same member when nothing improved."""
        program = compile_tree(member.tree, self.language)
        if not len(program.constants):
            return member
        fit = fit_constants(program, self.evaluator, data, rng=rng, algorithm=algorithm,
                            n_restarts=n_restarts, max_iterations=max_iterations)
        self.n_evals += fit.n_evals
        if not fit.improved:
            return member
        return self.member(with_constants(member.tree, fit.constants), fit.loss, member.birth)
