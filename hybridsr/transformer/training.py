"""Training a transformer from scratch on generated data (torch, CPU).

:func:`train` builds a pool of distinct skeletons once
(:func:`~hybridsr.transformer.data.build_pool`), then runs ``steps``
optimiser steps, each on a fresh batch: skeletons drawn from the pool with
new constants and points. The model is written to ``out`` every
``checkpoint_every`` steps and at the end, so a run stopped early still
leaves a usable model. A run depends only on its options: numpy's generator
and torch's initialisation are seeded from ``seed``, torch runs on a fixed
number of threads, and the step count (not the clock) ends it.
"""

from __future__ import annotations

import math
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .config import TransformerConfig
from .data import PoolEntry, build_pool, make_batch
from .model import SRTransformer, save_model
from .training_options import TrainingOptions

__all__ = ["TrainingOptions", "TrainingReport", "train", "read_pool", "write_pool"]


@dataclass(frozen=True)
class TrainingReport:
    """What a run did: steps, seconds, the loss curve and the pool's size."""

    steps: int
    seconds: float
    losses: list[float]
    pool_size: int
    complete: bool


def _learning_rate(options: TrainingOptions, step: int) -> float:
    if step < options.warmup:
        return options.learning_rate * (step + 1) / options.warmup
    progress = (step - options.warmup) / max(1, options.steps - options.warmup)
    return options.learning_rate * (0.1 + 0.45 * (1 + math.cos(math.pi * min(progress, 1.0))))


def write_pool(pool: list[PoolEntry], path: str | os.PathLike, header: str) -> None:
    """One skeleton a line: variable count, tab, tokens; the first line is ``header``."""
    lines = [header] + [f"{e.n_variables}\t{' '.join(e.tokens)}" for e in pool]
    Path(path).write_text("\n".join(lines) + "\n")


def read_pool(path: str | os.PathLike) -> tuple[str, list[PoolEntry]]:
    """The header and skeletons of a file written by :func:`write_pool`."""
    header, *lines = Path(path).read_text().splitlines()
    pool = []
    for line in lines:
        n_variables, tokens = line.split("\t")
        pool.append(PoolEntry(tuple(tokens.split()), int(n_variables)))
    return header, pool


def train(config: TransformerConfig, options: TrainingOptions, out: str | os.PathLike, *,
          pool_path: str | os.PathLike | None = None,
          log: Callable[[str], None] = print) -> tuple[SRTransformer, TrainingReport]:
    """Train a model from scratch and save it at ``out``.

    Parameters
    ----------
    config : TransformerConfig
    options : TrainingOptions
    out : path
        Where the weights go (rewritten at every checkpoint).
    pool_path : path, optional
        Where the skeleton pool is kept; an existing file built with the
        same settings is reused instead of rebuilt.
    log : callable
        Receives progress lines.
    """
    start = time.monotonic()
    header = f"pool {options.pool_attempts} {options.max_operators} {options.seed} {sorted(config.to_dict().items())}"
    pool = None
    if pool_path is not None and Path(pool_path).is_file():
        found_header, found = read_pool(pool_path)
        pool = found if found_header == header else None
    if pool is None:
        pool = build_pool(config, options.pool_attempts, options.seed, n_jobs=options.jobs,
                          sampler_options={"max_operators": options.max_operators})
        if pool_path is not None:
            write_pool(pool, pool_path, header)
    if not pool:
        raise ValueError("the skeleton pool is empty; raise pool_attempts")
    log(f"pool: {len(pool)} distinct skeletons ({time.monotonic() - start:.0f} s)")

    rng = np.random.default_rng(np.random.SeedSequence(options.seed).spawn(2)[1])
    threads = torch.get_num_threads()
    torch.set_num_threads(options.threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(options.seed)
            model = SRTransformer(config)
        log(f"model: {model.n_parameters():,} parameters")
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=options.learning_rate,
                                      betas=(0.9, 0.98), weight_decay=options.weight_decay)
        metadata = {"options": asdict(options), "pool_size": len(pool), "torch": str(torch.__version__),
                    "python": platform.python_version()}
        losses, window, complete = [], [], True
        step = 0
        for step in range(options.steps):
            if options.max_seconds is not None and time.monotonic() - start > options.max_seconds:
                complete = False
                break
            for group in optimizer.param_groups:
                group["lr"] = _learning_rate(options, step)
            n_points = int(rng.integers(options.min_points, options.max_points + 1))
            points, targets = make_batch(pool, config, options.batch_size, n_points, rng)
            points, targets = torch.from_numpy(points), torch.from_numpy(targets)
            logits = model(points, targets[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets[:, 1:].reshape(-1),
                                   ignore_index=config.vocabulary.pad)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            window.append(loss.item())
            if (step + 1) % options.log_every == 0 or step + 1 == options.steps:
                losses.append(float(np.mean(window)))
                window = []
                log(f"step {step + 1}/{options.steps}  loss {losses[-1]:.4f}  "
                    f"lr {_learning_rate(options, step):.2e}  {time.monotonic() - start:.0f} s")
            if options.checkpoint_every and (step + 1) % options.checkpoint_every == 0:
                model.eval()
                save_model(model, out, {**metadata, "steps_done": step + 1, "complete": False,
                                        "losses": losses})
                model.train()
        else:
            step = options.steps
        model.eval()
        seconds = time.monotonic() - start
        save_model(model, out, {**metadata, "steps_done": step, "complete": complete,
                                "losses": losses, "seconds": seconds})
    finally:
        torch.set_num_threads(threads)
    log(f"saved {out} after {step} steps, {seconds:.0f} s")
    return model, TrainingReport(step, seconds, losses, len(pool), complete)
