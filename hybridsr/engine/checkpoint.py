"""Checkpoints: a fit's whole search state on disk, written atomically, read back to resume.

A checkpoint file holds, for every target of a fit, the
:class:`~hybridsr.engine.search.SearchState` after the last complete
iteration (every island's population, its best members and RNG, the hall of
fame, the complexity frequencies and the head's RNG), the progress counters
that the stopping rules need, the guidance donors, the language, the
search's options and a digest of the data. Resuming from it continues each
search exactly where it stopped, so a search bounded by ``niterations``
ends with the same result as one that was never interrupted.

Layout: a magic line, a small pickled header (format number, versions), then
the pickled :class:`FitProgress`. The header is read first, so a file from
an incompatible version is refused with a clear message before anything in
it is unpickled.

.. warning::
   Checkpoints are pickles: loading one can run arbitrary code. Load only
   files that you (or someone you trust) wrote.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import io
import os
import pickle
import platform
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["CHECKPOINT_FORMAT", "CheckpointError", "CheckpointWarning", "Checkpointer",
           "FitCheckpoints", "FitProgress", "TargetProgress", "changed_options", "config_options",
           "data_digest", "parse_checkpoint_every", "read_checkpoint", "remaining_budget",
           "write_checkpoint"]

_MAGIC = b"hybridsr-checkpoint\n"
#: Bumped whenever a class stored in checkpoints changes; files of another format are refused.
CHECKPOINT_FORMAT = 1
#: Settings that may differ on resume without a warning: they only say how long to go on.
_BUDGET_FIELDS = frozenset({"niterations", "timeout_in_seconds", "max_evals", "early_stop_condition"})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?)\s*(s|sec|seconds?|m|min|minutes?|h|hours?)\s*$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0}


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used (not a checkpoint, another format, other data)."""


class CheckpointWarning(UserWarning):
    """A resume whose settings differ from the checkpoint's (the result will differ too)."""


@dataclass
class TargetProgress:
    """One target's search as far as it went."""

    state: object  # SearchState after the last complete iteration
    start_iteration: int  # state.iteration when this fit's search began (warm starts count on)
    start_evals: int
    elapsed: float  # seconds of search so far
    donors: tuple = ()  # the graft mutation's candidate subtrees (from guidance)
    stop_reason: str | None = None  # set once the search has ended; None: resume continues it

    @property
    def iterations_done(self) -> int:
        return self.state.iteration - self.start_iteration

    @property
    def evals_done(self) -> int:
        return self.state.n_evals - self.start_evals


@dataclass
class FitProgress:
    """What a checkpoint file holds: the progress of every target of one fit."""

    targets: list  # TargetProgress or None (not started), one per target
    language: object  # the Language of the fit
    data_digest: str
    options: dict  # the SearchConfig's fields (plain values; others as their repr)
    created: str = ""
    hybridsr_version: str = ""


