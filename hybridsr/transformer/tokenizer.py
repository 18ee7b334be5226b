"""Expressions as prefix token sequences, and back.

A tree of the model's language is already in prefix order, so its tokens are
its nodes' names: operators by identifier (``add``, ``sin``), variables as
``x0 ..``. Constants are written one of two ways (:data:`CONSTANT_MODES`):

``"skeleton"``
    every constant is the placeholder ``C`` (Lample & Charton's and
    Biggio et al.'s skeletons); the values are fitted afterwards;
``"float"``
    every constant is its sign, mantissa and exponent tokens (Kamienny et
    al.), to :attr:`~hybridsr.transformer.numbers.FloatFormat.precision`
    digits.

:func:`tokens_to_tree` reads either back; placeholders become constants of
value 1.0 (a starting point, to be refitted).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..expr.tree import Constant, Individual, Language
from .vocabulary import PLACEHOLDER, Vocabulary, variable_token

__all__ = ["CONSTANT_MODES", "tree_to_tokens", "tokens_to_tree", "TokenError"]

#: Valid ways of writing constants.
CONSTANT_MODES = frozenset({"skeleton", "float"})


class TokenError(ValueError):
    """A token sequence that is not one well-formed prefix expression."""


def tree_to_tokens(tree: Sequence, language: Language, vocabulary: Vocabulary,
                   constants: str = "skeleton") -> list[str]:
    """The prefix tokens of a tree (no start or end token).

    Raises
    ------
    ValueError
        For an unknown ``constants`` mode, an operator outside the
        vocabulary, or a variable beyond its ``max_variables``.
    """
    if constants not in CONSTANT_MODES:
        raise ValueError(f"unknown constants mode {constants!r}; choose one of {sorted(CONSTANT_MODES)}")
    tokens: list[str] = []
    for node in tree:
        if type(node) is Constant:
            if constants == "skeleton":
                tokens.append(PLACEHOLDER)
            else:
                tokens.extend(vocabulary.tokens[i] for i in vocabulary.encode_numbers(node.value))
        elif node.arity:
            if node.name not in vocabulary.ids:
                raise ValueError(f"operator {node.name!r} is not in the transformer's vocabulary")
            tokens.append(node.name)
        else:
            index = language.variable_index(node)
            if index >= vocabulary.max_variables:
                raise ValueError(f"variable x{index} is beyond the vocabulary's "
                                 f"{vocabulary.max_variables} variables")
            tokens.append(variable_token(index))
    return tokens


def tokens_to_tree(tokens: Sequence[str], language: Language, vocabulary: Vocabulary) -> Individual:
    """The tree of prefix tokens; placeholders become ``Constant(1.0)``.

    Raises
    ------
    TokenError
        When the tokens are unknown, out of place (a mantissa without its
        sign), or do not form exactly one tree.
    """
    primitives = {p.name: p for p in language.pset.primitives[object]}
    variables = {variable_token(i): language.variable(i) for i in range(language.n_features)}
    nodes, open_slots, i = [], 1, 0
    tokens = list(tokens)
    while i < len(tokens):
        if open_slots == 0:
            raise TokenError(f"tokens continue after a complete expression: {tokens[i:]}")
        token = tokens[i]
        if token in primitives:
            node = primitives[token]
            open_slots += node.arity - 1
            nodes.append(node)
            i += 1
            continue
        if token in variables:
            nodes.append(variables[token])
        elif token == PLACEHOLDER:
            nodes.append(Constant(1.0))
        elif token in vocabulary.ids and vocabulary.is_sign(vocabulary.ids[token]):
            triple = [vocabulary.ids.get(t, -1) for t in tokens[i:i + 3]]
            if (len(triple) < 3 or not vocabulary.is_mantissa(triple[1])
                    or not vocabulary.is_exponent(triple[2])):
                raise TokenError(f"a number is sign, mantissa, exponent; got {tokens[i:i + 3]}")
            nodes.append(Constant(float(vocabulary.decode_numbers(np.array(triple)))))
            i += 2
        else:
            raise TokenError(f"token {token!r} is not an operator, variable or constant of "
                             f"this language")
        open_slots -= 1
        i += 1
    if open_slots != 0 or not nodes:
        raise TokenError(f"incomplete expression: {open_slots} argument(s) missing")
    return Individual(nodes)
