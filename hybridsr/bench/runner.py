"""Running (method, problem, seed) jobs, each in its own process, resumably.

Results are JSON lines in ``out_dir`` (one file per task of a job array, so
tasks never write the same file). A job whose key is already in any results
file is skipped, so an interrupted or repeated run does only what is left.
``task_index``/``num_tasks`` deal the jobs round-robin to the tasks of a
cluster job array (no Dask needed). With ``cluster`` (see
:mod:`hybridsr.engine.cluster`) the jobs run as Dask tasks on its workers
instead, each still in its own process with a hard limit there, and this
process writes their records into the one results directory as they finish.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from ..datasets import Problem
from .job import job_key

__all__ = ["ProblemRef", "plan_jobs", "completed_keys", "run_benchmark"]


def plan_jobs(problems: Iterable[Problem], methods: Iterable[str], seeds: Iterable[int],
              task_index: int = 0, num_tasks: int = 1) -> list[tuple[str, Problem, int]]:
    """Every (method, problem, seed) in a fixed order, then this task's share of them."""
    if num_tasks < 1 or not 0 <= task_index < num_tasks:
        raise ValueError(f"task_index must lie in 0..num_tasks-1; got {task_index} of {num_tasks}")
    jobs = [(m, p, s) for p in problems for s in seeds for m in methods]
    return jobs[task_index::num_tasks]


def completed_keys(out_dir: Path) -> set[str]:
    keys = set()
    for path in Path(out_dir).glob("results*.jsonl"):
        for line in path.read_text().splitlines():
            try:
                keys.add(json.loads(line)["key"])
            except (ValueError, KeyError):
                continue  # a line cut short by a kill; the job will run again
    return keys


@dataclass(frozen=True)
class ProblemRef:
    """What a worker needs of a problem to run its job (the job process loads the rest by name)."""

    name: str
    suite: str
    title: str | None = None


def _run_one(method: str, problem: Problem | ProblemRef, seed: int, time_budget: float,
             hard_limit: float, noise, n_samples, n_jobs: int = 1) -> dict:
    with tempfile.TemporaryDirectory(prefix="hybridsr-job-") as tmp:
        out = os.path.join(tmp, "record.json")
        command = [sys.executable, "-m", "hybridsr.bench.job", "--method", method, "--suite",
                   problem.suite, "--problem", problem.name, "--seed", str(seed), "--time",
                   str(time_budget), "--n-jobs", str(n_jobs), "--out", out]
        if noise is not None:
            command += ["--noise", str(noise)]
        if n_samples is not None:
            command += ["--n-samples", str(n_samples)]
        started = time.monotonic()
        try:
            completed = subprocess.run(command, timeout=hard_limit, capture_output=True, text=True)
            if os.path.exists(out):
                with open(out) as handle:
                    return json.load(handle)
            reason = f"job exited with status {completed.returncode}: {completed.stderr[-2000:]}"
            status = "crashed"
        except subprocess.TimeoutExpired:
            reason, status = f"killed after the hard limit of {hard_limit:.0f} s", "timeout"
        return {"key": job_key(method, problem.name, seed), "method": method, "problem": problem.name,
                "title": problem.title or problem.name, "suite": problem.suite, "seed": seed,
                "time_budget": time_budget, "status": status, "outcome": "failed", "error": reason,
                "seconds": time.monotonic() - started}


