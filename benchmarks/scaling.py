"""Islands on Dask workers: measured throughput on 1 and 2 local workers, and a model of hundreds.

    .venv/bin/python benchmarks/scaling.py                 # about two minutes
    .venv/bin/python benchmarks/scaling.py --quick         # smaller islands, fewer iterations
    .venv/bin/python benchmarks/scaling.py --workers 1,2,4 --populations 16

What is measured (on this machine)
----------------------------------
* Throughput (evaluations per second, seconds per iteration) of the same
  search in this process and on a Dask ``LocalCluster`` of 1, 2, ...
  single-threaded worker processes. The first iteration (kernels loading in
  fresh workers) is left out. On a machine whose cores are shared with
  other work, the load average printed beside it says how much of the
  machine the workers actually had.
* The head process's work per island and iteration, from the real states of
  that search: pickling an island's task (its state, the migrants planned
  for it, the complexity frequencies), unpickling its report, merging it
  into the hall of fame and the frequencies; and the bytes of both.
* :func:`~hybridsr.engine.search.plan_migration` for 16 to 1,024 islands
  (states made by repeating the measured islands).
* Dask's cost per task: many empty tasks through the same executor.

The model (for W workers and P = islands_per_worker * W islands)
---------------------------------------------------------------
One iteration is a barrier: the head plans migration, sends every island,
waits for all reports and merges them, all in one process. So

    T_iter = k * t_island + sqrt(k) * sd_island * sqrt(2 ln W)  (workers, in parallel)
           + P * (t_send + t_receive + t_merge) + t_plan(P)       (head, serially)
           + P * t_task                                           (Dask scheduler, serially)
           + P * (bytes_out + bytes_in) / bandwidth               (head's network link)

with k = ceil(P / W) islands per worker, and the parallel efficiency is
``P * t_island / W / T_iter`` (against one worker with no overheads). The
last column is the ``ncycles_per_iteration`` that would bring the efficiency
to 80%: island iterations must grow with the number of workers to hide the
head's serial share and the wait for the slowest worker. Assumptions:

1. Island iterations take ``t_island`` on average with standard deviation
   ``sd_island`` (both measured in this process, one island at a time, over
   two iterations of every island), independently of one another; the
   barrier waits for the slowest of W workers, each running k islands, whose
   excess over the mean is about ``sqrt(k) * sd_island * sqrt(2 ln W)`` (the
   largest of W normal variables). Island time is proportional to
   ``ncycles_per_iteration`` and its variance too (independent cycles).
   Workers are as fast as this machine's cores.
2. The head and the scheduler do their per-task work one task at a time
   (the head's loop is serial Python; the scheduler is a single event loop),
   and none of it overlaps with the workers' computing (pessimistic: in
   fact sending overlaps with the first islands running).
3. ``t_task`` is the measured cost per empty task on the local cluster
   (scheduler, client and comms on one machine); a scheduler on its own
   core of a cluster node costs about the same per task.
4. All island traffic passes through the head's link, at ``--bandwidth``
   (default 1 GB/s: 10 Gb Ethernet; InfiniBand is faster). Workers fetch
   the data set once each, from one another, so it is left out.
5. Sizes of states and plans do not depend on P; migration draws are
   linear in P since migrants are indexed in one flat list.

It says nothing about convergence: more islands search more broadly per
iteration, which is what the extra workers buy.
"""

from __future__ import annotations

import argparse
import copy
import math
import os
import pickle
import statistics
import time

import numpy as np

from hybridsr.config import SearchConfig
from hybridsr.engine.search import _island_task, plan_migration, run_search
from hybridsr.evaluate import Dataset
from hybridsr.expr import Language
from hybridsr.gp.island import run_island
from hybridsr.operators import OperatorSet

LANGUAGE = Language(OperatorSet.from_spec(("+", "-", "*", "/"), ("sqrt", "exp")), 3, ("m1", "m2", "r"))


