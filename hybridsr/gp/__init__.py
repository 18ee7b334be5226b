"""Genetic programming on DEAP trees: members, populations, variation, islands.

The main loop that drives the islands lives in :mod:`hybridsr.engine.search`;
one island's iteration (the seed's ``evolve`` plus simplify and optimise) is
:func:`hybridsr.gp.island.run_island`.
"""

from .constraints import Constraints
from .frequencies import ComplexityFrequencies
from .hall_of_fame import HallOfFame, pareto_front
from .member import Member
from .population import Population

__all__ = ["Constraints", "ComplexityFrequencies", "HallOfFame", "Member", "Population", "pareto_front"]
