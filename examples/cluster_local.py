"""A cluster on this machine: islands as Dask tasks, checkpoints, and a resumed search.

Stands in for a real cluster (``cluster="slurm"`` and friends work the same
way). The script

1. fits with ``cluster="local"`` (a Dask ``LocalCluster`` of worker
   processes) and a ``checkpoint_file``, then without a cluster, and shows
   that the two fronts are the same for the same ``random_state``;
2. resumes the checkpoint with a larger ``niterations``: the search goes on
   from where it stopped instead of starting again.

    python examples/cluster_local.py                 # about a minute
    python examples/cluster_local.py --quick         # a smoke run of a few seconds
    python examples/cluster_local.py --workers 4     # more worker processes

Needs ``pip install "hybridsr[cluster]"``. Dask starts worker processes by
spawning, so a script that uses ``cluster="local"`` needs the
``if __name__ == "__main__":`` guard at its end, as this one has.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hybridsr import HybridSRRegressor

#: Settings for ``--quick``: a tiny search that finishes in seconds (it may not recover the law).
QUICK = dict(niterations=2, populations=4, population_size=20, ncycles_per_iteration=100)
FULL = dict(niterations=20, populations=8, population_size=33, ncycles_per_iteration=300)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny search (smoke test)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")
    parser.add_argument("--threads", action="store_true",
                        help="workers as threads of this process (starts at once; for tests)")
    parser.add_argument("--checkpoint", type=Path,
                        help="checkpoint file (default: one in a temporary folder)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    X = rng.uniform(0.5, 3.0, size=(200, 2))
    y = 2.0 * X[:, 0] ** 2 / X[:, 1]  # y = 2 m^2 / r
    sizes = QUICK if args.quick else FULL
    settings = dict(binary_operators=["+", "-", "*", "/"], random_state=args.seed, verbosity=0,
                    **sizes)

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.checkpoint or Path(tmp) / "search.ckpt"
        cluster_options = {"n_workers": args.workers, "processes": not args.threads}
        started = time.perf_counter()
        on_cluster = HybridSRRegressor(cluster="local", cluster_options=cluster_options,
                                       checkpoint_file=checkpoint, checkpoint_every=5,
                                       **settings).fit(X, y)
        cluster_seconds = time.perf_counter() - started
        started = time.perf_counter()
        here = HybridSRRegressor(**settings).fit(X, y)
        here_seconds = time.perf_counter() - started

        print(f"on {args.workers} local Dask workers ({cluster_seconds:.1f} s, including "
              f"starting them):")
        print(on_cluster)
        columns = ["complexity", "loss", "equation"]
        same = on_cluster.equations_[columns].equals(here.equations_[columns])
        print(f"in this process ({here_seconds:.1f} s): "
              f"{'the same front' if same else 'A DIFFERENT FRONT'}")

        more = sizes["niterations"] + (2 if args.quick else 10)
        resumed = HybridSRRegressor(**{**settings, "niterations": more}).fit(
            X, y, resume_from=checkpoint)
        result = resumed.search_results_[0]
        print(f"\nresumed from {checkpoint.name} for {result.n_iterations} more iteration(s) "
              f"({more} in all); picked: {resumed.get_best()['equation']}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