def _data(n: int = 500, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    X = rng.uniform(1.0, 5.0, size=(n, 3))
    return Dataset.from_arrays(X, X[:, 0] * X[:, 1] / X[:, 2] ** 2)


def _timed_search(data, config, executor=None, seed: int = 0):
    """The result and (seconds, evaluations) of each iteration."""
    marks = [(time.perf_counter(), 0)]

    def callback(progress):
        marks.append((time.perf_counter(), progress.n_evals))

    result = run_search(data, LANGUAGE, config, random_state=seed, executor=executor, callback=callback)
    steps = [(t1 - t0, e1 - e0) for (t0, e0), (t1, e1) in zip(marks, marks[1:])]
    return result, steps


def _throughput(steps) -> tuple[float, float]:
    """Evaluations per second and seconds per iteration, without the first iteration."""
    steps = steps[1:] or steps
    seconds = sum(s for s, _ in steps)
    return sum(e for _, e in steps) / seconds, seconds / len(steps)


def measure_workers(data, config, counts: list[int]) -> dict:
    """Throughput in this process and on LocalClusters of each worker count; Dask's cost per task."""
    import distributed

    from hybridsr.engine.cluster import DaskExecutor

    rows = {}
    reference, steps = _timed_search(data, config)
    rows["in this process"] = (*_throughput(steps), os.getloadavg()[0])
    t_task = math.nan
    for count in counts:
        with distributed.LocalCluster(n_workers=count, threads_per_worker=1, processes=True,
                                      dashboard_address=":0") as cluster, \
                distributed.Client(cluster, set_as_default=False) as client:
            executor = DaskExecutor(client)
            result, steps = _timed_search(data, config, executor)
            same = [m.loss for m in result.hall_of_fame] == [m.loss for m in reference.hall_of_fame]
            rows[f"{count} Dask worker(s)"] = (*_throughput(steps), os.getloadavg()[0])
            if not same:
                print(f"  note: the front on {count} worker(s) differs from the serial one")
            n = 400
            started = time.perf_counter()
            futures = [executor.submit(int, i) for i in range(n)]
            for future in futures:
                future.result()
            t_task = (time.perf_counter() - started) / n
    return {"rows": rows, "t_task": t_task, "state": reference.state}


def measure_head(data, config, state) -> dict:
    """Per island: the head's seconds to send, receive and merge, and the bytes of each."""
    from hybridsr.engine.context import InlineContext, SearchContext

    context = SearchContext(data, LANGUAGE, config)
    handle = InlineContext(context)
    plans = plan_migration(state, config)
    scorer, tables = context.helpers()  # built once, outside the timings
    send, receive, merge, out_bytes, in_bytes, island_seconds = [], [], [], [], [], []
    for island, plan in [*zip(state.islands, plans), *zip(state.islands, plans)]:
        started = time.perf_counter()
        payload = pickle.dumps((_island_task, [None, island, state.frequencies, plan, 60.0, None], {},
                                [0]), protocol=pickle.HIGHEST_PROTOCOL)
        send.append(time.perf_counter() - started)
        out_bytes.append(len(payload))
        started = time.perf_counter()
        report = run_island(copy.deepcopy(island), scorer, config, tables, state.frequencies, plan)
        island_seconds.append(time.perf_counter() - started)
        returned = pickle.dumps(report, protocol=pickle.HIGHEST_PROTOCOL)
        in_bytes.append(len(returned))
        started = time.perf_counter()
        report = pickle.loads(returned)
        receive.append(time.perf_counter() - started)
        started = time.perf_counter()
        state.hall_of_fame.update(report.state.best.members())
        state.frequencies.merge(report.added_frequencies)
        merge.append(time.perf_counter() - started)
    handle.close()
    return {"t_send": statistics.mean(send), "t_receive": statistics.mean(receive),
            "t_merge": statistics.mean(merge), "bytes_out": statistics.mean(out_bytes),
            "bytes_in": statistics.mean(in_bytes), "t_island": statistics.mean(island_seconds),
            "island_sd": statistics.stdev(island_seconds)}


def measure_planning(config, state, sizes=(16, 64, 256, 1024)) -> dict[int, float]:
    """Seconds of plan_migration for P islands (the measured islands repeated)."""
    times = {}
    for p in sizes:
        big = copy.copy(state)
        big.islands = [state.islands[i % len(state.islands)] for i in range(p)]
        big.rng = np.random.default_rng(0)
        started = time.perf_counter()
        plan_migration(big, config.replace(populations=p))
        times[p] = time.perf_counter() - started
    return times


def model(head: dict, planning: dict[int, float], t_task: float, workers: int, per_worker: int,
          bandwidth: float, scale: float = 1.0) -> dict:
    """One iteration of P = per_worker * workers islands, with islands ``scale`` times as long."""
    p = workers * per_worker
    sizes = sorted(planning)
    # t_plan is linear in P (assumption 5): scale from the largest measured size.
    t_plan = planning[sizes[-1]] * p / sizes[-1]
    t_island, sd = head["t_island"] * scale, head["island_sd"] * math.sqrt(scale)
    k = math.ceil(p / workers)
    compute = k * t_island + math.sqrt(k) * sd * math.sqrt(2.0 * math.log(workers))
    head_time = p * (head["t_send"] + head["t_receive"] + head["t_merge"]) + t_plan
    scheduler = p * t_task
    traffic = p * (head["bytes_out"] + head["bytes_in"])
    network = traffic / bandwidth
    total = compute + head_time + scheduler + network
    return {"workers": workers, "islands": p, "iteration": total, "head": head_time,
            "scheduler": scheduler, "network": network, "traffic": traffic,
            "efficiency": p * t_island / workers / total}


def cycles_for(target: float, ncycles: int, *args) -> float:
    """The smallest ncycles_per_iteration (on a grid of quarter octaves) that reaches
    ``target`` efficiency in :func:`model` (inf beyond 10^8)."""
    for step in range(0, 4 * 40):
        scale = 2.0 ** (step / 4)
        if model(*args, scale=scale)["efficiency"] >= target:
            return ncycles * scale
        if ncycles * scale > 1e8:
            break
    return math.inf


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller islands, fewer iterations")
    parser.add_argument("--workers", default="1,2", help="local worker counts to measure (default: 1,2)")
    parser.add_argument("--populations", type=int, default=8, help="islands (default: 8)")
    parser.add_argument("--niterations", type=int, default=4, help="iterations (default: 4)")
    parser.add_argument("--bandwidth", type=float, default=1e9, help="head's link, bytes/s (default: 1e9)")
    parser.add_argument("--task-seconds", type=float,
                        help="Dask's cost per task in the model (default: as measured here)")
    args = parser.parse_args(argv)

    counts = [int(c) for c in args.workers.split(",") if c.strip()]
    config = SearchConfig(populations=args.populations, niterations=args.niterations)
    if args.quick:
        config = config.replace(ncycles_per_iteration=150, niterations=3)
    data = _data()
    print(f"{os.cpu_count()} core(s); load average {os.getloadavg()[0]:.1f} before starting. Search: "
          f"{config.populations} islands of {config.population_size}, "
          f"{config.ncycles_per_iteration} cycles per iteration, {config.niterations} iterations, "
          f"{len(data.y)} rows")
    measured = measure_workers(data, config, counts)
    print("\nmeasured (first iteration left out)")
    print(f"  {'where':22s} {'evals/s':>10s} {'s/iteration':>12s} {'load avg':>9s}")
    for name, (rate, seconds, load) in measured["rows"].items():
        print(f"  {name:22s} {rate:10.0f} {seconds:12.2f} {load:9.1f}")
    head = measure_head(data, config, measured["state"])
    planning = measure_planning(config, measured["state"])
    print(f"\nper island and iteration: compute {head['t_island'] * 1e3:.0f} ms ("
          f"sd {head['island_sd'] * 1e3:.0f} ms); head: send {head['t_send'] * 1e3:.2f} ms, receive "
          f"{head['t_receive'] * 1e3:.2f} ms, merge {head['t_merge'] * 1e3:.2f} ms; traffic "
          f"{head['bytes_out'] / 1e3:.0f} kB out + {head['bytes_in'] / 1e3:.0f} kB back; Dask "
          f"{measured['t_task'] * 1e3:.2f} ms per task")
    print("plan_migration: " + ", ".join(f"{p} islands {t * 1e3:.1f} ms" for p, t in planning.items()))
    if args.task_seconds:
        print(f"the model takes {args.task_seconds * 1e3:.2f} ms per Dask task (--task-seconds)")
    for per_worker in (1, 4):
        print(f"\nmodel, {per_worker} island(s) per worker (assumptions in the module docstring)")
        print(f"  {'workers':>7s} {'islands':>7s} {'s/iter':>7s} {'head s':>7s} {'sched s':>7s} "
              f"{'net s':>7s} {'MB/iter':>8s} {'efficiency':>10s} {'cycles for 80%':>14s}")
        for workers in (1, 2, 8, 32, 128, 256, 512, 1024):
            arguments = (head, planning, args.task_seconds or measured["t_task"], workers, per_worker,
                         args.bandwidth)
            row = model(*arguments)
            needed = cycles_for(0.8, config.ncycles_per_iteration, *arguments)
            cycles = f"{needed:14,.0f}" if math.isfinite(needed) else f"{'unreachable':>14s}"
            print(f"  {row['workers']:7d} {row['islands']:7d} {row['iteration']:7.2f} "
                  f"{row['head']:7.2f} {row['scheduler']:7.2f} {row['network']:7.3f} "
                  f"{row['traffic'] / 1e6:8.1f} {row['efficiency']:10.0%} {cycles}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
