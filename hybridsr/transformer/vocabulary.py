"""The token table shared by the transformer's encoder and decoder.

One vocabulary holds every token: the special ones (padding, start and end
of a formula), the operators by their identifier (``add``, ``sin``: the
names of the DEAP primitives, so that a prefix tree reads off as tokens),
the variables ``x0 ..``, the constant placeholder ``C`` of a skeleton, and
the number tokens of :class:`~hybridsr.transformer.numbers.FloatFormat`
(sign, mantissa, exponent). A token's id is its position in :attr:`tokens`,
so the table is rebuilt identically from the model's configuration and never
stored on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..operators import OperatorSet
from .numbers import SIGN_TOKENS, FloatFormat

__all__ = ["PAD", "BOS", "EOS", "PLACEHOLDER", "Vocabulary", "variable_token"]

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
#: The token of a constant in a skeleton; its value is fitted afterwards.
PLACEHOLDER = "C"


def variable_token(index: int) -> str:
    return f"x{index}"


@dataclass(frozen=True)
class Vocabulary:
    """Token names and ids for one operator set, variable count and float format.

    Parameters
    ----------
    operator_set : OperatorSet
        The operators the model can write (built-ins only: a token names an ident).
    max_variables : int
    float_format : FloatFormat
    """

    operator_set: OperatorSet
    max_variables: int
    float_format: FloatFormat
    tokens: tuple[str, ...] = field(init=False, repr=False, compare=False)
    ids: dict = field(init=False, repr=False, compare=False)
    arities: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        custom = [op.name for op in self.operator_set.operators if op.definition is not None]
        if custom:
            raise ValueError(f"the transformer's vocabulary holds built-in operators only, not {custom}")
        tokens = (PAD, BOS, EOS,
                  *(op.ident for op in self.operator_set.operators),
                  *(variable_token(i) for i in range(self.max_variables)),
                  PLACEHOLDER, *SIGN_TOKENS,
                  *self.float_format.mantissa_tokens, *self.float_format.exponent_tokens)
        if len(set(tokens)) != len(tokens):
            raise ValueError("token names clash")  # an ident named like a variable or a number
        arities = np.zeros(len(tokens), dtype=np.int64)
        for op in self.operator_set.operators:
            arities[tokens.index(op.ident)] = op.arity
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "ids", {t: i for i, t in enumerate(tokens)})
        object.__setattr__(self, "arities", arities)

    def __len__(self) -> int:
        return len(self.tokens)

    # -- groups of ids -----------------------------------------------------
    @property
    def pad(self) -> int:
        return self.ids[PAD]

    @property
    def bos(self) -> int:
        return self.ids[BOS]

    @property
    def eos(self) -> int:
        return self.ids[EOS]

    @property
    def placeholder(self) -> int:
        return self.ids[PLACEHOLDER]

    def operator_ids(self) -> dict[str, int]:
        """Token id of each operator, by operator name (``"+"``, ``"sin"``)."""
        return {op.name: self.ids[op.ident] for op in self.operator_set.operators}

    def variable_ids(self) -> list[int]:
        return [self.ids[variable_token(i)] for i in range(self.max_variables)]

    @property
    def sign_offset(self) -> int:
        return self.ids[SIGN_TOKENS[0]]

    @property
    def mantissa_offset(self) -> int:
        return self.sign_offset + len(SIGN_TOKENS)

    @property
    def exponent_offset(self) -> int:
        return self.mantissa_offset + 10**self.float_format.precision

    # -- numbers -------------------------------------------------------------
    def encode_numbers(self, values) -> np.ndarray:
        """Token ids of shape ``values.shape + (3,)``: sign, mantissa, exponent."""
        sign, mantissa, exponent = self.float_format.split(values)
        return np.stack([sign + self.sign_offset, mantissa + self.mantissa_offset,
                         exponent + self.exponent_offset], axis=-1)

    def decode_numbers(self, ids) -> np.ndarray:
        """The values of number token triples (the inverse of :meth:`encode_numbers`)."""
        ids = np.asarray(ids)
        return self.float_format.join(ids[..., 0] - self.sign_offset, ids[..., 1] - self.mantissa_offset,
                                      ids[..., 2] - self.exponent_offset)

    def is_sign(self, token_id: int) -> bool:
        return self.sign_offset <= token_id < self.mantissa_offset

    def is_mantissa(self, token_id: int) -> bool:
        return self.mantissa_offset <= token_id < self.exponent_offset

    def is_exponent(self, token_id: int) -> bool:
        return self.exponent_offset <= token_id < len(self.tokens)
