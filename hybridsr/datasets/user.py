"""A user's own suite: a directory of CSV files, or Python code defining problems.

``load_suite(path)`` accepts

* a directory of ``*.csv`` files, one problem per file (named by the file's
  stem). The target is the column named ``y`` or ``target`` (any case), else
  the last column; the other columns are the variables. All values must be
  numeric and finite. An optional sidecar ``<stem>.json`` adds any of
  :data:`SIDECAR_KEYS`, e.g. ``{"formula": "3*sin(x) - 0.5*x",
  "unary_operators": ["sin"]}``;
* a single ``.csv`` file, the same way;
* a ``.py`` file, or the dotted name of an importable module, defining
  ``PROBLEMS = [Problem(...), ...]``.

CSV problems sample from their rows: ``sample()`` returns them all in file
order, ``sample(n, seed=...)`` a random subset; noise is off by default (the
data are already measured). Without a formula (or operators) in the sidecar
the suggested operators are :data:`DEFAULT_BINARY` and :data:`DEFAULT_UNARY`;
with a formula, those it is written in.

Problems defined in a ``.py`` file that use a custom ``sampler`` pickle only
where that file is importable under the same module name; for multi-process
runs prefer an importable module.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .problem import Problem, Variable, formula_operators

__all__ = ["DEFAULT_BINARY", "DEFAULT_UNARY", "SIDECAR_KEYS", "load_suite"]

DEFAULT_BINARY = ("+", "-", "*", "/")
DEFAULT_UNARY = ("square", "cube", "sqrt", "exp", "log", "sin", "cos")
#: Keys a CSV problem's sidecar JSON may hold.
SIDECAR_KEYS = frozenset({
    "formula", "target", "title", "description", "source", "constants", "noise",
    "binary_operators", "unary_operators", "target_units", "units",
})
TARGET_NAMES = ("y", "target")


def load_suite(path, *, suite: str | None = None) -> list[Problem]:
    """Load a user's suite (see the module docstring); ``suite`` overrides its name."""
    text = os.fspath(path)
    p = Path(text)
    if p.is_dir():
        files = sorted(p.glob("*.csv"))
        if not files:
            raise ValueError(f"{text!r} has no .csv files; a suite directory holds one CSV file "
                             f"per problem")
        name = suite or p.resolve().name
        return [_csv_problem(f, name) for f in files]
    if p.is_file() and p.suffix.lower() == ".csv":
        return [_csv_problem(p, suite or p.stem)]
    if p.is_file() and p.suffix == ".py":
        spec = importlib.util.spec_from_file_location(f"hybridsr_user_suite_{p.stem}", p)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return _module_problems(module, text)
    if p.exists():
        raise ValueError(f"cannot load a suite from {text!r}: expected a directory of CSV "
                         f"files, a .csv file, a .py file or an importable module name")
    if all(part.isidentifier() for part in text.split(".")):
        try:
            module = importlib.import_module(text)
        except ModuleNotFoundError as exc:
            raise ValueError(f"no suite at {text!r}: no such file or directory, and no "
                             f"importable module ({exc})") from None
        return _module_problems(module, text)
    raise ValueError(f"no suite at {text!r}: no such file or directory")


def _module_problems(module, where: str) -> list[Problem]:
    problems = getattr(module, "PROBLEMS", None)
    if problems is None:
        raise ValueError(f"{where!r} defines no PROBLEMS; write PROBLEMS = [Problem(...), ...]")
    problems = list(problems)
    bad = [type(p).__name__ for p in problems if not isinstance(p, Problem)]
    if bad or not problems:
        raise ValueError(f"{where!r}: PROBLEMS must be a non-empty list of "
                         f"hybridsr.datasets.Problem, found {bad or 'nothing'}")
    names = [p.name for p in problems]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{where!r}: problem names repeat: {repeated}")
    return problems


def _csv_problem(path: Path, suite: str) -> Problem:
    try:
        return _build_csv_problem(path, suite)
    except ValueError as exc:
        message = str(exc)
        if not message.startswith(str(path)):
            message = f"{path}: {message}"
        raise ValueError(message) from None


def _build_csv_problem(path: Path, suite: str) -> Problem:
    sidecar = _read_sidecar(path.with_suffix(".json"))
    frame = pd.read_csv(path)
    if frame.shape[1] < 2 or frame.shape[0] < 1:
        raise ValueError(f"{path}: need at least one variable column, a target column and one row")
    target = sidecar.get("target") or next(
        (c for c in frame.columns if str(c).strip().lower() in TARGET_NAMES), frame.columns[-1])
    if target not in frame.columns:
        raise ValueError(f"{path}: target column {target!r} not found; "
                         f"columns: {list(frame.columns)}")
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise ValueError(f"{path}: column(s) {non_numeric} are not numeric")
    values = frame.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError(f"{path}: has missing or non-finite values")
    columns = [str(c) for c in frame.columns if c != target]
    X = frame[[c for c in frame.columns if c != target]].to_numpy(dtype=float)
    y = frame[target].to_numpy(dtype=float)
    X.flags.writeable = False
    y.flags.writeable = False
    units = sidecar.get("units", {})
    variables = tuple(Variable(c, X[:, i].min(), X[:, i].max(), "data", units.get(c, ""))
                      for i, c in enumerate(columns))
    formula = sidecar.get("formula")
    binary = sidecar.get("binary_operators")
    unary = sidecar.get("unary_operators")
    common = dict(name=path.stem, suite=suite, formula=formula, variables=variables,
                  target=str(target), target_units=sidecar.get("target_units", ""),
                  title=sidecar.get("title", ""), description=sidecar.get("description", ""),
                  source=sidecar.get("source", str(path)), constants=sidecar.get("constants", {}),
                  n_samples=len(y), noise=sidecar.get("noise", 0.0), data=(X, y))
    if formula is not None and (binary is None or unary is None):
        derived = formula_operators(Problem(**common).sympy())
        binary = derived[0] if binary is None else binary
        unary = derived[1] if unary is None else unary
    return Problem(**common, binary_operators=tuple(binary or DEFAULT_BINARY),
                   unary_operators=tuple(DEFAULT_UNARY if unary is None else unary))


def _read_sidecar(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        sidecar = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(sidecar, dict):
        raise ValueError(f"{path}: expected a JSON object with keys among {sorted(SIDECAR_KEYS)}")
    for key in sidecar:
        if key not in SIDECAR_KEYS:
            near = difflib.get_close_matches(key, sorted(SIDECAR_KEYS), n=1)
            hint = f" Did you mean {near[0]!r}?" if near else ""
            raise ValueError(f"{path}: unknown key {key!r}.{hint} Valid keys: "
                             f"{', '.join(sorted(SIDECAR_KEYS))}")
    return sidecar
