"""The transformer's configuration: its language, token format and network sizes.

One frozen dataclass, stored as a plain dict beside the weights, so that a
weights file rebuilds its vocabulary and network exactly. Importing this
module does not import torch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property

from ..expr.tree import Language
from ..operators import OperatorSet
from .numbers import FloatFormat
from .tokenizer import CONSTANT_MODES
from .vocabulary import Vocabulary

__all__ = ["TransformerConfig", "MODEL_BINARY_OPERATORS", "MODEL_UNARY_OPERATORS"]

#: Operators the shipped model writes: every built-in one, so that sympy's
#: canonical forms (``-x``, ``x**-2``, ``x**2.5``) are always expressible.
MODEL_BINARY_OPERATORS = ("+", "-", "*", "/", "^")
MODEL_UNARY_OPERATORS = ("neg", "square", "cube", "sqrt", "exp", "log", "sin", "cos", "tan",
                         "tanh", "abs", "inv")


@dataclass(frozen=True)
class TransformerConfig:
    """Everything that fixes a model's vocabulary and shape.

    Attributes
    ----------
    binary_operators, unary_operators : tuple of str
        The operators it writes.
    max_variables : int
        Input variables it reads (fewer are padded).
    precision, max_exponent : int
        The :class:`~hybridsr.transformer.numbers.FloatFormat` of numbers.
    constants : {"skeleton", "float"}
        How it writes constants (see :mod:`hybridsr.transformer.tokenizer`).
    max_length : int
        Longest output, in tokens, without start and end.
    d_model, n_heads, n_encoder_layers, n_decoder_layers, d_feedforward : int
        Transformer sizes.
    d_number : int
        Embedding width of one number token; a data point's tokens are
        concatenated and mapped to ``d_model`` by a small MLP.
    dropout : float
    """

    binary_operators: tuple[str, ...] = MODEL_BINARY_OPERATORS
    unary_operators: tuple[str, ...] = MODEL_UNARY_OPERATORS
    max_variables: int = 3
    precision: int = 3
    max_exponent: int = 40
    constants: str = "skeleton"
    max_length: int = 40
    d_model: int = 128
    n_heads: int = 4
    n_encoder_layers: int = 2
    n_decoder_layers: int = 2
    d_feedforward: int = 384
    d_number: int = 32
    dropout: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "binary_operators", tuple(self.binary_operators))
        object.__setattr__(self, "unary_operators", tuple(self.unary_operators))
        if self.constants not in CONSTANT_MODES:
            raise ValueError(f"unknown constants mode {self.constants!r}; choose one of "
                             f"{sorted(CONSTANT_MODES)}")
        if not 1 <= self.max_variables <= 9:
            raise ValueError(f"max_variables must lie in 1 .. 9, got {self.max_variables!r}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})")
        for name in ("max_length", "d_model", "n_heads", "n_encoder_layers", "n_decoder_layers",
                     "d_feedforward", "d_number"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")

    @classmethod
    def from_dict(cls, values: dict) -> "TransformerConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown transformer settings {unknown}; known: {sorted(known)}")
        return cls(**values)

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self)}

    @cached_property
    def operator_set(self) -> OperatorSet:
        return OperatorSet.from_spec(self.binary_operators, self.unary_operators)

    @cached_property
    def language(self) -> Language:
        """The model's language over ``x0 .. x{max_variables-1}``."""
        return Language(self.operator_set, self.max_variables)

    @cached_property
    def vocabulary(self) -> Vocabulary:
        return Vocabulary(self.operator_set, self.max_variables,
                          FloatFormat(self.precision, self.max_exponent))

    @property
    def point_width(self) -> int:
        """Tokens per data point: three per variable and three for the target."""
        return 3 * (self.max_variables + 1)
