"""The built-in suites by name, and look-up of single problems.

Suites are built on first use and kept (problems are immutable), so
``get_suite`` is cheap after the first call of each name.
"""

from __future__ import annotations

import difflib
import functools
import os

from .empirical import empirical_problems
from .feynman import feynman_problems
from .nguyen import nguyen_problems
from .problem import Problem
from .seed import seed_problems
from .user import load_suite

__all__ = ["SUITES", "get_problem", "get_suite"]

_BUILDERS = {
    "empirical": empirical_problems,
    "feynman": feynman_problems,
    "nguyen": nguyen_problems,
    "seed": seed_problems,
}
#: Names of the built-in suites.
SUITES = tuple(_BUILDERS)


@functools.lru_cache(maxsize=None)
def _builtin(name: str) -> tuple[Problem, ...]:
    return _BUILDERS[name]()


def get_suite(name) -> list[Problem]:
    """The problems of a built-in suite (one of :data:`SUITES`), or of a user's
    suite at a path (see :func:`hybridsr.datasets.load_suite`)."""
    text = os.fspath(name)
    if text in _BUILDERS:
        return list(_builtin(text))
    if os.path.exists(text):
        return load_suite(text)
    near = difflib.get_close_matches(text.lower(), SUITES, n=1)
    hint = f" Did you mean {near[0]!r}?" if near else ""
    raise ValueError(f"unknown suite {text!r}.{hint} Valid suites: {', '.join(SUITES)}; "
                     f"or a path to a directory of CSV files or a .py file defining PROBLEMS")


def _key(name: str) -> str:
    return name.strip().lower().replace(".", "_").replace("-", "_").replace(" ", "_")


def get_problem(name: str, suite: str | None = None) -> Problem:
    """One problem by name, from ``suite`` or from every built-in suite.

    Case, dots and dashes are ignored (``"Nguyen-7"`` finds ``nguyen_7``), and
    an AI Feynman file name finds its problem (``"I.6.2a"``, ``"test_3"``).
    """
    if suite is not None:
        problems = get_suite(suite)
    else:
        problems = [p for s in SUITES for p in _builtin(s)]
    by_key = {_key(p.name): p for p in problems}
    key = _key(name)
    for candidate in (key, f"feynman_{key}"):
        if candidate in by_key:
            return by_key[candidate]
    near = difflib.get_close_matches(key, list(by_key), n=3)
    hint = f" Did you mean {', '.join(repr(by_key[k].name) for k in near)}?" if near else ""
    where = f"suite {suite!r}" if suite is not None else f"the suites {', '.join(SUITES)}"
    raise ValueError(f"unknown problem {name!r} in {where}.{hint}")
