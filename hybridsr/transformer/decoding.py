"""From a dataset to candidate token sequences: beam search and sampling (torch).

Both decoders only ever extend a sequence with a token that can still
become one well-formed prefix expression within ``max_length`` tokens:
operators need room for their arguments, a number's sign is followed by a
mantissa and an exponent, the end token comes exactly when no argument is
missing, and only the dataset's variables and the allowed operators appear.
So every sequence they return parses (:func:`~hybridsr.transformer.tokenizer.tokens_to_tree`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .model import SRTransformer

__all__ = ["Decoded", "beam_search", "sample_sequences", "grammar_mask"]

# Number states of a sequence: expecting a node, a mantissa, an exponent.
_NODE, _MANTISSA, _EXPONENT = 0, 1, 2


@dataclass(frozen=True)
class Decoded:
    """One decoded sequence: token ids (no start or end token) and its log-probability."""

    tokens: tuple[int, ...]
    log_probability: float


class _Grammar:
    """Which tokens may come next, given open argument slots, number state and length."""

    def __init__(self, model: SRTransformer, n_variables: int, allowed_operators: np.ndarray | None):
        config = model.config
        vocabulary = config.vocabulary
        self.vocabulary = vocabulary
        self.max_length = config.max_length
        n = len(vocabulary)
        self.arity = torch.from_numpy(vocabulary.arities.copy())
        operators = vocabulary.arities > 0
        if allowed_operators is not None:
            operators &= np.asarray(allowed_operators, dtype=bool)
        self.operators = torch.from_numpy(operators)
        leaves = np.zeros(n, dtype=bool)
        leaves[vocabulary.variable_ids()[:n_variables]] = True
        self.variables = torch.from_numpy(leaves.copy())
        constant = np.zeros(n, dtype=bool)
        if config.constants == "skeleton":
            constant[vocabulary.placeholder] = True
        else:
            constant[vocabulary.sign_offset:vocabulary.mantissa_offset] = True
        self.constant = torch.from_numpy(constant)
        self.mantissas = torch.zeros(n, dtype=torch.bool)
        self.mantissas[vocabulary.mantissa_offset:vocabulary.exponent_offset] = True
        self.exponents = torch.zeros(n, dtype=torch.bool)
        self.exponents[vocabulary.exponent_offset:] = True
        self.eos = torch.zeros(n, dtype=torch.bool)
        self.eos[vocabulary.eos] = True
        self.constant_length = 1 if config.constants == "skeleton" else 3

    def mask(self, open_slots: torch.Tensor, state: torch.Tensor, length: torch.Tensor) -> torch.Tensor:
        """Allowed next tokens (B, n_tokens) for sequences in the given states."""
        room = self.max_length - length  # tokens still allowed, the next one included
        # An operator of arity a leaves open + a - 1 slots, each at least one token long.
        fits = (open_slots[:, None] + self.arity[None] - 1) <= (room[:, None] - 1)
        node = ((self.operators[None] & fits) | self.variables[None]
                | (self.constant[None] & (open_slots + self.constant_length - 2 < room)[:, None]))
        node = node & (open_slots > 0)[:, None]
        mask = torch.where((state == _MANTISSA)[:, None], self.mantissas[None], node)
        mask = torch.where((state == _EXPONENT)[:, None], self.exponents[None], mask)
        done = (open_slots == 0) & (state == _NODE)
        return torch.where(done[:, None], self.eos[None], mask)

    def advance(self, open_slots, state, tokens):
        """Open slots and number state after appending ``tokens`` (B,)."""
        vocabulary = self.vocabulary
        is_sign = (tokens >= vocabulary.sign_offset) & (tokens < vocabulary.mantissa_offset)
        is_mantissa = (tokens >= vocabulary.mantissa_offset) & (tokens < vocabulary.exponent_offset)
        is_exponent = tokens >= vocabulary.exponent_offset
        new_state = torch.where(is_sign, _MANTISSA, torch.where(is_mantissa, _EXPONENT, _NODE))
        # A node closes a slot when it is complete: at once, or with a number's exponent.
        completes = (state == _NODE) & ~is_sign & (tokens != vocabulary.eos)
        delta = torch.where(completes, self.arity[tokens] - 1, 0)
        delta = torch.where(is_exponent, -1, delta)
        return open_slots + delta, new_state


def grammar_mask(model: SRTransformer, prefix: list[int], n_variables: int,
                 allowed_operators: np.ndarray | None = None) -> np.ndarray:
    """The tokens allowed after ``prefix`` (ids, no start token), as a boolean array."""
    grammar = _Grammar(model, n_variables, allowed_operators)
    open_slots, state = torch.ones(1, dtype=torch.long), torch.zeros(1, dtype=torch.long)
    for token in prefix:
        open_slots, state = grammar.advance(open_slots, state, torch.tensor([token]))
    return grammar.mask(open_slots, state, torch.tensor([len(prefix)])).numpy()[0]


def _check_points(model: SRTransformer, points: np.ndarray) -> torch.Tensor:
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != model.config.point_width:
        raise ValueError(f"points must have shape (n, {model.config.point_width}), got {points.shape}")
    return torch.from_numpy(points.astype(np.int64))[None]


@torch.no_grad()
def beam_search(model: SRTransformer, points: np.ndarray, n_variables: int, *, beam_size: int = 32,
                allowed_operators: np.ndarray | None = None) -> list[Decoded]:
    """The ``beam_size`` most probable well-formed sequences for one dataset, most probable first.

    Parameters
    ----------
    model : SRTransformer
    points : int array of shape (n_points, point_width)
        The dataset's tokens (:func:`~hybridsr.transformer.data.encode_points`).
    n_variables : int
        Variables the dataset has; the others never appear.
    beam_size : int
    allowed_operators : bool array over the vocabulary, optional
        Operators that may appear (default: all).
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be at least 1, got {beam_size!r}")
    grammar = _Grammar(model, n_variables, allowed_operators)
    memory = model.encode(_check_points(model, points))
    vocabulary = model.config.vocabulary
    sequences = torch.full((1, 1), vocabulary.bos, dtype=torch.long)
    scores = torch.zeros(1)
    open_slots, state = torch.ones(1, dtype=torch.long), torch.zeros(1, dtype=torch.long)
    finished: list[Decoded] = []
    for length in range(model.config.max_length + 1):
        logits = model.decode(memory.expand(len(sequences), -1, -1), sequences)[:, -1]
        log_probs = torch.log_softmax(logits.float(), dim=-1)
        allowed = grammar.mask(open_slots, state, torch.full_like(open_slots, length))
        totals = (scores[:, None] + log_probs).masked_fill(~allowed, -torch.inf)
        best = torch.topk(totals.reshape(-1), min(2 * beam_size, int(allowed.sum())))
        keep = []
        for value, flat in zip(best.values.tolist(), best.indices.tolist()):
            row, token = divmod(flat, totals.shape[1])
            if token == vocabulary.eos:
                finished.append(Decoded(tuple(sequences[row, 1:].tolist()), value))
            else:
                keep.append((row, token, value))
            if len(keep) == beam_size:
                break
        if not keep:
            break
        if len(finished) >= beam_size:
            # Scores only fall as sequences grow: stop once no live beam can enter the top.
            threshold = sorted((d.log_probability for d in finished), reverse=True)[beam_size - 1]
            if max(v for *_, v in keep) < threshold:
                break
        rows = torch.tensor([r for r, _, _ in keep])
        tokens = torch.tensor([t for _, t, _ in keep])
        scores = torch.tensor([v for *_, v in keep])
        open_slots, state = grammar.advance(open_slots[rows], state[rows], tokens)
        sequences = torch.cat([sequences[rows], tokens[:, None]], dim=1)
    finished.sort(key=lambda d: -d.log_probability)
    return finished[:beam_size]


