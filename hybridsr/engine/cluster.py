"""Islands on a Dask cluster: what ``cluster=`` may be, how it is opened, and its executor.

``cluster`` names where the islands run:

* a ``distributed.Client`` or a Dask cluster object (``LocalCluster``,
  ``SLURMCluster`` ...) that you started: used as it is, never closed here;
* a scheduler address (``"tcp://10.0.0.5:8786"``) or a scheduler file
  (``"scheduler.json"``, as ``dask scheduler --scheduler-file`` writes it):
  connected to, and the connection closed at the end;
* ``"local"``: a ``LocalCluster`` on this machine, one single-threaded worker
  process per core (at most one per island), closed at the end;
* ``"slurm"``, ``"pbs"``, ``"sge"`` or ``"lsf"``: a dask-jobqueue cluster built
  from ``cluster_options`` (``cores``, ``memory``, ``walltime``, ``queue``,
  ``account``, ``job_extra_directives`` ...), with ``jobs`` batch jobs
  submitted (default: enough for one worker process per island), cancelled
  at the end.

:func:`resolve_cluster` checks all of it before any work starts, without
connecting; :func:`open_cluster` connects and yields a :class:`DaskExecutor`,
the :class:`~hybridsr.engine.executors.RemoteExecutor` the search runs its
islands on. The head process keeps every island's state between iterations
and does all migration, so workers only ever run one island iteration at a
time and hold nothing that cannot be redone.

Dask is imported only here and only when a cluster is asked for; without it
the error says how to install it.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import math
import os
import pickle
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Iterator, Mapping

from .executors import RemoteExecutor, WorkersLostError

__all__ = ["SCHEDULERS", "LOCAL", "INSTALL_HINT", "ClusterSpec", "ClusterWarning", "DaskExecutor",
           "job_script", "open_cluster", "resolve_cluster"]

#: Batch schedulers that ``cluster=`` may name (each a dask-jobqueue cluster class).
SCHEDULERS = frozenset({"slurm", "pbs", "sge", "lsf"})
LOCAL = "local"
INSTALL_HINT = 'pip install "hybridsr[cluster]"'
_JOBQUEUE_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster",
                     "lsf": "LSFCluster"}
_ADDRESS = re.compile(r"^(?:(tcp|tls|inproc|ucx|ws|wss)://)?[\w.\-\[\]:]+:\d+/?$")
#: Options of ours, taken out of ``cluster_options`` before the rest reaches Dask.
#: jobs: batch jobs to submit; worker_timeout: seconds without any worker before the
#: search gives up; task_retries: times a failed island task runs again.
OUR_OPTIONS = frozenset({"jobs", "worker_timeout", "task_retries"})
#: Parameters of the Dask classes that hybridsr sets itself (or that make no sense here).
_RESERVED = frozenset({"self", "loop", "asynchronous", "start", "scheduler", "job_cls", "kwargs",
                       "base_class_kwargs", "job_kwargs", "worker_kwargs"})
_LOCAL_WORKER_OPTIONS = frozenset({"memory_limit", "local_directory", "resources", "lifetime"})
# While islands run, the head asks the scheduler for its workers at most this often.
_CHECK_SECONDS = 1.0


class ClusterWarning(UserWarning):
    """Something about the cluster that works but slows the search down."""


@dataclass(frozen=True)
class ClusterSpec:
    """A checked ``cluster`` / ``cluster_options`` pair (nothing connected yet).

    Attributes
    ----------
    kind : str
        "client", "cluster", "address", "scheduler_file", "local" or a name in :data:`SCHEDULERS`.
    target : object
        The Client, cluster object, address or path (None for clusters built here).
    options : dict
        Keyword arguments for the Dask class that builds the cluster.
    jobs : int or None
        Batch jobs to submit (scheduler names only; None: one worker per island).
    worker_timeout : float
        Seconds without any worker after which the search stops with an error.
    task_retries : int
        Times a failed island task is submitted again before the search fails.
    """

    kind: str
    target: object = None
    options: Mapping = field(default_factory=dict)
    jobs: int | None = None
    worker_timeout: float = 120.0
    task_retries: int = 2

    @property
    def description(self) -> str:
        if self.kind in SCHEDULERS:
            return f"the {self.kind.upper()} cluster"
        if self.kind == "local":
            return "the local cluster"
        if self.kind in ("address", "scheduler_file"):
            return f"the Dask scheduler at {self.target}"
        return f"the Dask {self.kind} you passed"


def require_distributed():
    """The ``distributed`` module, or an ImportError that says how to install it."""
    try:
        import distributed
    except ImportError as error:
        raise ImportError(f"cluster= needs Dask distributed, which is not installed ({error}); "
                          f"install it with: {INSTALL_HINT}") from None
    return distributed


def _jobqueue_class(name: str):
    try:
        import dask_jobqueue
    except ImportError as error:
        raise ImportError(f"cluster={name!r} needs dask-jobqueue, which is not installed "
                          f"({error}); install it with: {INSTALL_HINT}") from None
    return getattr(dask_jobqueue, _JOBQUEUE_CLASSES[name])


def _parameters(*functions) -> set[str]:
    names = set()
    for function in functions:
        names.update(p.name for p in inspect.signature(function).parameters.values()
                     if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))
    return names - _RESERVED


def _valid_options(kind: str) -> frozenset:
    """The ``cluster_options`` keys that ``kind`` accepts."""
    if kind in SCHEDULERS:
        cls = _jobqueue_class(kind)
        from dask_jobqueue.core import Job, JobQueueCluster

        # n_workers counts jobs in dask-jobqueue; "jobs" says so.
        return frozenset((_parameters(JobQueueCluster.__init__, Job.__init__, cls.job_cls.__init__)
                          - {"n_workers"}) | OUR_OPTIONS)
    if kind == LOCAL:
        distributed = require_distributed()
        return frozenset(_parameters(distributed.LocalCluster.__init__) | _LOCAL_WORKER_OPTIONS
                         | (OUR_OPTIONS - {"jobs"}))
    return OUR_OPTIONS - {"jobs"}


def resolve_cluster(cluster, cluster_options=None) -> ClusterSpec | None:
    """Check ``cluster`` and ``cluster_options`` and say how to fix them; None when no cluster.

    Nothing is started or connected. Dask is imported only when a cluster is
    asked for (an ImportError naming :data:`INSTALL_HINT` when it is missing).
    """
    if cluster is None:
        if cluster_options:
            raise ValueError("cluster_options were given without cluster; pass cluster='local', "
                             "'slurm', 'pbs', 'sge', 'lsf', a scheduler address or a Client")
        return None
    if cluster_options is None:
        cluster_options = {}
    if not isinstance(cluster_options, Mapping) or not all(isinstance(k, str) for k in cluster_options):
        raise ValueError(f"cluster_options must be a dict of option names to values, e.g. "
                         f"{{'cores': 8, 'memory': '16GB'}}, got {cluster_options!r}")
    kind, target = _kind(cluster)
    options = dict(cluster_options)
    valid = _valid_options(kind)
    unknown = sorted(set(options) - valid)
    if unknown:
        near = difflib.get_close_matches(unknown[0], sorted(valid), n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        if kind in SCHEDULERS or kind == LOCAL:
            where = f"cluster={kind!r} accepts {sorted(valid)}"
        else:
            where = (f"with {ClusterSpec(kind, target).description}, hybridsr starts nothing, so "
                     f"only {sorted(valid)} apply; configure your cluster where you start it")
        raise ValueError(f"unknown cluster_options {unknown}: {where}.{hint}")
    jobs = options.pop("jobs", None)
    worker_timeout = options.pop("worker_timeout", ClusterSpec.worker_timeout)
    task_retries = options.pop("task_retries", ClusterSpec.task_retries)
    if jobs is not None and not _is_int(jobs, 1):
        raise ValueError(f"cluster_options['jobs'] must be an integer >= 1 (batch jobs to "
                         f"submit), got {jobs!r}")
    if not (isinstance(worker_timeout, (int, float)) and not isinstance(worker_timeout, bool)
            and worker_timeout > 0 and math.isfinite(worker_timeout)):
        raise ValueError(f"cluster_options['worker_timeout'] must be a positive number of "
                         f"seconds, got {worker_timeout!r}")
    if not _is_int(task_retries, 0):
        raise ValueError(f"cluster_options['task_retries'] must be an integer >= 0, got {task_retries!r}")
    if kind in SCHEDULERS:
        _check_jobqueue_options(kind, options)
    return ClusterSpec(kind, target, options, jobs, float(worker_timeout), int(task_retries))


def _kind(cluster) -> tuple[str, object]:
    if isinstance(cluster, str):
        name = cluster.strip()
        if name.lower() in SCHEDULERS or name.lower() == LOCAL:
            return name.lower(), None
        if _ADDRESS.match(name):
            require_distributed()
            return "address", name
        if name.endswith(".json"):
            require_distributed()
            if not os.path.isfile(name):
                raise ValueError(f"cluster={cluster!r}: no scheduler file there; start a scheduler "
                                 f"with `dask scheduler --scheduler-file {name}` first")
            return "scheduler_file", name
        choices = sorted(SCHEDULERS | {LOCAL})
        near = difflib.get_close_matches(name.lower(), choices, n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"cluster={cluster!r} is neither one of {choices} nor a scheduler address "
                         f"such as 'tcp://10.0.0.5:8786' or a scheduler file ending in .json.{hint}")
    if isinstance(cluster, os.PathLike):
        return _kind(os.fspath(cluster))
    distributed = require_distributed()
    if isinstance(cluster, distributed.Client):
        if cluster.status not in ("running", "connecting", "newly-created"):
            raise ValueError(f"the Client passed as cluster is {cluster.status}; pass a connected "
                             f"Client (or its scheduler address)")
        return "client", cluster
    from distributed.deploy import Cluster

    if isinstance(cluster, Cluster):
        return "cluster", cluster
    raise ValueError(f"cluster must be None, 'local', one of {sorted(SCHEDULERS)}, a scheduler "
                     f"address, a distributed.Client or a Dask cluster object, got "
                     f"{type(cluster).__name__}")


def _check_jobqueue_options(kind: str, options: dict) -> None:
    import dask

    for name, example in (("cores", 8), ("memory", "'16GB'")):
        if options.get(name) is None and dask.config.get(f"jobqueue.{kind}.{name}", None) is None:
            raise ValueError(
                f"cluster={kind!r} needs cluster_options['{name}'] (per batch job), e.g. "
                f"cluster_options={{'cores': 8, 'memory': '16GB', 'walltime': '02:00:00'}}, or a "
                f"jobqueue.{kind} section with it in your Dask configuration")
    if "cores" in options and not _is_int(options["cores"], 1):
        raise ValueError(f"cluster_options['cores'] must be an integer >= 1, got {options['cores']!r}")
    if "processes" in options and not _is_int(options["processes"], 1):
        raise ValueError(f"cluster_options['processes'] must be an integer >= 1, got "
                         f"{options['processes']!r}")
    for name in ("job_extra_directives", "job_script_prologue", "worker_extra_args",
                 "job_directives_skip"):
        value = options.get(name)
        if value is not None and (isinstance(value, str) or not all(isinstance(v, str) for v in value)):
            raise ValueError(f"cluster_options['{name}'] must be a list of strings, e.g. "
                             f"['--exclusive'], got {value!r}")


def _is_int(value, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _jobqueue_kwargs(spec: ClusterSpec) -> dict:
    kwargs = dict(spec.options)
    if "cores" in kwargs and "processes" not in kwargs:
        # Island iterations are Python code that holds the GIL: one thread per
        # worker process, one process per core.
        kwargs["processes"] = kwargs["cores"]
    return kwargs


def job_script(cluster: str, cluster_options=None) -> str:
    """The batch script that ``cluster=<scheduler name>`` would submit (nothing is submitted).

    A scheduler is started in this process to fill in its address, and closed again.
    """
    spec = resolve_cluster(cluster, cluster_options)
    if spec is None or spec.kind not in SCHEDULERS:
        raise ValueError(f"job_script needs one of {sorted(SCHEDULERS)}, got cluster={cluster!r}")
    kwargs = _jobqueue_kwargs(spec)
    # The scheduler only lives for this call: any free port for its dashboard.
    kwargs.setdefault("scheduler_options", {"dashboard_address": ":0"})
    built = _jobqueue_class(spec.kind)(**kwargs)
    try:
        return built.job_script()
    finally:
        built.close()


@contextlib.contextmanager
def open_cluster(spec: ClusterSpec, n_islands: int) -> Iterator["DaskExecutor"]:
    """Connect to (or start) the cluster of ``spec``; yield an executor; close what was started."""
    distributed = require_distributed()
    with contextlib.ExitStack() as stack:
        first_worker_timeout = spec.worker_timeout
        if spec.kind == "client":
            client = spec.target
        elif spec.kind == "cluster":
            client = stack.enter_context(distributed.Client(spec.target, set_as_default=False))
        elif spec.kind in ("address", "scheduler_file"):
            client = stack.enter_context(_connect(distributed, spec))
        elif spec.kind == LOCAL:
            options = {"n_workers": min(n_islands, os.cpu_count() or 1), "threads_per_worker": 1,
                       "processes": True, "dashboard_address": ":0", **spec.options}
            local = stack.enter_context(distributed.LocalCluster(**options))
            client = stack.enter_context(distributed.Client(local, set_as_default=False))
        else:
            kwargs = _jobqueue_kwargs(spec)
            built = stack.enter_context(_jobqueue_class(spec.kind)(**kwargs))
            per_job = int(kwargs.get("processes") or 1)
            built.scale(jobs=spec.jobs or max(1, math.ceil(n_islands / per_job)))
            client = stack.enter_context(distributed.Client(built, set_as_default=False))
            first_worker_timeout = None  # jobs may wait in the queue for as long as it takes
        executor = DaskExecutor(client, worker_timeout=spec.worker_timeout,
                                first_worker_timeout=first_worker_timeout,
                                task_retries=spec.task_retries, description=spec.description)
        try:
            yield executor
        finally:
            executor.shutdown(wait=False)


def _connect(distributed, spec: ClusterSpec):
    where = spec.description
    try:
        if spec.kind == "scheduler_file":
            return distributed.Client(scheduler_file=spec.target, set_as_default=False)
        return distributed.Client(spec.target, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise ConnectionError(f"could not connect to {where} ({error}); check the address and "
                              f"that the scheduler runs (`dask scheduler` starts one)") from None


def _identity(value):
    return value


class SharedValue:
    """A value that reaches each worker once; tasks get it through :meth:`DaskExecutor.submit`.

    It is the result of a task whose input the scheduler holds, not scattered
    data: when every copy is lost with its workers the scheduler computes it
    again, where scattered data would be gone (and scattering again blocks
    while no worker is there).
    """

    def __init__(self, client, value):
        self.client = client
        self.value = value
        self.future = None
        self.current()

    def current(self):
        """The Dask future of the value (submitted again should Dask have given up on it)."""
        if self.future is None or self.future.status in ("error", "cancelled"):
            self.future = self.client.submit(_identity, self.value, pure=False)
        return self.future

    def close(self) -> None:
        if self.future is not None:
            with contextlib.suppress(Exception):  # the client may be closing already
                self.future.release()
            self.future = None
        close = getattr(self.value, "close", None)
        if close is not None:
            close()


def _run_payload(payload: bytes, *shared_values):
    """Run a task pickled by :meth:`DaskExecutor.submit`, with the shared values put back."""
    fn, args, kwargs, positions = pickle.loads(payload)
    for position, value in zip(positions, shared_values):
        args[position] = value
    return fn(*args, **kwargs)


class DaskExecutor(RemoteExecutor):
    """Runs island tasks on the workers of a ``distributed.Client``.

    Each task's arguments are pickled here, at submission, so a task never
    changes the head's objects (even on in-process workers) and a failed one
    can run again from them. Arguments made by :meth:`share` travel once per
    worker instead.

    Parameters
    ----------
    client : distributed.Client
    worker_timeout : float
        Seconds with no worker (after one was seen) before :meth:`check_workers` gives up.
    first_worker_timeout : float or None
        The same before the first worker arrives (None: wait without limit, as
        for batch jobs that wait in a queue).
    task_retries : int
        See :attr:`RemoteExecutor.task_retries`.
    description : str
        How error messages name the cluster.
    """

    def __init__(self, client, *, worker_timeout: float = 120.0,
                 first_worker_timeout: float | None = 120.0, task_retries: int = 2,
                 description: str = "the Dask cluster"):
        self.client = client
        self.worker_timeout = worker_timeout
        self.first_worker_timeout = first_worker_timeout
        self.task_retries = task_retries
        self.description = description
        self._executor = client.get_executor(pure=False)
        self._last_check = -math.inf
        self._none_since: float | None = None
        self._seen_workers = 0
        self._warned_threads = False

    def share(self, value) -> SharedValue:
        return SharedValue(self.client, value)

    def submit(self, fn, /, *args, **kwargs):
        positions = [i for i, arg in enumerate(args) if isinstance(arg, SharedValue)]
        futures = [args[i].current() for i in positions]
        plain = [None if isinstance(arg, SharedValue) else arg for arg in args]
        payload = pickle.dumps((fn, plain, kwargs, positions), protocol=pickle.HIGHEST_PROTOCOL)
        return self._executor.submit(_run_payload, payload, *futures)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._executor.shutdown(wait=wait and not cancel_futures)

    def n_workers(self) -> int:
        """Workers connected to the scheduler now."""
        return len(self.client.nthreads())

    def check_workers(self) -> None:
        now = time.monotonic()
        if now - self._last_check < _CHECK_SECONDS:
            return
        self._last_check = now
        try:
            threads = self.client.nthreads()
        except (OSError, TimeoutError) as error:
            raise WorkersLostError(f"lost the connection to {self.description} ({error}); the "
                                   f"search cannot go on") from None
        if threads:
            self._seen_workers = max(self._seen_workers, len(threads))
            self._none_since = None
            if not self._warned_threads and max(threads.values()) > 1:
                self._warned_threads = True
                warnings.warn(f"workers of {self.description} run {max(threads.values())} threads "
                              f"each; islands are Python code that holds the GIL, so start "
                              f"workers with one thread each (`dask worker --nthreads 1 "
                              f"--nworkers N`)", ClusterWarning, stacklevel=4)
            return
        if self._none_since is None:
            self._none_since = now
        limit = self.worker_timeout if self._seen_workers else self.first_worker_timeout
        if limit is None or now - self._none_since < limit:
            return
        if self._seen_workers:
            what = (f"all {self._seen_workers} worker(s) of {self.description} are gone and none "
                    f"came back within {limit:g} s")
        else:
            what = f"no worker joined {self.description} within {limit:g} s"
        raise WorkersLostError(f"{what}, so no worker is left to run the islands. Start workers "
                               f"(`dask worker <scheduler address> --nthreads 1`) or check the batch "
                               f"jobs, then resume from the checkpoint "
                               f"(fit(..., resume_from=<checkpoint_file>))")
