"""The ``"transformer"`` candidate generator: the pretrained network seeds the GP.

Like :class:`~hybridsr.guidance.StudentGenerator` it proposes whole
formulas, which the search turns into initial members and graft donors.
This module imports torch only when :meth:`TransformerGenerator.propose`
runs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import sympy

__all__ = ["TransformerGenerator"]


@dataclass
class TransformerGenerator:
    """Decode the data with the pretrained SR-Transformer and propose its best formulas.

    The proposals are the refitted candidates on the loss-complexity front,
    then the other valid candidates by loss, ``n_proposals`` at most,
    written in the search's variables and operators.

    Attributes
    ----------
    name : str
    beam_size : int
        Skeletons decoded by beam search.
    n_proposals : int
        Most formulas proposed.
    max_points : int
        Rows the network reads.
    weights : str, optional
        A weights file; None uses the one shipped in the package.
    last_report : dict
        What the last call did (candidates refitted, seconds, best loss), for users and tests.
    """

    name: str = "transformer"
    beam_size: int = 32
    n_proposals: int = 12
    max_points: int = 128
    weights: str | None = None
    last_report: dict = field(default_factory=dict, repr=False, compare=False)

    def prepare(self) -> None:
        """Import torch and the network's modules (seconds, once per process)."""
        from . import inference, model  # noqa: F401

    def propose(self, task) -> list[sympy.Expr]:
        from ..evaluate.evaluator import Evaluator
        from ..expr.sympy_convert import tree_to_sympy
        from ..expr.tree import Language
        from ..operators import OperatorSet
        from .inference import propose_candidates
        from .model import load_model
        from .refit import pareto_candidates

        start = time.monotonic()
        model, _ = load_model(self.weights)
        language = Language(OperatorSet.from_spec(tuple(task.binary_operators),
                                                  tuple(task.unary_operators)),
                            task.X.shape[1], tuple(task.variable_names))
        rng = np.random.default_rng(task.seed)
        left = max(0.1, task.time_limit - (time.monotonic() - start))
        candidates = propose_candidates(model, task.X, task.y, language,
                                        Evaluator(language.operator_set), rng,
                                        beam_size=self.beam_size, max_points=self.max_points,
                                        time_limit=left)
        front = pareto_candidates(candidates)
        on_front = {id(c) for c in front}
        rest = sorted((c for c in candidates if id(c) not in on_front and math.isfinite(c.loss)),
                      key=lambda c: c.loss)
        # Most accurate first: the search keeps the first proposals when it has little room.
        chosen = (sorted(front, key=lambda c: c.loss) + rest)[:self.n_proposals]
        plain = {sympy.Symbol(n, real=True): sympy.Symbol(n) for n in language.variable_names}
        self.last_report = {"candidates": len(candidates), "front": len(front),
                            "best_loss": min((c.loss for c in candidates), default=math.inf),
                            "seconds": time.monotonic() - start}
        return [tree_to_sympy(c.tree, language).xreplace(plain) for c in chosen
                if c.tree is not None and len(c.tree) > 1]