@torch.no_grad()
def sample_sequences(model: SRTransformer, points: np.ndarray, n_variables: int, *,
                     n_samples: int = 32, temperature: float = 1.0, seed: int = 0,
                     allowed_operators: np.ndarray | None = None) -> list[Decoded]:
    """``n_samples`` well-formed sequences drawn token by token at ``temperature`` (duplicates kept)."""
    if n_samples < 1 or not temperature > 0:
        raise ValueError("n_samples must be at least 1 and temperature positive")
    generator = torch.Generator().manual_seed(int(seed))
    grammar = _Grammar(model, n_variables, allowed_operators)
    memory = model.encode(_check_points(model, points)).expand(n_samples, -1, -1)
    vocabulary = model.config.vocabulary
    sequences = torch.full((n_samples, 1), vocabulary.bos, dtype=torch.long)
    scores = torch.zeros(n_samples)
    open_slots = torch.ones(n_samples, dtype=torch.long)
    state = torch.zeros(n_samples, dtype=torch.long)
    done = torch.zeros(n_samples, dtype=torch.bool)
    for length in range(model.config.max_length + 1):
        logits = model.decode(memory, sequences)[:, -1].float() / temperature
        allowed = grammar.mask(open_slots, state, torch.full_like(open_slots, length))
        allowed = torch.where(done[:, None], grammar.eos[None], allowed)  # finished rows idle
        log_probs = torch.log_softmax(logits.masked_fill(~allowed, -torch.inf), dim=-1)
        tokens = torch.multinomial(log_probs.exp(), 1, generator=generator)[:, 0]
        tokens = torch.where(done, vocabulary.pad, tokens)
        scores += torch.where(done, 0.0, log_probs.gather(1, tokens.clamp(max=log_probs.shape[1] - 1)[:, None])[:, 0])
        open_slots, state = grammar.advance(open_slots, state, tokens)
        sequences = torch.cat([sequences, tokens[:, None]], dim=1)
        done |= tokens == vocabulary.eos
        if bool(done.all()):
            break
    result = []
    for row, score in zip(sequences.tolist(), scores.tolist()):
        body = row[1:]
        result.append(Decoded(tuple(body[:body.index(vocabulary.eos)]), score))
    return result
