"""One dataset in, ranked fitted candidates out: the pipeline the estimator and the generator share."""

from __future__ import annotations

import contextlib
import time
import warnings

import numpy as np
import sympy
import torch

from ..evaluate.evaluator import Dataset, Evaluator
from ..expr.sympy_convert import sympy_to_tree
from ..expr.tree import Constant, Individual, Language, compile_tree, complexity
from ..scaling import decade_scales
from .data import encode_points
from .decoding import beam_search, sample_sequences
from .model import SRTransformer
from .refit import Candidate, refit_sequences

__all__ = ["allowed_operators", "propose_candidates", "torch_threads"]


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """``n`` torch threads inside (decoding is small: one thread is fastest on a busy machine),
    the previous count restored afterwards; torch's warnings silenced."""
    previous = torch.get_num_threads()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(previous)


def allowed_operators(model: SRTransformer, language: Language) -> np.ndarray:
    """Vocabulary mask of the model's operators that ``language`` can write.

    An operator counts when its formula on fresh arguments converts into the
    language (``square`` does where ``*`` exists), so the decoder never
    writes what the user's operators cannot express.
    """
    vocabulary = model.config.vocabulary
    mask = np.zeros(len(vocabulary), dtype=bool)
    names = [sympy.Symbol(n, real=True) for n in language.variable_names[:2]]
    arguments = names + names[:1] if len(names) == 1 else names
    for op in model.config.operator_set.operators:
        try:
            sympy_to_tree(op.to_sympy(*arguments[:op.arity]), language)
        except ValueError:
            continue
        mask[vocabulary.ids[op.ident]] = True
    return mask


def propose_candidates(model: SRTransformer, X: np.ndarray, y: np.ndarray, language: Language,
                       evaluator: Evaluator, rng: np.random.Generator, *, beam_size: int = 32,
                       n_samples: int = 0, temperature: float = 1.0, max_points: int = 128,
                       n_starts: int = 3, max_iterations: int = 100,
                       time_limit: float | None = None, prune: bool = True) -> list[Candidate]:
    """Decode skeletons for ``(X, y)``, refit their constants on all rows, and return them.

    The model reads at most ``max_points`` rows, drawn without replacement by
    ``rng``, with columns (and the target) far from unit size divided by a
    power of ten (:func:`hybridsr.scaling.decade_scales`): it was trained on
    inputs of size 0.1 to 10, and reads a mass in kg or a frequency in Hz as
    nothing it has seen; its formulas are written back in the raw units
    before the refit. Beam search gives ``beam_size`` skeletons and sampling
    ``n_samples`` more (seeded from ``rng``); with ``prune`` each refitted
    formula's one-node deletions are refitted too
    (:func:`~hybridsr.transformer.refit.refit_sequences`). A constant formula
    (the mean) is always among the candidates, so the list is never empty.

    Raises
    ------
    ValueError
        When ``X`` has more columns than the model reads.
    """
    start = time.monotonic()
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n, d = X.shape
    config = model.config
    if d > config.max_variables:
        raise ValueError(f"the transformer reads at most {config.max_variables} variables; X has {d} "
                         f"columns (select the most relevant ones first)")
    rows = np.sort(rng.choice(n, max_points, replace=False)) if n > max_points else np.arange(n)
    # Scaled columns land in [1, 10) in RMS, the sizes the model was trained on.
    x_scale = decade_scales(X, within=1, below=True)
    y_scale = float(decade_scales(y[:, None], within=1, below=True)[0])
    points = encode_points(X[rows] / x_scale, y[rows] / y_scale, config)
    mask = allowed_operators(model, language)
    with torch_threads(1):
        decoded = beam_search(model, points, d, beam_size=beam_size, allowed_operators=mask)
        if n_samples:
            decoded += sample_sequences(model, points, d, n_samples=n_samples,
                                        temperature=temperature, seed=int(rng.integers(2**31)),
                                        allowed_operators=mask)
    data = Dataset.from_arrays(X, y)
    left = None if time_limit is None else max(0.0, time_limit - (time.monotonic() - start))
    candidates = refit_sequences(decoded, config, language, evaluator, data, rng, n_starts=n_starts,
                                 max_iterations=max_iterations, time_limit=left,
                                 scales=(x_scale, y_scale), prune=prune)
    mean = Individual([Constant(float(np.mean(y)))])
    candidates.append(Candidate(mean, evaluator.loss(compile_tree(mean, language), data),
                                complexity(mean, language), -np.inf, "C"))
    return candidates
