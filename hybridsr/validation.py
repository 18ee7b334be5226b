"""Cross-validated losses of a front's equations, for model selection.

A search ranks equations by their loss on the rows it was given, and on
small or noisy data the longest equations of a front fit the noise: with
ten rows, a formula of twenty nodes can pass through every point. Training
losses cannot tell such a formula from the law. Held-out losses can: each
equation keeps its structure, its constants are refitted on all rows but one
fold, and its loss is measured on that fold. An over-fitted equation then
pays for its wiggles between the points, while the law's held-out loss stays
at the noise level. This is the validation score PySR leaves to the user;
``model_selection="best"`` weighs it against each equation's size when the
table has it (:func:`hybridsr.export.description_lengths`).

On a small sample one split into folds is a noisy measurement: which
rows share a fold moves the held-out losses of two near-equal formulas past
each other. The folds are therefore drawn again, :func:`default_repeats`
times (repeated k-fold), until about :data:`MAX_ROWS` held-out losses have
been measured, and averaged. Large data sets gain little from any of it (the
training loss is already an honest estimate there), so at most
:data:`MAX_ROWS` rows, drawn without replacement, take part, in one split.

A fold's refit starts from the constants fitted to all rows, held-out rows
included. On a very small sample an equation with as many constants as a
fold has rows to fit them on is not determined by those rows, so its refit
can keep what the held-out rows taught the full fit, and its held-out loss
would be as small as its training loss: such an equation gets none (inf).
On Bode's 8 planets, 5 folds leave 6 or 7 rows, and nine-constant formulas
held out better than the three-constant law.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .constants import fit_constants
from .evaluate.evaluator import Dataset, Evaluator
from .expr import Language
from .expr.tree import compile_tree
from .gp.scoring import row_losses

__all__ = ["MAX_REPEATS", "MAX_ROWS", "MIN_ROWS", "CrossValidation", "cross_validate",
           "cross_validated_losses", "default_repeats"]

#: Rows taken into the cross-validation at most (a seeded sample of them); also the
#: number of held-out losses that repeated splits of a smaller sample add up to.
MAX_ROWS = 2000
#: Most splits into folds of one sample.
MAX_REPEATS = 10
#: Fewer rows than this leave no room for held-out folds; no losses then.
MIN_ROWS = 4


def default_repeats(n_rows: int) -> int:
    """Splits into folds for ``n_rows`` sampled rows: enough for about :data:`MAX_ROWS`
    held-out losses, at least 1 and at most :data:`MAX_REPEATS` (10 for 200 rows or
    fewer, 2 for 1,000, 1 from 2,000)."""
    return int(min(MAX_REPEATS, max(1, math.ceil(MAX_ROWS / max(n_rows, 1)))))


@dataclass(frozen=True)
class CrossValidation:
    """Held-out losses of a front's equations.

    Attributes
    ----------
    losses : ndarray of shape (n_trees,)
        Mean held-out loss of each tree (fold losses weighted by fold size,
        averaged over the repeated splits); inf for a tree invalid on some
        held-out fold or with at least as many constants as a fold has rows
        to fit them on, NaN for all when there are fewer than
        :data:`MIN_ROWS` rows.
    row_losses : ndarray of shape (n_trees, n_rows)
        Each tree's loss on each held-out row, averaged over the splits (in
        the order of the sampled rows; the same rows for every tree), inf
        where it is not finite.
        Their number is the ``n`` of the description lengths that model
        selection compares (:func:`hybridsr.export.description_lengths`).
    folds : int
        The folds each split had (those asked for, or the number of rows
        when fewer); 0 when no losses were measured. The description
        lengths take from it what a held-out loss already charges per
        constant.
    """

    losses: np.ndarray
    row_losses: np.ndarray
    folds: int


def cross_validated_losses(trees: Sequence, language: Language, evaluator: Evaluator,
                           data: Dataset, *, folds: int, rng: np.random.Generator,
                           max_iterations: int = 50, repeats: int | None = None) -> np.ndarray:
    """Mean held-out loss of each tree (:attr:`CrossValidation.losses` of :func:`cross_validate`)."""
    return cross_validate(trees, language, evaluator, data, folds=folds, rng=rng,
                          max_iterations=max_iterations, repeats=repeats).losses


def cross_validate(trees: Sequence, language: Language, evaluator: Evaluator,
                   data: Dataset, *, folds: int, rng: np.random.Generator,
                   max_iterations: int = 50, repeats: int | None = None) -> CrossValidation:
    """Mean held-out loss of each tree over ``folds`` folds, constants refitted per fold,
    the split into folds repeated ``repeats`` times.

    Parameters
    ----------
    trees : sequence of trees
        Their constants are the starting points of each fold's fit.
    language : Language
    evaluator : Evaluator
        Its loss is the one fitted and measured.
    data : Dataset
        All rows with targets (and weights, which weight both the fits and
        the held-out losses).
    folds : int
        Number of folds (at least 2), lowered to the number of rows when
        there are fewer.
    rng : numpy.random.Generator
        Draws the row sample, the fold split and the fits' restart points.
    max_iterations : int
        Iteration budget of each constant fit.
    repeats : int, optional
        Independent splits into folds, averaged; by default
        :func:`default_repeats` of the sampled rows.

    Returns
    -------
    CrossValidation
        The mean held-out losses and the row-by-row ones (no rows when the
        data has fewer than :data:`MIN_ROWS` rows).
    """
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    if repeats is not None and repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    n = data.n_rows
    if n < MIN_ROWS:
        return CrossValidation(np.full(len(trees), np.nan), np.empty((len(trees), 0)), 0)
    sample = rng.permutation(n)[:MAX_ROWS]
    m = sample.size
    if repeats is None:
        repeats = default_repeats(m)
    # (fit rows, held-out rows, positions of the held-out rows in the sample) per fold.
    parts = []
    for _ in range(repeats):
        splits = np.array_split(rng.permutation(m), min(folds, m))
        for k, held_out in enumerate(splits):
            fit_at = np.concatenate([s for j, s in enumerate(splits) if j != k])
            held_out = np.sort(held_out)
            parts.append((data.rows(np.sort(sample[fit_at])), data.rows(sample[held_out]), held_out))
    sizes = np.array([held_out.size for _, _, held_out in parts], dtype=np.float64)
    fewest_fit_rows = min(fit_part.n_rows for fit_part, _, _ in parts)

    losses = np.empty(len(trees))
    by_row = np.zeros((len(trees), m))
    with np.errstate(all="ignore"):
        for i, tree in enumerate(trees):
            program = compile_tree(tree, language)
            if program.constants.size >= fewest_fit_rows:
                # As many constants as a fold's rows: the fold does not determine them, and a
                # refit that starts from the full-data fit (which saw the held-out rows) can
                # keep it, so the held-out loss would measure nothing.
                losses[i], by_row[i] = np.inf, np.inf
                continue
            fold_losses = np.empty(len(parts))
            for k, (fit_part, held_part, held_out) in enumerate(parts):
                constants = program.constants
                if constants.size:
                    fit = fit_constants(program, evaluator, fit_part, rng=rng, n_restarts=1,
                                        max_iterations=max_iterations)
                    constants = fit.constants
                rows = row_losses(evaluator.predict(program, held_part, constants), held_part.y,
                                  evaluator.loss_name, evaluator.huber_delta)
                by_row[i, held_out] += rows / repeats
                # The fold's loss as the kernels weigh it, from the rows (no second pass).
                fold_losses[k] = np.average(rows, weights=held_part.weights if held_part.weights.size
                                            else None)
            finite = np.all(np.isfinite(fold_losses))
            losses[i] = float(np.average(fold_losses, weights=sizes)) if finite else np.inf
    return CrossValidation(losses, by_row, min(folds, m))
