"""Neural guidance: generators that propose formulas, and how they seed the search.

``HybridSRRegressor(guidance=["student"])`` runs the generators once the
plain search stalls (:mod:`hybridsr.guidance.stall`), or before it with
``guidance_start="start"``, within ``guidance_time_fraction`` of its time;
their formulas and subexpressions replace the islands' worst members (or
join the initial populations) and feed the ``graft`` mutation. torch is
imported only when a neural generator runs.
"""

from .candidates import candidate_trees, subexpressions
from .generators import (BUILTIN_GENERATORS, CandidateGenerator, GuidanceOutcome, GuidanceTask,
                         GuidanceWarning, StudentGenerator, resolve_generators, run_guidance)
from .stall import GUIDANCE_STARTS, StallRule, StallTrigger, front_level

__all__ = ["BUILTIN_GENERATORS", "CandidateGenerator", "GUIDANCE_STARTS", "GuidanceOutcome",
           "GuidanceTask", "GuidanceWarning", "StallRule", "StallTrigger", "StudentGenerator",
           "candidate_trees", "front_level", "resolve_generators", "run_guidance", "subexpressions"]
