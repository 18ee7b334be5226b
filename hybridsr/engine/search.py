"""The main loop: islands evolve in parallel, the head merges and migrates (the seed's Algorithm 1).

Each iteration the head

1. picks, with its own RNG, which members of each island are replaced by
   migrants from the hall of fame ``H`` and from the other islands' ``M_j``;
2. runs every island's iteration (:func:`hybridsr.gp.island.run_island`) on
   an executor, each island with its own RNG stream;
3. merges the results in island order: ``M_i`` into ``H``, complexity
   counts into the shared frequencies, evaluation counts into the total;
4. reports progress and checks the stopping rules;
5. offers the state to an ``intervene`` hook, when one is given and the
   search goes on: what it returns (an :class:`Injection`, e.g. neural
   guidance's candidates once the search stalls) replaces the worst members
   of the islands and joins the ``graft`` mutation's donors.

Because islands see only their own state and what the head hands them, and
the head merges in a fixed order, the hall of fame depends on
``random_state`` only, not on ``n_jobs`` or the executor, whenever the search
is bounded by ``niterations`` or ``max_evals``. A timeout or Ctrl-C cuts an
iteration wherever it happens to be, so those runs are not reproducible.

On a :class:`~hybridsr.engine.executors.RemoteExecutor` (a cluster) an
island whose task fails, or dies with its worker, runs again from the
island's state before the iteration, which the head still holds; the result
is the same as if nothing had failed. After each iteration the state is
complete and consistent, which is when ``checkpoint`` is offered it.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import warnings
from concurrent.futures import FIRST_EXCEPTION, CancelledError, Executor, wait
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ..config import SearchConfig
from ..evaluate.evaluator import Dataset, Evaluator
from ..expr.tree import Language
from ..gp.frequencies import ComplexityFrequencies
from ..gp.hall_of_fame import HallOfFame
from ..gp.island import IslandReport, IslandState, inject_trees, new_island, run_island
from ..gp.member import Member
from .context import FileContext, InlineContext, SearchContext
from .executors import (IslandRetryWarning, RemoteExecutor, SerialExecutor, WorkersLostError,
                        process_executor, resolve_n_jobs)

__all__ = ["SearchState", "SearchResult", "Progress", "Injection", "run_search", "STOP_REASONS"]

STOP_REASONS = frozenset({"niterations", "timeout", "max_evals", "early_stop", "interrupted"})
# How often the head looks at the stop flag while islands run in other processes.
_POLL_SECONDS = 0.1


@dataclass
class SearchState:
    """Everything needed to continue a search (warm start, checkpoints)."""

    islands: list[IslandState]
    hall_of_fame: HallOfFame
    frequencies: ComplexityFrequencies
    rng: np.random.Generator  # the head's: migration choices
    iteration: int = 0
    n_evals: int = 0
    # What ``intervene`` injected: graft donors (kept for continuing the search) and the
    # iterations after which it did (so a resumed search knows its guidance has run).
    donors: tuple = ()
    injected_at: tuple = ()


@dataclass(frozen=True)
class Progress:
    """What the head knows after an iteration (passed to the progress callback)."""

    iteration: int
    niterations: int
    n_evals: int
    elapsed: float
    hall_of_fame: list[Member]

    @property
    def best_loss(self) -> float:
        return min((m.loss for m in self.hall_of_fame), default=math.inf)

    @property
    def evals_per_second(self) -> float:
        return self.n_evals / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class Injection:
    """What an ``intervene`` hook hands the search between iterations.

    Attributes
    ----------
    trees : tuple of trees
        Spread over the islands like ``initial_trees``; each replaces one of
        its island's worst members (see :func:`hybridsr.gp.island.inject_trees`).
    donors : tuple of trees
        Added to the ``graft`` mutation's donors from the next iteration on.
    """

    trees: tuple = ()
    donors: tuple = ()


@dataclass
class SearchResult:
    """The outcome of :func:`run_search`.

    Attributes
    ----------
    hall_of_fame : list of Member
        The Pareto front (ascending complexity, strictly falling loss), with
        losses on all rows.
    state : SearchState
        Pass back as ``state=`` to continue the search.
    n_evals, n_iterations : int
        Evaluations and iterations of this call (not counting a resumed state's).
    elapsed : float
        Seconds.
    stop_reason : str
        One of :data:`STOP_REASONS`.
    """

    hall_of_fame: list[Member]
    state: SearchState
    n_evals: int
    n_iterations: int
    elapsed: float
    stop_reason: str
    history: list[Progress] = field(default_factory=list, repr=False)


def resolve_seed(random_state) -> np.random.SeedSequence:
    """A SeedSequence from None, an int, a SeedSequence or a numpy Generator/RandomState."""
    if random_state is None or isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return np.random.SeedSequence(None if random_state is None else int(random_state))
    if isinstance(random_state, np.random.SeedSequence):
        return random_state
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63)))
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(int(random_state.randint(2**31)))
    raise ValueError(f"random_state must be None, an int, a SeedSequence or a numpy Generator, "
                     f"got {random_state!r}")


def initial_state(context: SearchContext, seed: np.random.SeedSequence,
                  initial_trees: Sequence | None = None) -> SearchState:
    """Random populations (the seed's line 3), with ``initial_trees`` spread over the islands."""
    config = context.config
    scorer, tables = context.helpers()
    island_seeds = seed.spawn(config.populations + 1)
    trees = list(initial_trees or [])
    islands = []
    for i in range(config.populations):
        rng = np.random.Generator(np.random.PCG64(island_seeds[i]))
        islands.append(new_island(scorer, config, tables, rng, trees[i::config.populations]))
    hall_of_fame = HallOfFame()
    for island in islands:
        hall_of_fame.update(island.best.members())
    head_rng = np.random.Generator(np.random.PCG64(island_seeds[-1]))
    return SearchState(islands, hall_of_fame, ComplexityFrequencies(int(config.maxsize)), head_rng,
                       0, scorer.n_evals)


def plan_migration(state: SearchState, config: SearchConfig) -> list[list[tuple[int, Member]]]:
    """For each island, the (slot, migrant) replacements of the seed's lines 21-29."""
    front = state.hall_of_fame.front() if config.hof_migration else []
    bests = [island.best.members() if config.migration else [] for island in state.islands]
    # Island i draws from the other islands' bests in island order; indexing one
    # flat list around island i's block keeps the head's work linear in the
    # number of islands (a list per island made it quadratic).
    flat = [m for members in bests for m in members]
    starts = np.cumsum([0] + [len(members) for members in bests]).tolist()
    rng = state.rng
    plans = []
    for i, island in enumerate(state.islands):
        own = len(bests[i])
        n_others = len(flat) - own
        plan = []
        for slot in range(len(island.population)):
            if front and rng.random() < config.fraction_replaced_hof:
                plan.append((slot, front[int(rng.integers(len(front)))]))
            if n_others and rng.random() < config.fraction_replaced:
                k = int(rng.integers(n_others))
                plan.append((slot, flat[k if k < starts[i] else k + own]))
        plans.append(plan)
    return plans


def _island_task(context_handle, state: IslandState, frequencies: ComplexityFrequencies,
                 migrants, seconds_left: float, stop_requested=None) -> IslandReport:
    context = context_handle.get()
    scorer, tables = context.helpers()
    deadline = time.monotonic() + seconds_left
    return run_island(state, scorer, context.config, tables, frequencies, migrants, deadline,
                      stop_requested or (lambda: False))


class _Interrupt:
    """Ctrl-C during a search: the first press asks the loop to stop, a second one aborts."""

    def __init__(self):
        self.requested = threading.Event()
        self._previous = None

    def __call__(self) -> bool:
        return self.requested.is_set()

    def _handle(self, signum, frame):
        if self.requested.is_set():
            raise KeyboardInterrupt
        self.requested.set()

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def run_search(
    data: Dataset,
    language: Language,
    config: SearchConfig,
    *,
    random_state=None,
    n_jobs: int | None = 1,
    executor: Executor | None = None,
    state: SearchState | None = None,
    initial_trees: Sequence | None = None,
    donor_trees: Sequence | None = None,
    callback: Callable[[Progress], None] | None = None,
    checkpoint: Callable[[SearchState, bool], None] | None = None,
    intervene: Callable[[Progress], Injection | None] | None = None,
) -> SearchResult:
    """Evolve expressions for ``data`` until a stopping rule fires; return the Pareto front.

    Parameters
    ----------
    data : Dataset
        Inputs and targets (``data.y`` is required).
    language : Language
        Operators and variables.
    config : SearchConfig
    random_state : None, int, SeedSequence or Generator
        Seeds every island and the head; ignored when ``state`` is given
        (the state carries its RNGs).
    n_jobs : int
        Worker processes for the islands (1: in this process; -1: every core).
    executor : concurrent.futures.Executor, optional
        Runs the islands instead of a pool made from ``n_jobs``. It must be
        able to pickle the tasks; a
        :class:`~hybridsr.engine.executors.RemoteExecutor` (such as
        :class:`hybridsr.engine.cluster.DaskExecutor`) also gets failed
        island tasks retried and the search's inputs sent once per worker.
    state : SearchState, optional
        Continue this search (warm start) for ``config.niterations`` more iterations.
    initial_trees : sequence of trees, optional
        Seed the initial populations with these (spread over the islands).
    donor_trees : sequence of trees, optional
        Subexpressions that the ``graft`` mutation inserts into members
        (candidates from neural guidance); without them it never fires.
        Donors that an earlier ``intervene`` put into ``state`` are kept.
    callback : callable, optional
        Called with a :class:`Progress` after every iteration.
    checkpoint : callable, optional
        Called as ``checkpoint(state, final)`` after every iteration
        (``final=False``) and once when the search ends, stops or fails
        (``final=True``), with the state the search can continue from
        (see :class:`hybridsr.engine.checkpoint.Checkpointer`).
    intervene : callable, optional
        Called in this process with the :class:`Progress` of every complete
        iteration after which the search goes on (no stopping rule fired and
        iterations are left), before the checkpoint. It may return an
        :class:`Injection`, which is put into the islands (in island order,
        each island with its own RNG, so a search bounded by ``niterations``
        stays reproducible) and recorded in ``state.injected_at``. Time it
        takes counts against ``timeout_in_seconds``.

    Raises
    ------
    WorkersLostError
        When a remote executor has no worker left; its ``state`` attribute
        holds the search state after the last complete iteration.
    """
    if data.y is None:
        raise ValueError("run_search needs targets: build the Dataset with y")
    if data.n_features != language.n_features:
        raise ValueError(f"the data has {data.n_features} features but the language "
                         f"{language.n_features}; build both from the same X")
    # Numba compiles a new operator set's kernels on first use: before the clock starts.
    Evaluator(language.operator_set, config.loss, config.huber_delta).compile_kernels(data.n_features)
    start = time.monotonic()
    deadline = math.inf if config.timeout_in_seconds is None else start + config.timeout_in_seconds
    if state is None:
        state = initial_state(SearchContext(data, language, config, tuple(donor_trees or ())),
                              resolve_seed(random_state), initial_trees)
        n_evals_before = 0  # the initial populations' evaluations count too
    elif len(state.islands) != config.populations:
        raise ValueError(f"the state to continue has {len(state.islands)} populations but "
                         f"populations={config.populations}; keep the number of populations")
    else:
        n_evals_before = state.n_evals
    context = SearchContext(data, language, config, tuple(donor_trees or ()) + tuple(state.donors))
    n_workers = 1 if executor is not None else resolve_n_jobs(n_jobs)
    own_executor = executor is None and n_workers > 1
    pool = executor or (process_executor(n_workers) if own_executor else SerialExecutor())
    in_process = isinstance(pool, SerialExecutor)
    handle = _context_handle(context, pool)
    history: list[Progress] = []
    stop_reason = "niterations"
    iterations_done = 0
    interrupt = _Interrupt()
    try:
        with interrupt:
            for _ in range(config.niterations):
                reason = _stop_reason(config, state, n_evals_before, deadline, interrupt())
                if reason:
                    stop_reason = reason
                    break
                finished = _iterate(state, config, pool, handle, deadline, interrupt, in_process)
                iterations_done += finished
                progress = Progress(state.iteration, config.niterations, state.n_evals - n_evals_before,
                                    time.monotonic() - start, state.hall_of_fame.front())
                history.append(progress)
                if callback is not None:
                    callback(progress)
                if (intervene is not None and finished and iterations_done < config.niterations
                        and not _stop_reason(config, state, n_evals_before, deadline, interrupt())):
                    injection = intervene(progress)
                    if injection is not None:
                        context = _inject(state, context, injection)
                        if injection.donors:  # the workers need the new donors
                            handle.close()
                            handle = _context_handle(context, pool)
                if checkpoint is not None:
                    checkpoint(state, False)
                if not finished:
                    stop_reason = "interrupted" if interrupt() else "timeout"
                    break
            else:
                stop_reason = _stop_reason(config, state, n_evals_before, deadline, interrupt()) or "niterations"
    except BaseException as error:
        if isinstance(error, WorkersLostError):
            error.state = state
        if checkpoint is not None:
            try:
                checkpoint(state, True)  # what was found so far outlives the failure
            except Exception as problem:  # noqa: BLE001 - the original error matters more
                error.add_note(f"(the final checkpoint could not be written either: {problem})")
        raise
    else:
        if checkpoint is not None:
            checkpoint(state, True)
    finally:
        handle.close()
        if own_executor:
            pool.shutdown(wait=not interrupt(), cancel_futures=True)
    return SearchResult(state.hall_of_fame.front(), state, state.n_evals - n_evals_before,
                        iterations_done, time.monotonic() - start, stop_reason, history)


def _context_handle(context: SearchContext, pool: Executor):
    """How the islands on ``pool`` reach ``context``."""
    if isinstance(pool, SerialExecutor):
        return InlineContext(context)
    if isinstance(pool, RemoteExecutor):
        return pool.share(InlineContext(context))  # workers on other machines see no temp files
    return FileContext(context)


def _inject(state: SearchState, context: SearchContext, injection: Injection) -> SearchContext:
    """Put ``injection`` into ``state`` (in place); the context with its donors added."""
    scorer, _ = context.helpers()
    trees = list(injection.trees)
    n_islands = len(state.islands)
    before = scorer.n_evals
    for i, island in enumerate(state.islands):
        inject_trees(island, scorer, context.config, trees[i::n_islands])
        state.hall_of_fame.update(island.best.members())
    state.n_evals += scorer.n_evals - before
    state.injected_at = (*state.injected_at, state.iteration)
    if not injection.donors:
        return context
    state.donors = (*state.donors, *injection.donors)
    return SearchContext(context.data, context.language, context.config,
                         (*context.donors, *injection.donors))


def _stop_reason(config: SearchConfig, state: SearchState, n_evals_before: int, deadline: float,
                 interrupted: bool) -> str | None:
    if interrupted:
        return "interrupted"
    if time.monotonic() >= deadline:
        return "timeout"
    if config.max_evals is not None and state.n_evals - n_evals_before >= config.max_evals:
        return "max_evals"
    if config.early_stop_condition is not None and any(
            config.should_stop_early(m.loss, m.complexity) for m in state.hall_of_fame.front()):
        return "early_stop"
    return None


def _iterate(state: SearchState, config: SearchConfig, pool: Executor, handle, deadline: float,
             interrupt: _Interrupt, in_process: bool) -> bool:
    """One iteration of every island, merged into ``state`` (in place); False if cut short."""
    plans = plan_migration(state, config) if state.iteration > 0 else [[] for _ in state.islands]
    remote = isinstance(pool, RemoteExecutor)
    retries_left = [pool.task_retries if remote else 0] * len(state.islands)

    def submit(i: int):
        # A remote task works on a pickled copy, so state.islands[i] is still the
        # island's state before this iteration when the task has to run again.
        return pool.submit(_island_task, handle, state.islands[i], state.frequencies, plans[i],
                           deadline - time.monotonic(), interrupt if in_process else None)

    futures = [submit(i) for i in range(len(state.islands))]
    pending = set(futures)
    while pending:
        done, pending = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_EXCEPTION)
        for future in done:
            # Only the scheduler cancels a task here (e.g. its input was lost with a worker).
            error = CancelledError("the task was cancelled") if future.cancelled() else future.exception()
            if error is None:
                continue
            i = futures.index(future)
            if retries_left[i] <= 0:
                for f in pending:
                    f.cancel()
                raise error
            retries_left[i] -= 1
            warnings.warn(f"island {i}'s task failed ({type(error).__name__}: {error}); running it "
                          f"again from its state before iteration {state.iteration + 1} "
                          f"({retries_left[i]} retry(ies) left)", IslandRetryWarning, stacklevel=2)
            futures[i] = submit(i)
            pending.add(futures[i])
        if remote and pending:
            try:
                pool.check_workers()
            except WorkersLostError:
                for f in pending:
                    f.cancel()
                raise
        if pending and (interrupt() or time.monotonic() > deadline + 5 * _POLL_SECONDS):
            for f in pending:
                f.cancel()
            break
    finished = True
    added = np.zeros_like(state.frequencies.counts)
    for i, future in enumerate(futures):
        if not future.done() or future.cancelled():
            finished = False
            continue
        report = future.result()
        state.islands[i] = report.state
        state.n_evals += report.n_evals
        added += report.added_frequencies
        state.hall_of_fame.update(report.state.best.members())
        finished &= report.finished
    state.frequencies.merge(added)
    state.iteration += 1
    return finished
