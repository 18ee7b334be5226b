"""What every island task needs besides its own state, and how it reaches workers.

A :class:`SearchContext` (data, language, settings) is the same for every
island and every iteration, so it travels once: inline for in-process runs,
or as a file that each worker process reads once and keeps
(:class:`FileContext`), or sent once to each cluster worker
(:meth:`hybridsr.engine.executors.RemoteExecutor.share`), instead of being
pickled into every task.
"""

from __future__ import annotations

import functools
import os
import pickle
import tempfile
import threading
from dataclasses import dataclass, field

from ..config import SearchConfig
from ..evaluate.evaluator import Dataset, Evaluator
from ..expr.tree import Language
from ..gp.constraints import Constraints
from ..gp.mutations import NodeTables
from ..gp.scoring import Scorer, baseline_loss

__all__ = ["SearchContext", "InlineContext", "FileContext"]


@dataclass
class SearchContext:
    """The fixed inputs of one search, with the per-process helpers built on first use."""

    data: Dataset
    language: Language
    config: SearchConfig
    donors: tuple = ()  # candidate subtrees for the graft mutation
    # Per thread: a Dask worker with several threads runs several islands on one
    # context at once, and a scorer counts its evaluations in place.
    _helpers: dict = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self):
        return {"data": self.data, "language": self.language, "config": self.config,
                "donors": self.donors, "_helpers": {}}

    @functools.cached_property
    def constraints(self) -> Constraints:
        c = self.config
        return Constraints.from_options(self.language, c.maxsize, c.maxdepth, c.constraints,
                                        c.nested_constraints)

    def helpers(self) -> tuple[Scorer, NodeTables]:
        """A scorer (with its compiled evaluator) and the node tables, built once per thread."""
        thread = threading.get_ident()
        helpers = self._helpers.get(thread)
        if helpers is None:
            c = self.config
            evaluator = Evaluator(self.language.operator_set, c.loss, c.huber_delta)
            scorer = Scorer(self.language, evaluator, self.data, self.constraints, c.parsimony,
                            baseline_loss(self.data, c.loss, c.huber_delta), c.batch_rows(self.data.n_rows))
            helpers = self._helpers[thread] = (scorer, NodeTables(self.language, self.donors))
        return helpers


class InlineContext:
    """The context itself, for islands run in the head process."""

    def __init__(self, context: SearchContext):
        self.context = context

    def get(self) -> SearchContext:
        return self.context

    def close(self) -> None:
        pass


class FileContext:
    """The context pickled to a private temporary file; workers load it once each."""

    def __init__(self, context: SearchContext):
        fd, self.path = tempfile.mkstemp(prefix="hybridsr-context-", suffix=".pkl")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(context, handle, protocol=pickle.HIGHEST_PROTOCOL)
        self._local = context

    def __getstate__(self):
        return {"path": self.path, "_local": None}

    def get(self) -> SearchContext:
        return self._local if self._local is not None else _load_context(self.path)

    def close(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass


@functools.lru_cache(maxsize=4)
def _load_context(path: str) -> SearchContext:
    # A worker keeps the few contexts it has seen (one per running search).
    with open(path, "rb") as handle:
        return pickle.load(handle)
