"""Candidate generators: what proposes formulas to seed the search.

A generator is any object with a ``name`` and a method
``propose(task) -> list of sympy expressions`` (:class:`GuidanceTask` says
what it gets), and optionally ``prepare()``, its one-off imports (torch),
which :func:`run_guidance` runs before the time shares are measured out.
The built-in ones are named in :data:`BUILTIN_GENERATORS`;
``guidance=["student"]`` picks them by name, and an object of one's own can
stand in the same list, so a new generator needs no registration.

:func:`run_guidance` runs them within a time budget and turns every failure
into a :class:`GuidanceWarning`: guidance can make a search faster, never
make it fail.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import time
import warnings
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, Sequence

import numpy as np
import sympy

from ..transformer.guidance import TransformerGenerator  # torch only when it proposes
from .decomposition import StructureGenerator  # torch only when it proposes
from .sparse import SparseGenerator

__all__ = ["GuidanceTask", "GuidanceOutcome", "GuidanceWarning", "CandidateGenerator",
           "StudentGenerator", "BUILTIN_GENERATORS", "resolve_generators", "run_guidance"]


class GuidanceWarning(UserWarning):
    """A generator failed or found nothing; the search goes on without it."""


@dataclass(frozen=True)
class GuidanceTask:
    """What a generator gets.

    Attributes
    ----------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    variable_names : tuple of str
        Names to write the candidates in (plain ``sympy.Symbol`` of them).
    unary_operators, binary_operators : tuple of str
        The search's operator names; candidates using others are dropped.
    time_limit : float
        Seconds this generator may take.
    seed : int
        Seed for its random numbers (torch included).
    teacher : torch.nn.Module or None
        A network the user trained on this problem, to distil instead of
        training a teacher.
    operator_set : OperatorSet or None
        The search's operators themselves (custom ones included), for
        generators that run searches of their own; None: built from the names.
    """

    X: np.ndarray
    y: np.ndarray
    variable_names: tuple[str, ...]
    unary_operators: tuple[str, ...]
    binary_operators: tuple[str, ...]
    time_limit: float
    seed: int
    teacher: Any = None
    operator_set: Any = None


class CandidateGenerator(Protocol):
    name: str

    def propose(self, task: GuidanceTask) -> list[sympy.Expr]: ...

    # Optional: ``prepare(self) -> None`` loads what propose needs (imports), untimed.


@dataclass
class StudentGenerator:
    """Seed 000 with seed 001: train (or take) a teacher network, distil an EQL
    student from it, and propose the student's formula.

    ``teacher_share`` of the time goes to training the teacher; the rest to
    the student. Options of :func:`hybridsr.neural.fit_student` can be set
    through ``student_options``; by default the student has no division
    output (EQL-div trains slowly and its rational formulas make poor seeds;
    the search still has ``/``). The proposals are the student's formula and
    every surviving unit's output.
    """

    name: str = "student"
    teacher_share: float = 0.4
    student_options: dict = field(default_factory=dict)
    #: What the last call found (the teacher's and student's reports), for users and tests.
    last_report: dict = field(default_factory=dict, repr=False, compare=False)

    def prepare(self) -> None:
        """Import torch and load its optimizers (seconds, once per process)."""
        from ..neural import load_optimizers

        load_optimizers()

    def propose(self, task: GuidanceTask) -> list[sympy.Expr]:
        from ..neural import Teacher, fit_student, units_for

        start = time.monotonic()
        if task.teacher is not None:
            teacher = Teacher.from_module(task.teacher, task.X, task.y)
        else:
            teacher = Teacher.fit(task.X, task.y, time_limit=self.teacher_share * task.time_limit,
                                  random_state=task.seed)
        left = max(task.time_limit - (time.monotonic() - start), 0.1 * task.time_limit)
        options = {**units_for(task.unary_operators, task.binary_operators).options(),
                   "division": False, **self.student_options}
        student = fit_student(task.X, task.y, teacher=teacher, variable_names=task.variable_names,
                              time_limit=left, random_state=task.seed, **options)
        self.last_report = {"teacher": teacher.report, "student_expression": str(student.expression),
                            "student_validation_rmse": student.validation_rmse,
                            "student_active_weights": student.n_active}
        return [student.expression, *student.subexpressions]


#: Generators by name (read-only; pass your own objects in ``guidance`` instead of registering).
#: ``"transformer"`` decodes the data with the pretrained SR-Transformer
#: (:class:`hybridsr.transformer.TransformerGenerator`, up to three variables).
BUILTIN_GENERATORS = MappingProxyType({"student": StudentGenerator,
                                       "structure": StructureGenerator,
                                       "sparse": SparseGenerator,
                                       "transformer": TransformerGenerator})


def resolve_generators(guidance) -> list:
    """Generator objects from ``None``, a name, a generator, or a sequence of those."""
    if guidance is None:
        return []
    items = [guidance] if isinstance(guidance, str) or hasattr(guidance, "propose") else guidance
    try:
        items = list(items)
    except TypeError:
        raise ValueError(f"guidance must be None, a generator name ({', '.join(BUILTIN_GENERATORS)}), "
                         f"a generator object or a list of them; got {guidance!r}") from None
    generators = []
    for item in items:
        if isinstance(item, str):
            if item not in BUILTIN_GENERATORS:
                near = difflib.get_close_matches(item, list(BUILTIN_GENERATORS), n=1)
                hint = f" Did you mean {near[0]!r}?" if near else ""
                raise ValueError(f"unknown guidance {item!r}.{hint} Available: "
                                 f"{', '.join(BUILTIN_GENERATORS)}, or an object with a "
                                 f"propose(task) method")
            generators.append(BUILTIN_GENERATORS[item]())
        elif callable(getattr(item, "propose", None)):
            generators.append(item)
        else:
            raise ValueError(f"guidance entry {item!r} is neither a generator name "
                             f"({', '.join(BUILTIN_GENERATORS)}) nor an object with a propose(task) method")
    return generators


@dataclass(frozen=True)
class GuidanceOutcome:
    """Candidates from every generator that worked, and how long each took."""

    candidates: list[sympy.Expr]
    seconds: dict[str, float]
    failures: dict[str, str]


def run_guidance(generators: Sequence, task: GuidanceTask) -> GuidanceOutcome:
    """Run each generator on an equal share of the time left in ``task.time_limit`` (a
    generator that finishes early leaves its time to those after it); failures become
    warnings. The candidates come round robin: every generator's first, then every
    generator's second, and so on.

    Each generator's ``prepare()`` (its one-off imports: torch takes 2-5 s to
    import with its optimizers) runs first and is not counted in
    ``task.time_limit``, so a share of a few seconds is spent on the work
    itself; ``seconds`` reports both.
    """
    proposals, seconds, failures = [], {}, {}

    def fail(name: str, error: Exception) -> None:
        failures[name] = f"{type(error).__name__}: {error}"
        warnings.warn(f"guidance {name!r} failed ({failures[name]}); the search goes on "
                      f"without it", GuidanceWarning, stacklevel=3)

    names = [getattr(generator, "name", type(generator).__name__) for generator in generators]
    for name, generator in zip(names, generators):
        start = time.monotonic()
        try:
            prepare = getattr(generator, "prepare", None)
            if callable(prepare):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    prepare()
        except Exception as error:  # noqa: BLE001 - guidance must never sink the search
            fail(name, error)
        seconds[name] = time.monotonic() - start
    ready = [index for index, name in enumerate(names) if name not in failures]
    deadline = time.monotonic() + task.time_limit
    for position, index in enumerate(ready):
        name, generator = names[index], generators[index]
        start = time.monotonic()
        share = max(deadline - start, 0.0) / (len(ready) - position)
        try:
            own = dataclasses.replace(task, time_limit=share, seed=task.seed + index)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # torch's and sympy's chatter is not the user's
                found = [sympy.sympify(c) for c in generator.propose(own)]
            if not found:
                raise ValueError("it proposed no formula")
            proposals.append(found)
        except Exception as error:  # noqa: BLE001 - guidance must never sink the search
            fail(name, error)
        seconds[name] += time.monotonic() - start
    # Round robin, each generator's best first: the search seeds only a share of its
    # populations, and the first generator's long list must not crowd out the others.
    candidates = [c for group in itertools.zip_longest(*proposals) for c in group if c is not None]
    return GuidanceOutcome(candidates, seconds, failures)
