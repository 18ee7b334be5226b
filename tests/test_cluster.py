"""Islands on a real Dask LocalCluster: same result as serial, lost workers and failed tasks
survived, a clear error when no worker is left, batch sweeps, and cluster settings checked
before any work starts."""

import os
import re
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from hybridsr import HybridSRRegressor
from hybridsr.bench import runner
from hybridsr.config import SearchConfig
from hybridsr.engine.cluster import INSTALL_HINT, resolve_cluster
from hybridsr.engine.executors import IslandRetryWarning, WorkersLostError
from hybridsr.engine.search import run_search
from hybridsr.evaluate import Dataset
from hybridsr.expr import Language
from hybridsr.operators import OperatorSet

# The operators of tests/test_search.py, so no new kernels are compiled.
OPERATORS = dict(binary_operators=("+", "-", "*", "/"), unary_operators=("sin", "cos", "sqrt"))
LANGUAGE = Language(OperatorSet.from_spec(OPERATORS["binary_operators"], OPERATORS["unary_operators"]),
                    1, ("x",))
CONFIG = SearchConfig(populations=4, population_size=20, ncycles_per_iteration=100,
                      tournament_selection_n=6, niterations=3)


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    X = rng.uniform(-5, 5, (150, 1))
    return X, 3 * np.sin(X[:, 0]) - 0.5 * X[:, 0]


@pytest.fixture(scope="module")
def data(arrays):
    return Dataset.from_arrays(*arrays)


@pytest.fixture(scope="module")
def serial(data):
    return run_search(data, LANGUAGE, CONFIG, random_state=7)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    # Threads in this process start at once; the process-level test is the killed worker one.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client


def _front(result):
    return [(m.complexity, m.loss, str(m.tree)) for m in result.hall_of_fame]


