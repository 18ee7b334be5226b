"""Decoded skeletons to fitted formulas: rewrite, refit constants, rank.

A decoded sequence is a tree of the model's language. It is carried into
the user's language through sympy (as guidance candidates are, with
:func:`~hybridsr.expr.sympy_to_tree`), its constants are fitted with the
core's :func:`~hybridsr.constants.fit_constants` (Levenberg-Marquardt on
the numba Jacobians) from a few starting points, and the results are ranked
by loss and complexity: :func:`pareto_candidates` keeps those that no
simpler candidate matches, the shape of an ``equations_`` table.

A small model's skeletons are often the law with a spurious term
(``a*D + b/D`` for Hubble's ``H0*D``, ``a*x*(b*sqrt(x) + x)`` for Kepler's
``k*x**1.5``): each fitted skeleton's one-node deletions (an operator
replaced by one of its arguments, :func:`~hybridsr.expr.traversal.node_deletions`)
are refitted too, starting from its fitted constants, so the simpler law
can reach the front and the selection.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import sympy

from ..constants import fit_constants
from ..evaluate.evaluator import Dataset, Evaluator
from ..expr.sympy_convert import sympy_to_tree, tree_to_sympy
from ..expr.traversal import node_deletions
from ..expr.tree import Constant, Individual, Language, compile_tree, complexity, with_constants
from .config import TransformerConfig
from .tokenizer import TokenError, tokens_to_tree

__all__ = ["Candidate", "refit_sequences", "pareto_candidates"]


@dataclass(frozen=True)
class Candidate:
    """One decoded formula with fitted constants.

    Attributes
    ----------
    tree : Individual
        In the user's language.
    loss : float
        The evaluator's loss on the fitting data (inf when invalid).
    complexity : float
    log_probability : float
        The decoder's log-probability of the skeleton.
    skeleton : str
        The decoded tokens, space-separated.
    """

    tree: Individual
    loss: float
    complexity: float
    log_probability: float
    skeleton: str


def _to_language(tree: Individual, config: TransformerConfig, language: Language,
                 rng: np.random.Generator, scales=None) -> Individual | None:
    """The tree rewritten in ``language``, placeholders given distinct random values first.

    Distinct values keep sympy from merging or dropping constants (``1.0*x``
    would lose its factor). ``scales``, ``(x_scale, y_scale)``: the model read
    ``X / x_scale`` and ``y / y_scale``, so its formula ``f`` is written back
    as ``y_scale * f(X / x_scale)``. None when ``language`` cannot write it.
    """
    nodes = [Constant(float(rng.uniform(0.5, 2.0))) if type(n) is Constant and n.value == 1.0 else n
             for n in tree]
    try:
        expression = tree_to_sympy(Individual(nodes), config.language, use_variable_names=False)
        if scales is not None:
            x_scale, y_scale = scales
            expression = sympy.Float(y_scale) * expression.xreplace(
                {sympy.Symbol(f"x{i}", real=True): sympy.Symbol(f"x{i}", real=True) / sympy.Float(s)
                 for i, s in enumerate(x_scale)})
        names = {sympy.Symbol(f"x{i}", real=True): sympy.Symbol(name, real=True)
                 for i, name in enumerate(language.variable_names)}
        return sympy_to_tree(expression.xreplace(names), language)
    except (ValueError, TypeError, RecursionError, ZeroDivisionError, OverflowError):
        return None


def refit_sequences(sequences: Sequence, config: TransformerConfig, language: Language,
                    evaluator: Evaluator, data: Dataset, rng: np.random.Generator, *,
                    n_starts: int = 3, max_iterations: int = 100,
                    time_limit: float | None = None, scales=None,
                    prune: bool = True) -> list[Candidate]:
    """Fit the constants of each decoded sequence (duplicates and invalid ones dropped),
    then, with ``prune``, of each one-node deletion of those (see the module's note).

    Parameters
    ----------
    sequences : sequence of Decoded
        From :func:`~hybridsr.transformer.decoding.beam_search` or sampling.
    config : TransformerConfig
        The model's configuration (its language and vocabulary).
    language : Language
        The user's language; candidates it cannot write are dropped.
    evaluator : Evaluator
        For ``language``'s operator set; its loss is the one fitted.
    data : Dataset
    rng : numpy.random.Generator
        Draws the starting constants.
    n_starts : int
        Fits from different starting constants (the decoded values, where
        the model writes floats, count as the first).
    max_iterations : int
        Levenberg-Marquardt iterations per fit.
    time_limit : float, optional
        Seconds after which no further sequence is fitted.
    scales : (ndarray, float), optional
        The powers of ten the model's inputs and target were divided by
        (see :func:`~hybridsr.transformer.inference.propose_candidates`).
    prune : bool
        Also fit every one-node deletion of each decoded formula (after all
        decoded ones, so a time limit cuts the deletions first); a deletion
        keeps its parent's log-probability and skeleton text, marked
        ``(pruned)``.

    Returns
    -------
    list of Candidate
        In the order of ``sequences``, then the deletions, without repeats of a formula.
    """
    deadline = math.inf if time_limit is None else time.monotonic() + time_limit
    vocabulary = config.vocabulary
    candidates, seen = [], set()

    def add(tree: Individual | None, log_probability: float, skeleton: str) -> None:
        """Fit ``tree`` and keep it, unless it is unusable or a formula already fitted."""
        key = None if tree is None else _skeleton_key(tree)
        if key is None or key in seen:
            return
        seen.add(key)
        fitted, loss = _fit(tree, language, evaluator, data, rng, n_starts, max_iterations)
        candidates.append(Candidate(fitted, loss, complexity(fitted, language), log_probability,
                                    skeleton))

    for decoded in sequences:
        if time.monotonic() > deadline:
            break
        tokens = [vocabulary.tokens[i] for i in decoded.tokens]
        try:
            model_tree = tokens_to_tree(tokens, config.language, vocabulary)
        except TokenError:
            continue
        add(_to_language(model_tree, config, language, rng, scales), decoded.log_probability,
            " ".join(tokens))
    if not prune:
        return candidates
    for parent in list(candidates):
        for nodes in node_deletions(parent.tree):
            if time.monotonic() > deadline:
                return candidates
            add(_through_sympy(Individual(nodes), language), parent.log_probability,
                parent.skeleton + " (pruned)")
    return candidates


def _through_sympy(tree: Individual, language: Language) -> Individual | None:
    """``tree`` rewritten by sympy, which merges the constants a deletion leaves side by
    side (``a*(x*(b*sqrt(x)))`` becomes ``c*x**1.5`` written in ``language``);
    None when it cannot be written back."""
    try:
        return sympy_to_tree(tree_to_sympy(tree, language), language)
    except (ValueError, TypeError, RecursionError, ZeroDivisionError, OverflowError):
        return None


def _skeleton_key(tree: Individual) -> str:
    """The tree with its constants zeroed: formulas that differ only in constants share it."""
    return str(Individual([Constant(0.0) if type(n) is Constant else n for n in tree]))


def _fit(tree: Individual, language: Language, evaluator: Evaluator, data: Dataset,
         rng: np.random.Generator, n_starts: int, max_iterations: int) -> tuple[Individual, float]:
    program = compile_tree(tree, language)
    best_constants, best_loss = program.constants, evaluator.loss(program, data)
    if program.constants.size == 0:
        return tree, best_loss
    for start in range(max(1, n_starts)):
        if start:
            # Log-uniform magnitudes with random signs: the values formulas tend to hold.
            program.constants = (rng.choice((-1.0, 1.0), program.constants.size)
                                 * np.exp(rng.uniform(np.log(0.2), np.log(5.0), program.constants.size)))
        fit = fit_constants(program, evaluator, data, rng=rng, n_restarts=1,
                            max_iterations=max_iterations)
        if fit.loss < best_loss:
            best_constants, best_loss = fit.constants, fit.loss
    return with_constants(tree, best_constants), float(best_loss)


def pareto_candidates(candidates: Sequence[Candidate]) -> list[Candidate]:
    """Candidates whose loss is lower than every simpler candidate's, simplest first.

    Ties in complexity go to the lower loss, then to the more probable skeleton.
    """
    ordered = sorted((c for c in candidates if math.isfinite(c.loss)),
                     key=lambda c: (c.complexity, c.loss, -c.log_probability))
    front, best = [], math.inf
    for candidate in ordered:
        if candidate.loss < best:
            front.append(candidate)
            best = candidate.loss
    return front
