"""Where island tasks run: in the head process, in a pool of worker processes, or on a cluster.

All are ``concurrent.futures.Executor`` objects, so any executor can run the
islands. One on other machines subclasses :class:`RemoteExecutor`, which adds
what the search needs there: a way to ship the search's fixed inputs once
(:meth:`RemoteExecutor.share`), a retry budget for tasks lost with a worker,
and a check that workers are still there (:mod:`hybridsr.engine.cluster` has
the Dask one).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import Executor, Future, ProcessPoolExecutor

__all__ = ["SerialExecutor", "RemoteExecutor", "WorkersLostError", "IslandRetryWarning",
           "process_executor", "resolve_n_jobs"]


class WorkersLostError(RuntimeError):
    """No worker is left to run the islands (the search cannot go on).

    ``state`` is set by the search to the last complete :class:`SearchState`,
    so that nothing found so far is lost.
    """

    state = None


class IslandRetryWarning(UserWarning):
    """An island's task failed on a worker and runs again from the island's last state."""


class RemoteExecutor(Executor):
    """An executor whose tasks run in other processes, perhaps on other machines.

    Tasks get pickled copies of their arguments, so the caller's objects stay
    as they were when a task fails, and a failed task can run again from them.
    """

    #: How many times the search submits a failed island task again before giving up.
    task_retries: int = 2

    def share(self, value):
        """A stand-in for ``value`` to pass (as a top-level argument) to many tasks; it
        reaches each worker once. The default passes ``value`` itself."""
        return value

    def check_workers(self) -> None:
        """Raise :class:`WorkersLostError` when no worker is left (called while waiting)."""


class SerialExecutor(Executor):
    """Runs each task at submission, in the calling thread."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(error)
        return future


def resolve_n_jobs(n_jobs: int | None) -> int:
    """Worker count for ``n_jobs`` (None or 1: serial; -1: every core; -2: all but one, ...)."""
    cores = os.cpu_count() or 1
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer (or -1 for every core), got {n_jobs!r}")
    return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)


def _ignore_interrupts() -> None:
    # Ctrl-C goes to the whole process group; only the head decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def process_executor(n_workers: int) -> ProcessPoolExecutor:
    """A pool of worker processes that ignore Ctrl-C.

    Workers are forked where the platform allows it: they start at once with
    the kernels already loaded, and scripts work without an
    ``if __name__ == "__main__"`` guard. Elsewhere (macOS, Windows) they are
    spawned, which needs that guard, as every multiprocessing program does.
    """
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() and os.name == "posix" \
        and not _is_macos() else "spawn"
    return ProcessPoolExecutor(max_workers=n_workers, mp_context=multiprocessing.get_context(method),
                               initializer=_ignore_interrupts)


def _is_macos() -> bool:
    import sys

    return sys.platform == "darwin"
