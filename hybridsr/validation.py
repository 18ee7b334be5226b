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

Large data sets gain little from it (the training loss is already an honest
estimate there), so at most :data:`MAX_ROWS` rows, drawn without
replacement, take part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .constants import fit_constants
from .evaluate.evaluator import Dataset, Evaluator
from .expr import Language
from .expr.tree import compile_tree
from .gp.scoring import row_losses

__all__ = ["MAX_ROWS", "MIN_ROWS", "CrossValidation", "cross_validate", "cross_validated_losses"]

#: Rows taken into the cross-validation at most (a seeded sample of them).
MAX_ROWS = 2000
#: Fewer rows than this leave no room for held-out folds; no losses then.
MIN_ROWS = 4


@dataclass(frozen=True)
class CrossValidation:
    """Held-out losses of a front's equations.

    Attributes
    ----------
    losses : ndarray of shape (n_trees,)
        Mean held-out loss of each tree (fold losses weighted by fold size);
        inf for a tree invalid on some held-out fold, NaN for all when there
        are fewer than :data:`MIN_ROWS` rows.
    row_losses : ndarray of shape (n_trees, n_rows)
        Each tree's loss on each held-out row (in the order of the sampled
        rows; the same rows for every tree), inf where it is not finite.
        Their number is the ``n`` of the description lengths that model
        selection compares (:func:`hybridsr.export.description_lengths`).
    """

    losses: np.ndarray
    row_losses: np.ndarray


def cross_validated_losses(trees: Sequence, language: Language, evaluator: Evaluator,
                           data: Dataset, *, folds: int, rng: np.random.Generator,
                           max_iterations: int = 50) -> np.ndarray:
    """Mean held-out loss of each tree (:attr:`CrossValidation.losses` of :func:`cross_validate`)."""
    return cross_validate(trees, language, evaluator, data, folds=folds, rng=rng,
                          max_iterations=max_iterations).losses


def cross_validate(trees: Sequence, language: Language, evaluator: Evaluator,
                   data: Dataset, *, folds: int, rng: np.random.Generator,
                   max_iterations: int = 50) -> CrossValidation:
    """Mean held-out loss of each tree over ``folds`` folds, constants refitted per fold.

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

    Returns
    -------
    CrossValidation
        The mean held-out losses and the row-by-row ones (no rows when the
        data has fewer than :data:`MIN_ROWS` rows).
    """
    if folds < 2:
        raise ValueError(f"folds must be at least 2, got {folds}")
    n = data.n_rows
    if n < MIN_ROWS:
        return CrossValidation(np.full(len(trees), np.nan), np.empty((len(trees), 0)))
    order = rng.permutation(n)[:MAX_ROWS]
    splits = np.array_split(order, min(folds, order.size))
    parts = []
    for k, held_out in enumerate(splits):
        fit_rows = np.concatenate([s for j, s in enumerate(splits) if j != k])
        parts.append((data.rows(np.sort(fit_rows)), data.rows(np.sort(held_out)), held_out.size))
    sizes = np.array([size for _, _, size in parts], dtype=np.float64)

    losses = np.empty(len(trees))
    by_row = np.empty((len(trees), sum(len(s) for s in splits)))
    with np.errstate(all="ignore"):
        for i, tree in enumerate(trees):
            program = compile_tree(tree, language)
            fold_losses = np.empty(len(parts))
            first_row = 0
            for k, (fit_part, held_part, size) in enumerate(parts):
                constants = program.constants
                if constants.size:
                    fit = fit_constants(program, evaluator, fit_part, rng=rng, n_restarts=1,
                                        max_iterations=max_iterations)
                    constants = fit.constants
                rows = row_losses(evaluator.predict(program, held_part, constants), held_part.y,
                                  evaluator.loss_name, evaluator.huber_delta)
                by_row[i, first_row:first_row + size] = rows
                # The fold's loss as the kernels weigh it, from the rows (no second pass).
                fold_losses[k] = np.average(rows, weights=held_part.weights if held_part.weights.size
                                            else None)
                first_row += size
            finite = np.all(np.isfinite(fold_losses))
            losses[i] = float(np.average(fold_losses, weights=sizes)) if finite else np.inf
    return CrossValidation(losses, by_row)