def data_digest(*arrays) -> str:
    """A SHA-256 of the arrays' shapes and values (None entries count as absent)."""
    digest = hashlib.sha256()
    for array in arrays:
        if array is None:
            digest.update(b"none")
            continue
        array = np.ascontiguousarray(array, dtype=np.float64)
        digest.update(repr(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def config_options(config) -> dict:
    """The fields of a SearchConfig as plain values that always pickle (callables as repr)."""
    options = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        try:
            pickle.dumps(value)
        except Exception:  # noqa: BLE001 - lambdas and other unpicklable values
            value = repr(value)
        options[f.name] = value
    return options


def changed_options(saved: dict, config) -> list[str]:
    """Names of the settings (other than the budget) that differ from a checkpoint's."""
    current = config_options(config)
    return sorted(name for name in current if name not in _BUDGET_FIELDS
                  and name in saved and saved[name] != current[name])


def parse_checkpoint_every(value) -> tuple[int | None, float | None]:
    """``(iterations, seconds)`` from ``checkpoint_every``: an int counts iterations, a
    duration ("90s", "10min", "2h" or a ``datetime.timedelta``) counts time."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value >= 1:
        return int(value), None
    if isinstance(value, datetime.timedelta) and value.total_seconds() > 0:
        return None, value.total_seconds()
    if isinstance(value, str):
        match = _DURATION.match(value.lower())
        if match and float(match.group(1)) > 0:
            return None, float(match.group(1)) * _UNIT_SECONDS[match.group(2)[0]]
    raise ValueError(f"checkpoint_every must be a number of iterations (an int >= 1) or a "
                     f"duration such as '90s', '10min' or '1h', got {value!r}")


def write_checkpoint(path: str | os.PathLike, progress: FitProgress) -> None:
    """Write ``progress`` to ``path`` atomically: a reader sees the old file or the new one.

    The file is written beside its destination, flushed to disk, then renamed
    over it, so a job killed while writing leaves the previous checkpoint.
    """
    from .. import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"format": CHECKPOINT_FORMAT, "hybridsr": __version__,
              "python": platform.python_version(), "numpy": np.__version__}
    buffer = io.BytesIO()
    buffer.write(_MAGIC)
    pickle.dump(header, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickle.dump(progress, buffer, protocol=pickle.HIGHEST_PROTOCOL)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as handle:
            handle.write(buffer.getbuffer())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable (not possible on every platform)
        directory = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(directory)
    except OSError:
        pass
    finally:
        os.close(directory)


def read_checkpoint(path: str | os.PathLike) -> FitProgress:
    """The :class:`FitProgress` saved in ``path``.

    Only load files you trust: a checkpoint is a pickle, and unpickling can
    run arbitrary code.

    Raises
    ------
    CheckpointError
        If the file is not a hybridsr checkpoint, was written in another
        checkpoint format (another hybridsr version), or cannot be read.
    """
    from .. import __version__

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {str(path)!r}; pass the checkpoint_file "
                              f"of an earlier fit")
    with open(path, "rb") as handle:
        if handle.read(len(_MAGIC)) != _MAGIC:
            raise CheckpointError(f"{str(path)!r} is not a hybridsr checkpoint (it does not start "
                                  f"like one); pass the checkpoint_file of an earlier fit")
        try:
            header = pickle.load(handle)
            written_by = header["hybridsr"]
            file_format = header["format"]
        except Exception as error:  # noqa: BLE001 - any damage to the header means the same
            raise CheckpointError(f"the header of checkpoint {str(path)!r} is damaged ({error}); "
                                  f"the file cannot be resumed") from None
        if file_format != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"checkpoint {str(path)!r} was written by hybridsr {written_by} in checkpoint "
                f"format {file_format}, but this is hybridsr {__version__}, which reads format "
                f"{CHECKPOINT_FORMAT}; resume it with hybridsr {written_by}, or start afresh")
        try:
            progress = pickle.load(handle)
        except Exception as error:  # noqa: BLE001 - classes moved, truncated file, ...
            raise CheckpointError(
                f"checkpoint {str(path)!r} (written by hybridsr {written_by}) cannot be read by "
                f"hybridsr {__version__}: {type(error).__name__}: {error}; resume it with the "
                f"version that wrote it, or start afresh") from None
    if not isinstance(progress, FitProgress):
        raise CheckpointError(f"{str(path)!r} holds a {type(progress).__name__}, not a fit's "
                              f"progress; pass the checkpoint_file of an earlier fit")
    return progress


@dataclass
class Checkpointer:
    """Decides when a running search's state is saved (the ``checkpoint`` of ``run_search``).

    Saves after every ``every_iterations`` iterations or once ``every_seconds``
    have passed since the last save (whichever is given; the clock is read
    between iterations, when the state is complete), and always at the end.
    ``save(state)`` does the writing.
    """

    save: Callable[[object], None]
    every_iterations: int | None = None
    every_seconds: float | None = None
    _last_iteration: int | None = field(default=None, repr=False)
    _last_time: float = field(default_factory=time.monotonic, repr=False)

    def __call__(self, state, final: bool) -> None:
        if self._last_iteration is None:
            # Counting starts at the first offered state: a resumed search's iterations
            # before it were saved already.
            self._last_iteration = state.iteration - 1
        due = final
        if self.every_iterations is not None:
            due |= state.iteration - self._last_iteration >= self.every_iterations
        if self.every_seconds is not None:
            due |= time.monotonic() - self._last_time >= self.every_seconds
        if not due:
            return
        self.save(state)
        self._last_iteration = state.iteration
        self._last_time = time.monotonic()


def remaining_budget(config, target: TargetProgress):
    """``config`` with its iteration, evaluation and time budgets less what ``target`` used;
    None when a budget is used up (the search has nothing left to do)."""
    niterations = config.niterations - target.iterations_done
    changes = {"niterations": niterations}
    if config.max_evals is not None:
        changes["max_evals"] = config.max_evals - target.evals_done
    if config.timeout_in_seconds is not None:
        changes["timeout_in_seconds"] = config.timeout_in_seconds - target.elapsed
    if niterations < 1 or changes.get("max_evals", 1) < 1 or not changes.get("timeout_in_seconds", 1) > 0:
        return None
    return config.replace(**changes)


class FitCheckpoints:
    """The checkpoint file of one fit: resumed entries in, a rewritten file out.

    Parameters
    ----------
    path : path or None
        Where to write (None: nothing is written, a resume still works).
    every_iterations, every_seconds
        When to write (see :class:`Checkpointer`).
    language, digest, config, n_targets
        What the fit searches: stored in the file and checked on resume.
    resumed : FitProgress, optional
        The progress read from ``resume_from``.

    Raises
    ------
    CheckpointError
        If ``resumed`` belongs to other data, features, operators or targets.
    """

    def __init__(self, path, every_iterations: int | None, every_seconds: float | None, language,
                 digest: str, config, n_targets: int, resumed: FitProgress | None = None):
        from .. import __version__

        self.path = None if path is None else Path(path)
        self.every_iterations, self.every_seconds = every_iterations, every_seconds
        if resumed is not None:
            _check_resumable(resumed, language, digest, n_targets)
            changed = changed_options(resumed.options, config)
            if changed:
                import warnings

                warnings.warn(f"resuming with settings that differ from the checkpoint's: "
                              f"{changed}; the result will differ from an uninterrupted run",
                              CheckpointWarning, stacklevel=3)
        self.resumed = resumed
        self.progress = FitProgress(list(resumed.targets) if resumed else [None] * n_targets,
                                    language, digest, config_options(config),
                                    datetime.datetime.now(datetime.timezone.utc).isoformat(),
                                    __version__)

    def state(self, k: int):
        """The state target ``k`` resumes from (None: start as usual)."""
        entry = self.progress.targets[k] if self.resumed else None
        return None if entry is None else entry.state

    def donors(self, k: int, donors):
        """The graft donors of target ``k``: the checkpoint's when resuming, else ``donors``."""
        entry = self.progress.targets[k] if self.resumed else None
        return donors if entry is None else (entry.donors or None)

    def budget(self, k: int, config):
        """``config`` less what target ``k`` used before the checkpoint; None when nothing is
        left (then :meth:`saved_result` is the result). A finished search goes on when the
        budget grew (a larger ``niterations``)."""
        entry = self.progress.targets[k] if self.resumed else None
        return config if entry is None else remaining_budget(config, entry)

    def saved_result(self, k: int):
        """The checkpoint's front of target ``k`` as the result of a search with nothing left to do."""
        from .search import SearchResult

        entry = self.progress.targets[k]
        return SearchResult(entry.state.hall_of_fame.front(), entry.state, 0, 0, 0.0,
                            entry.stop_reason or "niterations")

    def checkpointer(self, k: int, state, donors) -> Checkpointer | None:
        """The ``checkpoint`` to pass to the search of target ``k`` (``state``: the state it
        starts from, None for a fresh one)."""
        if self.path is None:
            return None
        entry = self.progress.targets[k] if self.resumed else None
        if entry is not None:
            start_iteration, start_evals, before = entry.start_iteration, entry.start_evals, entry.elapsed
        elif state is not None:  # a warm start: its earlier iterations belong to earlier fits
            start_iteration, start_evals, before = state.iteration, state.n_evals, 0.0
        else:
            start_iteration, start_evals, before = 0, 0, 0.0
        started = time.monotonic()
        donors = tuple(donors or ())

        def save(current) -> None:
            self.progress.targets[k] = TargetProgress(current, start_iteration, start_evals,
                                                      before + time.monotonic() - started, donors)
            write_checkpoint(self.path, self.progress)

        return Checkpointer(save, self.every_iterations, self.every_seconds)

    def finish(self, k: int, stop_reason: str) -> None:
        """Mark target ``k``'s search as ended (an interrupted one stays resumable)."""
        entry = self.progress.targets[k]
        if self.path is None or entry is None or stop_reason == "interrupted":
            return
        entry.stop_reason = stop_reason
        write_checkpoint(self.path, self.progress)


def _check_resumable(progress: FitProgress, language, digest: str, n_targets: int) -> None:
    if len(progress.targets) != n_targets:
        raise CheckpointError(f"the checkpoint is of a fit with {len(progress.targets)} target(s), "
                              f"this one has {n_targets}; pass the same y")
    saved = progress.language
    if saved.n_features != language.n_features:
        raise CheckpointError(f"the checkpoint is of a fit with {saved.n_features} feature(s), "
                              f"this one has {language.n_features}; pass the same X")
    if saved.operator_set != language.operator_set:
        raise CheckpointError("the checkpoint's operators (or their complexities) differ from this "
                              "fit's; pass the same operators to resume, or drop resume_from")
    if progress.data_digest != digest:
        raise CheckpointError("the checkpoint was written for other data (X, y or weights differ); "
                              "pass the same data to resume, or drop resume_from to start afresh")
