"""Training data: skeleton pools, sampled datasets, and their tokens.

A *pool* is a list of distinct canonical skeletons (:class:`PoolEntry`),
each valid on at least one draw of constants and points. Training draws
from it over and over, each time with fresh constants and points
(:func:`sample_dataset`), so one skeleton teaches many datasets.

A dataset of ``n`` points becomes an int array of shape
``(n, 3 * (max_variables + 1))``: the sign, mantissa and exponent tokens of
each input (padding for absent variables) and of the target.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..expr.simplify import evaluate_tree
from ..expr.tree import Constant, Individual, with_constants
from .config import TransformerConfig
from .sampler import ExpressionSampler, canonical_skeleton
from .tokenizer import tokens_to_tree, tree_to_tokens

__all__ = ["PoolEntry", "Sample", "sample_inputs", "sample_dataset", "encode_points",
           "build_pool", "make_batch"]

# Targets larger than this are rejected: they mean an overflow in all but name.
_LARGEST_TARGET = 1e12
# Fresh draws of constants and points tried before a skeleton counts as invalid.
_DRAWS = 4


@dataclass(frozen=True)
class PoolEntry:
    """One skeleton of a pool: its prefix tokens and the dataset's variable count."""

    tokens: tuple[str, ...]
    n_variables: int


@dataclass(frozen=True)
class Sample:
    """One dataset drawn for a skeleton: inputs, targets and the constants used."""

    X: np.ndarray
    y: np.ndarray
    tree: Individual


def sample_inputs(n_points: int, n_variables: int, rng: np.random.Generator) -> np.ndarray:
    """Points uniform in a random box: per variable either symmetric about 0 or positive.

    Half-widths are log-uniform in [0.5, 5]; positive ranges start in [0, 3]
    (many laws only live there: logarithms, roots, physical quantities).
    """
    X = np.empty((n_points, n_variables))
    for j in range(n_variables):
        width = np.exp(rng.uniform(np.log(0.5), np.log(5.0)))
        if rng.random() < 0.4:
            low, high = -width, width
        else:
            low = rng.uniform(0.0, 3.0)
            high = low + 2 * width
        X[:, j] = rng.uniform(low, high, n_points)
    return X


def _constant_values(n: int, rng: np.random.Generator) -> np.ndarray:
    """Log-uniform magnitudes in [0.1, 10] with random signs."""
    return rng.choice((-1.0, 1.0), n) * np.exp(rng.uniform(np.log(0.1), np.log(10.0), n))


def sample_dataset(skeleton: Individual, config: TransformerConfig, n_variables: int,
                   n_points: int, rng: np.random.Generator) -> Sample | None:
    """Constants and points for a skeleton whose targets are all finite, or None.

    Tries a few fresh draws; a skeleton that is non-finite (or constant, or
    beyond ``1e12``) on every draw is invalid on such data and gets None.
    """
    n_constants = sum(type(node) is Constant for node in skeleton)
    for _ in range(_DRAWS):
        tree = with_constants(skeleton, _constant_values(n_constants, rng))
        X = sample_inputs(n_points, n_variables, rng)
        padded = np.zeros((n_points, config.max_variables))
        padded[:, :n_variables] = X
        y = evaluate_tree(tree, config.language, padded)
        if (np.all(np.isfinite(y)) and np.max(np.abs(y)) < _LARGEST_TARGET
                and np.ptp(y) > 1e-9 * (1.0 + np.max(np.abs(y)))):
            return Sample(X, y, tree)
    return None


