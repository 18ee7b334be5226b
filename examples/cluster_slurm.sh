#!/usr/bin/env bash
# A hybridsr search on SLURM, in one of two set-ups (pick with MODE below).
#
#   sbatch examples/cluster_slurm.sh            # submit; resubmit the same way to resume
#
# MODE=jobqueue (default): this job is only the head process (1 core). It runs
#   examples/cluster_slurm.py, whose cluster="slurm" submits the worker jobs
#   through dask-jobqueue and cancels them at the end. Use it where jobs may
#   submit jobs.
# MODE=allocation: the whole search lives in this one allocation. srun starts a
#   Dask scheduler and one single-threaded worker per task, and the head
#   connects to them through the scheduler file (cluster="scheduler.json").
#   Use it where jobs may not submit jobs. Set --nodes/--ntasks to the size
#   you want (then drop the 1-task lines below).
#
# Either way the search is checkpointed to $CHECKPOINT (every 10 minutes and at
# the end); when a job runs out of walltime, submit this script again and the
# head resumes from the checkpoint. Checkpoints are pickles: resume only your own.
#
#SBATCH --job-name=hybridsr
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=4G
#SBATCH --time=12:00:00
#SBATCH --output=hybridsr-%j.out
## MODE=allocation instead, e.g. 4 nodes of 32 workers:
## #SBATCH --nodes=4
## #SBATCH --ntasks-per-node=32
## #SBATCH --cpus-per-task=1

set -euo pipefail
MODE=${MODE:-jobqueue}
CHECKPOINT=${CHECKPOINT:-$PWD/search.ckpt}
# The environment with hybridsr[cluster] installed, on a file system every node sees.
source "${VENV:-$PWD/.venv}/bin/activate"

if [ "$MODE" = jobqueue ]; then
    # Worker jobs: 4 jobs of 16 cores, 2 hours each (dask-jobqueue resubmits nothing:
    # when they end, the head fails with a clear message and this script is rerun).
    python examples/cluster_slurm.py \
        --cores 16 --memory 32GB --walltime 02:00:00 --jobs 4 \
        ${SLURM_JOB_ACCOUNT:+--account "$SLURM_JOB_ACCOUNT"} \
        ${SLURM_JOB_PARTITION:+--queue "$SLURM_JOB_PARTITION"} \
        --checkpoint "$CHECKPOINT" --checkpoint-every 10min
    exit
fi

# MODE=allocation: scheduler on this node, workers on every task of the allocation.
SCHEDULER_FILE=$PWD/scheduler-$SLURM_JOB_ID.json
dask scheduler --scheduler-file "$SCHEDULER_FILE" --dashboard-address :0 &
srun --ntasks="$SLURM_NTASKS" --cpus-per-task=1 \
    dask worker --scheduler-file "$SCHEDULER_FILE" --nthreads 1 --nworkers 1 --memory-limit 0 &
while [ ! -f "$SCHEDULER_FILE" ]; do sleep 1; done
python - "$SCHEDULER_FILE" "$CHECKPOINT" <<'EOF'
import sys
from pathlib import Path

import numpy as np

from hybridsr import HybridSRRegressor

scheduler_file, checkpoint = sys.argv[1], Path(sys.argv[2])
rng = np.random.default_rng(0)
X = rng.uniform(1.0, 10.0, size=(500, 3))          # replace with your data
y = 6.674e-2 * X[:, 0] * X[:, 1] / X[:, 2] ** 2

model = HybridSRRegressor(
    binary_operators=["+", "-", "*", "/"], unary_operators=["sqrt", "exp", "log"],
    populations=128, niterations=200, random_state=0,
    cluster=scheduler_file, checkpoint_file=checkpoint, checkpoint_every="10min")
model.fit(X, y, variable_names=["m1", "m2", "r"],
          resume_from=checkpoint if checkpoint.is_file() else None)
print(model)
EOF
