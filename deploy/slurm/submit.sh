#!/usr/bin/env bash
# Submits the shard array (deploy/slurm/georank-array.sbatch, tasks 0..N-1) and the merge
# (deploy/slurm/merge.sbatch) that waits for all of it with --dependency=afterok.
# With several steps (STEPS="embed retrieve rerank"), each step's array waits for the merge
# of the step before it. Run from the folder the relative paths below refer to.
#
#   N=8 CONFIG=configs/my-run.toml OUT=/shared/out/my-run deploy/slurm/submit.sh
#   N=16 STEPS="embed retrieve rerank" SERVERS="http://gpu01:8000 http://gpu02:8000" \
#     OUT=/shared/out/stepwise deploy/slurm/submit.sh
set -euo pipefail

GEORANK=${GEORANK:-georank}
DATASET=${DATASET:-vigor:/data/VIGOR}
CONFIG=${CONFIG:-configs/paper-vigor-cross.toml}
OUT=${OUT:-out/sharded}
N=${N:-4}
STEPS=${STEPS:-run}          # run, or a sequence of embed retrieve rerank
PARALLEL=${PARALLEL:-}       # optional: at most this many shards at once (--array=...%P)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! [[ "$N" =~ ^[1-9][0-9]*$ ]]; then
  echo "submit.sh: N must be a positive integer (got '$N')" >&2
  exit 2
fi
range="0-$((N - 1))${PARALLEL:+%$PARALLEL}"
mkdir -p logs "$OUT/shards"
# sbatch passes this environment to the jobs (--export=ALL): both scripts read these.
export GEORANK DATASET CONFIG OUT N

after=()
for STEP in $STEPS; do
  export STEP
  array_job=$(sbatch --parsable --export=ALL "${after[@]}" --array="$range" \
                "$here/georank-array.sbatch")
  array_job=${array_job%%;*}  # --parsable prints "jobid[;cluster]"
  merge_job=$(sbatch --parsable --export=ALL --dependency="afterok:${array_job}" \
                "$here/merge.sbatch")
  merge_job=${merge_job%%;*}
  echo "$STEP: shards job $array_job (array $range), merge job $merge_job after all of them"
  after=(--dependency="afterok:${merge_job}")
done
