"""A search on a SLURM cluster: workers as batch jobs, checkpoints, and resuming after walltime.

Run this on a login node (or in a small job, see ``cluster_slurm.sh``): it
is the head process. ``cluster="slurm"`` has dask-jobqueue submit ``--jobs``
batch jobs of Dask workers (one single-threaded worker process per core);
the islands run on them while this process migrates between islands and
keeps every island's state. Every ``--checkpoint-every`` the whole search is
saved to ``--checkpoint``; run the same command again after a crash or when
the head's walltime ran out and it continues from there.

    python examples/cluster_slurm.py data.csv --target y --account proj42 \\
        --queue normal --cores 16 --memory 32GB --walltime 04:00:00 --jobs 4
    python examples/cluster_slurm.py --print-job-script --cores 16 --memory 32GB
    python examples/cluster_slurm.py --quick --print-job-script   # no SLURM needed

``--print-job-script`` prints the batch script of one worker job (what
dask-jobqueue would submit) and exits, so you can check it before anything is
queued. Without a data file the seed's Newton-gravity problem is searched.
Compute nodes must reach this process on the network; pick the interface
with ``--interface`` (e.g. ``ib0``) when the default one is not routed.

Checkpoints are pickles: resume only files you wrote yourself.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hybridsr import HybridSRRegressor


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, help="CSV file with a header row")
    parser.add_argument("--target", help="the column to explain (with a data file)")
    parser.add_argument("--quick", action="store_true", help="small settings (smoke test)")
    jobs = parser.add_argument_group("worker jobs (dask-jobqueue's names)")
    jobs.add_argument("--cores", type=int, default=8, help="cores per job (default: 8)")
    jobs.add_argument("--memory", default="16GB", help="memory per job (default: 16GB)")
    jobs.add_argument("--walltime", default="02:00:00", help="walltime per job (default: 02:00:00)")
    jobs.add_argument("--queue", help="partition (sbatch -p)")
    jobs.add_argument("--account", help="account (sbatch -A)")
    jobs.add_argument("--jobs", type=int, default=2, help="worker jobs to submit (default: 2)")
    jobs.add_argument("--interface", help="network interface the workers reach the head on")
    jobs.add_argument("--extra", action="append", default=[], metavar="DIRECTIVE",
                      help="another #SBATCH directive, repeatable: --extra=--exclusive")
    parser.add_argument("--checkpoint", type=Path, default=Path("search.ckpt"),
                        help="checkpoint file, resumed when it exists (default: search.ckpt)")
    parser.add_argument("--checkpoint-every", default="10min",
                        help="iterations or a duration between checkpoints (default: 10min)")
    parser.add_argument("--niterations", type=int, default=200, help="iterations in all (default: 200)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--print-job-script", action="store_true",
                        help="print one worker job's batch script and exit (submits nothing)")
    args = parser.parse_args(argv)

    options = {"cores": args.cores, "memory": args.memory, "walltime": args.walltime,
               "jobs": args.jobs, "job_extra_directives": list(args.extra)}
    for name in ("queue", "account", "interface"):
        if getattr(args, name):
            options[name] = getattr(args, name)

    if args.print_job_script:
        from hybridsr.engine.cluster import job_script

        print(job_script("slurm", {k: v for k, v in options.items() if k != "jobs"}))
        return 0

    X, y, names = _data(args)
    every = int(args.checkpoint_every) if args.checkpoint_every.isdigit() else args.checkpoint_every
    model = HybridSRRegressor(
        binary_operators=["+", "-", "*", "/"], unary_operators=["sqrt", "exp", "log"],
        populations=4 * args.jobs * args.cores if not args.quick else 4,
        niterations=args.niterations if not args.quick else 3,
        random_state=args.seed, cluster="slurm", cluster_options=options,
        checkpoint_file=args.checkpoint, checkpoint_every=every)
    resume = args.checkpoint if args.checkpoint.is_file() else None
    if resume is not None:
        print(f"resuming from {resume}")
    model.fit(X, y, variable_names=names, resume_from=resume)
    print(model)
    return 0


def _data(args):
    if args.data is None:
        rng = np.random.default_rng(args.seed)
        X = rng.uniform(1.0, 10.0, size=(500, 3))
        return X, 6.674e-2 * X[:, 0] * X[:, 1] / X[:, 2] ** 2, ["m1", "m2", "r"]
    import pandas as pd

    if not args.target:
        raise SystemExit("--target names the column to explain")
    frame = pd.read_csv(args.data)
    features = [c for c in frame.columns if c != args.target]
    return frame[features].to_numpy(float), frame[args.target].to_numpy(float), features


if __name__ == "__main__":
    raise SystemExit(main())