def run_benchmark(problems: list[Problem], methods: list[str], seeds: list[int], time_budget: float,
                  out_dir, *, noise: float | None = None, n_samples: int | None = None,
                  task_index: int = 0, num_tasks: int = 1, hard_limit: float | None = None,
                  n_jobs: int = 1, parallel: int = 1, cluster=None, cluster_options=None,
                  echo: Callable[[str], None] = print) -> list[dict]:
    """Run this task's jobs that are not done yet; return their records (also appended to disk).

    Each job's method may use ``n_jobs`` cores, and ``parallel`` jobs run at
    once (so a machine with C cores fits ``parallel * n_jobs <= C``). Records
    are appended as jobs finish. ``hard_limit`` (default: twice the budget
    plus two minutes for start-up, compilation and judging) is when a job's
    process is killed.

    With ``cluster`` ("local", "slurm", "pbs", "sge", "lsf", a scheduler
    address or a ``distributed.Client``; ``cluster_options`` as for
    :class:`~hybridsr.HybridSRRegressor`) every job is a Dask task, one per
    worker thread at a time (give each worker ``n_jobs`` cores), and
    ``parallel`` is not used. A job whose worker was lost is not recorded,
    so running the sweep again retries it.
    """
    if n_jobs < 1 or parallel < 1:
        raise ValueError(f"n_jobs and parallel must be at least 1; got {n_jobs} and {parallel}")
    spec = None
    if cluster is not None:
        if num_tasks != 1:
            raise ValueError("use either a cluster or a job array (task_index/num_tasks), not both: "
                             "with a cluster, one process hands out every job")
        from ..engine.cluster import resolve_cluster

        spec = resolve_cluster(cluster, cluster_options)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results_file = out_dir / f"results-{task_index}of{num_tasks}.jsonl"
    done = completed_keys(out_dir)
    jobs = [j for j in plan_jobs(problems, methods, seeds, task_index, num_tasks)
            if job_key(j[0], j[1].name, j[2]) not in done]
    limit = hard_limit if hard_limit is not None else 2 * time_budget + 120
    echo(f"{len(jobs)} job(s) to run in {out_dir} ({len(done)} already done)")
    records = []

    def run(job):
        method, problem, seed = job
        return _run_one(method, problem, seed, time_budget, limit, noise, n_samples, n_jobs)

    def save(number: int, record: dict) -> None:
        with open(results_file, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        records.append(record)
        echo(f"[{number}/{len(jobs)}] {record['method']:10s} {record['problem']:24s} "
             f"seed {record['seed']}: {record.get('outcome')} ({record.get('status')}, "
             f"{record.get('seconds', 0):.0f} s)"
             + (f"  {record.get('selected')}" if record.get("selected") else ""))

    if spec is not None:
        arguments = (time_budget, limit, noise, n_samples, n_jobs)
        _run_on_cluster(spec, jobs, arguments, save, echo)
        return records
    # Threads only wait on the jobs' processes; finished records are written in completion order.
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for number, record in enumerate(_completed(pool, parallel, run, jobs), 1):
            save(number, record)
    return records


def _run_remote(method: str, problem: ProblemRef, seed: int, arguments: tuple) -> dict:
    # Looked up at call time, on the worker, so tests can stand in for it.
    return _run_one(method, problem, seed, *arguments)


def _run_on_cluster(spec, jobs: list, arguments: tuple, save, echo) -> None:
    """Every job as a Dask task; records saved here as they finish (lost jobs stay undone)."""
    from ..engine.cluster import open_cluster

    if not jobs:
        return
    with open_cluster(spec, len(jobs)) as executor:
        futures = {executor.submit(_run_remote, method, ProblemRef(p.name, p.suite, p.title), seed,
                                   arguments): (method, p.name, seed)
                   for method, p, seed in jobs}
        echo(f"submitted {len(futures)} job(s) to {spec.description}")
        lost, number, pending = 0, 0, set(futures)
        while pending:
            finished, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            for future in finished:
                number += 1
                try:
                    record = future.result()
                except Exception as error:  # noqa: BLE001 - the worker, not the method, failed
                    lost += 1
                    method, name, seed = futures[future]
                    echo(f"[{number}/{len(jobs)}] {method:10s} {name:24s} seed {seed}: lost on "
                         f"the cluster ({type(error).__name__}: {error}); not recorded")
                    continue
                save(number, record)
            if pending:
                executor.check_workers()  # fails clearly when no worker is left
        if lost:
            echo(f"{lost} job(s) were lost with their workers; run the same command again to "
                 f"retry them (finished jobs are skipped)")


def _completed(pool: ThreadPoolExecutor, parallel: int, run, jobs):
    """The records of ``jobs`` as they finish, submitting a job only when a slot is free
    (so an interrupted run leaves nothing queued behind it)."""
    queue = iter(jobs)
    pending = {pool.submit(run, job) for _, job in zip(range(parallel), queue)}
    while pending:
        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in finished:
            yield future.result()
            following = next(queue, None)
            if following is not None:
                pending.add(pool.submit(run, following))
