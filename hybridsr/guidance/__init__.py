"""Neural guidance: generators that propose formulas, and how they seed the search.

``HybridSRRegressor(guidance=["student"])`` runs the generators before the
search (within ``guidance_time_fraction`` of its time); their formulas and
subexpressions join the initial populations and feed the ``graft``
mutation. torch is imported only when a neural generator runs.
"""

from .candidates import candidate_trees, subexpressions
from .generators import (BUILTIN_GENERATORS, CandidateGenerator, GuidanceOutcome, GuidanceTask,
                         GuidanceWarning, StudentGenerator, resolve_generators, run_guidance)

__all__ = ["BUILTIN_GENERATORS", "CandidateGenerator", "GuidanceOutcome", "GuidanceTask",
           "GuidanceWarning", "StudentGenerator", "candidate_trees", "resolve_generators",
           "run_guidance", "subexpressions"]