def encode_points(X: np.ndarray, y: np.ndarray, config: TransformerConfig) -> np.ndarray:
    """Token ids of shape ``(n, point_width)`` for inputs ``X`` (n, d <= max_variables) and ``y``."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    if d > config.max_variables:
        raise ValueError(f"the transformer reads at most {config.max_variables} variables, got {d}")
    vocabulary = config.vocabulary
    ids = np.full((n, config.max_variables + 1, 3), vocabulary.pad, dtype=np.int64)
    ids[:, :d] = vocabulary.encode_numbers(X)
    ids[:, -1] = vocabulary.encode_numbers(np.asarray(y, dtype=np.float64))
    return ids.reshape(n, -1)


def _pool_chunk(config_dict: dict, sampler_options: dict, n_attempts: int, seed) -> list[PoolEntry]:
    """Valid canonical skeletons from ``n_attempts`` raw trees (a worker's share; picklable)."""
    config = TransformerConfig.from_dict(config_dict)
    sampler = ExpressionSampler(config.language, **sampler_options)
    rng = np.random.default_rng(seed)
    weights = np.array([0.4, 0.35, 0.25][:config.max_variables])
    found, seen = [], set()
    for _ in range(n_attempts):
        n_variables = 1 + int(rng.choice(len(weights), p=weights / weights.sum()))
        skeleton = canonical_skeleton(sampler.random_tree(rng, n_variables=n_variables),
                                      config.language, rng)
        if skeleton is None or len(skeleton) > config.max_length:
            continue
        entry = PoolEntry(tuple(tree_to_tokens(skeleton, config.language, config.vocabulary)),
                          n_variables)
        if entry in seen:
            continue
        if sample_dataset(skeleton, config, n_variables, 64, rng) is None:
            continue
        seen.add(entry)
        found.append(entry)
    return found


def build_pool(config: TransformerConfig, n_attempts: int, seed: int, *, n_jobs: int = 1,
               sampler_options: dict | None = None) -> list[PoolEntry]:
    """Distinct valid skeletons from ``n_attempts`` raw random trees.

    The work is cut into chunks with seeds spawned up front and merged in
    chunk order, so the pool depends on ``seed`` only, never on ``n_jobs``.
    """
    n_chunks = max(1, min(64, n_attempts // 500))
    seeds = np.random.SeedSequence(seed).spawn(n_chunks)
    shares = [n_attempts // n_chunks + (i < n_attempts % n_chunks) for i in range(n_chunks)]
    args = [(config.to_dict(), dict(sampler_options or {}), share, s) for share, s in zip(shares, seeds)]
    if n_jobs > 1:
        with ProcessPoolExecutor(n_jobs) as pool:
            chunks = list(pool.map(_pool_chunk, *zip(*args)))
    else:
        chunks = [_pool_chunk(*a) for a in args]
    merged: dict[PoolEntry, None] = {}
    for chunk in chunks:
        merged.update(dict.fromkeys(chunk))
    return list(merged)


def make_batch(pool: list[PoolEntry], config: TransformerConfig, batch_size: int, n_points: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A training batch: point tokens ``(B, n_points, point_width)`` and target tokens ``(B, T)``.

    Targets are ``<bos> tokens <eos>`` padded with ``<pad>``; in ``"float"``
    mode the constants are the values drawn for this dataset.
    """
    vocabulary = config.vocabulary
    points, targets = [], []
    while len(points) < batch_size:
        entry = pool[int(rng.integers(len(pool)))]
        skeleton = tokens_to_tree(entry.tokens, config.language, vocabulary)
        sample = sample_dataset(skeleton, config, entry.n_variables, n_points, rng)
        if sample is None:
            continue
        tokens = (entry.tokens if config.constants == "skeleton" else
                  tree_to_tokens(sample.tree, config.language, vocabulary, "float"))
        points.append(encode_points(sample.X, sample.y, config))
        targets.append([vocabulary.bos, *(vocabulary.ids[t] for t in tokens), vocabulary.eos])
    width = max(len(t) for t in targets)
    target_ids = np.full((batch_size, width), vocabulary.pad, dtype=np.int64)
    for i, t in enumerate(targets):
        target_ids[i, :len(t)] = t
    return np.stack(points), target_ids
