"""Benchmark problems: definitions, generators and suites.

Built-in suites (:data:`SUITES`):

``empirical``
    The nine EmpiricalBench laws of the PySR paper (Hubble ... Rydberg) as
    synthetic problems (:mod:`~hybridsr.datasets.empirical`).
``feynman``
    The 100 AI Feynman equations plus the 20 bonus ones, with their published
    ranges (:mod:`~hybridsr.datasets.feynman`, data in ``feynman.csv``).
``nguyen``
    Nguyen-1..12 (:mod:`~hybridsr.datasets.nguyen`).
``seed``
    The seed's ``3 sin(x) - 0.5x`` (:mod:`~hybridsr.datasets.seed`).

A user's own suite is a directory of CSV files or a Python file/module
defining ``PROBLEMS`` (:func:`load_suite`; :func:`get_suite` takes its path too).

>>> from hybridsr.datasets import get_problem
>>> X, y = get_problem("hubble").sample(seed=0)        # doctest: +SKIP
"""

from .problem import DISTRIBUTIONS, Problem, Variable
from .registry import SUITES, get_problem, get_suite
from .user import load_suite

__all__ = ["DISTRIBUTIONS", "Problem", "SUITES", "Variable", "get_problem", "get_suite",
           "load_suite"]