# -- no Dask unless asked for -------------------------------------------------------------
def test_importing_and_fitting_without_a_cluster_does_not_import_dask():
    code = ("import sys, numpy as np\n"
            "from hybridsr import HybridSRRegressor\n"
            "X = np.linspace(1, 2, 30)[:, None]\n"
            "HybridSRRegressor(niterations=1, populations=2, population_size=10,\n"
            "    tournament_selection_n=5, ncycles_per_iteration=10, verbosity=0,\n"
            "    validation_folds=0).fit(X, 2 * X[:, 0])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in\n"
            "    ('dask', 'distributed', 'dask_jobqueue')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_missing_dask_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now fails
    X = np.linspace(1, 2, 20)[:, None]
    with pytest.raises(ImportError, match=re.escape(INSTALL_HINT)):
        HybridSRRegressor(cluster="local").fit(X, X[:, 0])
    monkeypatch.setitem(sys.modules, "dask_jobqueue", None)
    with pytest.raises(ImportError, match=re.escape(INSTALL_HINT)):
        resolve_cluster("slurm", {"cores": 2, "memory": "4GB"})


# -- settings checked before any work -------------------------------------------------------
@pytest.mark.parametrize("cluster, options, message", [
    ("slrum", None, r"Did you mean 'slurm'"),
    ("my-cluster", None, r"neither one of .*'local'.* nor a scheduler address"),
    (42, None, r"cluster must be None, 'local'"),
    ("slurm", None, r"needs cluster_options\['cores'\]"),
    ("slurm", {"cores": 4}, r"needs cluster_options\['memory'\]"),
    ("slurm", {"cores": 4, "memory": "8GB", "wall_time": "1:00:00"}, r"Did you mean 'walltime'"),
    ("slurm", {"cores": 4, "memory": "8GB", "job_extra_directives": "--exclusive"},
     r"must be a list of strings"),
    ("slurm", {"cores": 4, "memory": "8GB", "n_workers": 3}, r"unknown cluster_options \['n_workers'\]"),
    ("pbs", {"cores": 0, "memory": "8GB"}, r"'cores'\] must be an integer >= 1"),
    ("local", {"n_worker": 2}, r"Did you mean 'n_workers'"),
    ("local", {"worker_timeout": -1}, r"worker_timeout'\] must be a positive number"),
    ("tcp://127.0.0.1:8786", {"cores": 4}, r"hybridsr starts nothing"),
    ("missing.json", None, r"no scheduler file there"),
    (None, {"cores": 4}, r"cluster_options were given without cluster"),
    ("local", ["cores"], r"cluster_options must be a dict"),
])
def test_invalid_cluster_settings_fail_before_any_work(cluster, options, message):
    pytest.importorskip("dask_jobqueue")
    X = np.linspace(1, 2, 20)[:, None]
    model = HybridSRRegressor(cluster=cluster, cluster_options=options)
    started = time.monotonic()
    with pytest.raises(ValueError, match=message):
        model.fit(X, X[:, 0])
    assert time.monotonic() - started < 5, "refused at once, not after a search"


def test_slurm_job_script_is_dask_jobqueues():
    dask_jobqueue = pytest.importorskip("dask_jobqueue")
    from hybridsr.engine.cluster import job_script

    options = {"cores": 4, "memory": "8GB", "walltime": "01:30:00", "queue": "normal",
               "account": "proj42", "job_extra_directives": ["--exclusive"]}
    ours = job_script("slurm", options)
    # What hybridsr asks dask-jobqueue for: one single-threaded worker process per core.
    with dask_jobqueue.SLURMCluster(**options, processes=4,
                                    scheduler_options={"dashboard_address": ":0"}) as reference:
        theirs = reference.job_script()

    def address_free(script):
        return re.sub(r"tcp://[\w.\-]+:\d+", "tcp://SCHEDULER", script)

    assert address_free(ours) == address_free(theirs)
    for line in ("#SBATCH -p normal", "#SBATCH -A proj42", "#SBATCH --cpus-per-task=4",
                 "#SBATCH -t 01:30:00", "#SBATCH --exclusive"):
        assert line in ours
    assert "--nthreads 1" in ours and "--nworkers 4" in ours


# -- searches on a LocalCluster ---------------------------------------------------------------
def test_search_on_local_cluster_matches_serial(data, serial, client):
    from hybridsr.engine.cluster import DaskExecutor

    result = run_search(data, LANGUAGE, CONFIG, random_state=7, executor=DaskExecutor(client))
    assert _front(result) == _front(serial)
    assert result.n_evals == serial.n_evals


def test_estimator_on_a_client_matches_serial(arrays, client):
    kwargs = dict(populations=3, population_size=20, ncycles_per_iteration=60,
                  tournament_selection_n=6, niterations=2, random_state=1, verbosity=0,
                  validation_folds=0, **OPERATORS)
    X, y = arrays
    plain = HybridSRRegressor(**kwargs).fit(X, y)
    on_cluster = HybridSRRegressor(cluster=client, **kwargs).fit(X, y)
    columns = ["complexity", "loss", "equation"]
    assert plain.equations_[columns].values.tolist() == on_cluster.equations_[columns].values.tolist()
    assert client.status == "running", "a Client passed in is left open"


def _fail(fn, *args):
    raise OSError("simulated failure on a worker")


def test_failed_task_runs_again_from_the_islands_last_state(data, serial, client):
    from hybridsr.engine.cluster import DaskExecutor

    class FlakyExecutor(DaskExecutor):
        # The first task submitted fails wherever it runs (decided here, not on the worker,
        # because Dask may run a task on two workers when it moves work between them).
        failed = False

        def submit(self, fn, /, *args, **kwargs):
            if not self.failed:
                self.failed = True
                return super().submit(_fail, fn, *args, **kwargs)
            return super().submit(fn, *args, **kwargs)

    with pytest.warns(IslandRetryWarning, match="simulated failure"):
        result = run_search(data, LANGUAGE, CONFIG, random_state=7, executor=FlakyExecutor(client))
    assert _front(result) == _front(serial) and result.n_evals == serial.n_evals


def test_killed_worker_does_not_lose_the_run(data, serial):
    distributed = pytest.importorskip("distributed")
    from hybridsr.engine.cluster import DaskExecutor

    killed = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:

        def kill_a_busy_worker():
            # SIGKILL a worker process while the scheduler has islands running on it.
            deadline = time.monotonic() + 60
            while not killed and time.monotonic() < deadline:
                busy = [w for w, keys in client.processing().items() if keys]
                if busy:
                    pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                time.sleep(0.005)

        def after_iteration(progress):
            if progress.iteration == 1:  # strike during the second iteration
                threading.Thread(target=kill_a_busy_worker, daemon=True).start()

        result = run_search(data, LANGUAGE, CONFIG, random_state=7,
                            executor=DaskExecutor(client), callback=after_iteration)
    assert killed, "no worker was killed"
    assert result.n_iterations == CONFIG.niterations
    assert _front(result) == _front(serial) and result.n_evals == serial.n_evals


def test_no_worker_left_fails_clearly_and_keeps_the_state(data):
    distributed = pytest.importorskip("distributed")
    from hybridsr.engine.cluster import DaskExecutor

    saved = []
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:

        def after_iteration(progress):
            if progress.iteration == 1:
                cluster.scale(0)  # the only worker goes and nothing replaces it

        with pytest.raises(WorkersLostError, match=r"no worker is left .* resume") as caught:
            run_search(data, LANGUAGE, CONFIG.replace(niterations=5), random_state=7,
                       executor=DaskExecutor(client, worker_timeout=1.0), callback=after_iteration,
                       checkpoint=lambda state, final: saved.append((state.iteration, final)))
    assert caught.value.state.iteration == 1 and caught.value.state.hall_of_fame.front()
    assert saved[-1] == (1, True), "the final checkpoint is written on the way out"


# -- batch sweeps -----------------------------------------------------------------------------
def test_bench_jobs_run_on_the_cluster_and_skip_done_ones(client, tmp_path, monkeypatch):
    from hybridsr.datasets import get_suite

    ran = []

    def fake_run_one(method, problem, seed, *args):
        ran.append((method, problem.name, seed))
        return {"key": f"{method}/{problem.name}/{seed}", "method": method, "problem": problem.name,
                "seed": seed, "status": "ok", "outcome": "exact", "seconds": 0.0}

    monkeypatch.setattr(runner, "_run_one", fake_run_one)
    problems = get_suite("nguyen")[:3]
    records = runner.run_benchmark(problems, ["a", "b"], [0], 1.0, tmp_path, cluster=client,
                                   echo=lambda _: None)
    assert len(records) == 6 and sorted(ran) == sorted((m, p.name, 0) for p in problems for m in "ab")
    assert len(runner.completed_keys(tmp_path)) == 6
    again = runner.run_benchmark(problems, ["a", "b"], [0, 1], 1.0, tmp_path, cluster=client,
                                 echo=lambda _: None)
    assert len(again) == 6 and len(ran) == 12, "only the new seed's jobs ran"
    with pytest.raises(ValueError, match="either a cluster or a job array"):
        runner.run_benchmark(problems, ["a"], [0], 1.0, tmp_path, cluster="local", num_tasks=2)


def test_bench_cli_reads_cluster_options():
    from hybridsr.cli import _cluster_options, build_parser

    args = build_parser().parse_args(["bench", "--cluster", "slurm", "--cluster-option", "cores=4",
                                      "--cluster-option", "memory=8GB", "--cluster-option",
                                      "job_extra_directives=['--exclusive']"])
    assert args.cluster == "slurm"
    assert _cluster_options(args.cluster_option) == {"cores": 4, "memory": "8GB",
                                                     "job_extra_directives": ["--exclusive"]}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        _cluster_options(["cores"])


def test_clones_share_a_client(client):
    from sklearn.base import clone

    model = HybridSRRegressor(cluster=client, niterations=3)
    copy = clone(model)
    assert copy.cluster is client and copy.niterations == 3


# -- the cluster examples -------------------------------------------------------------------------
EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")


def _example(name: str):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"example_{name[:-3]}", os.path.join(EXAMPLES, name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_slurm_example_prints_the_worker_job_script(capsys):
    pytest.importorskip("dask_jobqueue")
    main = _example("cluster_slurm.py").main
    assert main(["--print-job-script", "--cores", "4", "--memory", "8GB", "--account", "proj42",
                 "--extra=--exclusive"]) == 0
    script = capsys.readouterr().out
    for line in ("#SBATCH -A proj42", "#SBATCH --cpus-per-task=4", "#SBATCH --exclusive"):
        assert line in script
    assert "--nthreads 1" in script and "--nworkers 4" in script
    shell = os.path.join(EXAMPLES, "cluster_slurm.sh")
    assert subprocess.run(["bash", "-n", shell]).returncode == 0
    assert "examples/cluster_slurm.py" in open(shell).read()


def test_local_example_runs_and_resumes(capsys, tmp_path):
    pytest.importorskip("distributed")
    main = _example("cluster_local.py").main
    assert main(["--quick", "--threads", "--checkpoint", str(tmp_path / "run.ckpt")]) == 0
    printed = capsys.readouterr().out
    assert "the same front" in printed and "resumed from run.ckpt for 2 more" in printed
