"""The search loop and where its islands run (see :mod:`hybridsr.engine.search`)."""

from .search import Progress, SearchResult, SearchState, run_search

__all__ = ["Progress", "SearchResult", "SearchState", "run_search"]
