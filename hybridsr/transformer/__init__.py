"""SR-Transformer: a network that reads data points and writes a formula.

After Lample & Charton (2019) and Kamienny et al. (2022): an encoder reads a
dataset (each number as sign, mantissa and exponent tokens), a decoder
writes a formula in prefix tokens with placeholder constants, beam search
proposes candidates, and the core's constant fitting completes and ranks
them. A small model trained on CPU ships in this package
(``sr_transformer.pt``; ``hybridsr transformer train`` reproduces it).

Modules, in import order (torch only from :mod:`.model` on):

:mod:`.numbers`, :mod:`.vocabulary`, :mod:`.tokenizer`
    floats and formulas as tokens;
:mod:`.config`, :mod:`.training_options`
    a model's settings and a training run's options;
:mod:`.sampler`, :mod:`.data`
    random formulas (Lample & Charton's sampler), skeleton pools, datasets, batches;
:mod:`.model`, :mod:`.decoding`, :mod:`.training`
    the network, beam search and sampling, training (torch);
:mod:`.refit`
    decoded skeletons to fitted, ranked formulas;
:mod:`.estimator`, :mod:`.guidance`
    :class:`TransformerRegressor` and the ``"transformer"`` candidate generator.

Names are imported on first use, so ``from hybridsr.transformer import
TransformerGenerator`` does not import torch.
"""

from __future__ import annotations

import importlib

__all__ = ["TransformerConfig", "TransformerRegressor", "TransformerGenerator", "TrainingOptions",
           "load_model", "train"]

_LAZY = {"TransformerConfig": "config", "TransformerRegressor": "estimator",
         "TransformerGenerator": "guidance", "TrainingOptions": "training_options",
         "load_model": "model", "train": "training"}


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
