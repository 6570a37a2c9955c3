#!/bin/sh
# Submits a sharded peers run of a collection to Slurm: an array of N tasks (peers-array.sbatch,
# one GPU each) and a merge job that starts when every task has succeeded
# (--dependency=afterok). A failed task can be resubmitted alone (sbatch --array=K
# tools/slurm/peers-array.sbatch, with the same environment) and the merge run again: both resume.
# Usage: tools/slurm/submit.sh DIR N [sbatch options for the array…]
# Environment: QUORUM (binary), QUORUM_GPUS (GPUs per task, default 1; 0 on a CPU-only cluster), QUORUM_CPUS (cores per
# task, default 8), QUORUM_SHARD_DIR (where the shard catalogs go, on the shared file
# system; default ./quorum-shards-NAME in the folder submit.sh runs in), QUORUM_PEERS, QUORUM_DEVICE,
# QUORUM_DB (the collection's catalog, default its usual place).
# Prints the two job ids.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=$(cd "${1:?usage: submit.sh DIR N}" && pwd)
n=${2:?usage: submit.sh DIR N}
shift 2
case "$n" in ''|*[!0-9]*) echo "submit.sh: N must be a number of shards" >&2; exit 2 ;; esac
[ "$n" -ge 1 ] || { echo "submit.sh: N must be at least 1" >&2; exit 2; }
export QUORUM_DIR="$dir" QUORUM_SHARDS="$n"
export QUORUM_SHARD_DIR="${QUORUM_SHARD_DIR:-$PWD/quorum-shards-$(basename "$dir")}"
mkdir -p "$QUORUM_SHARD_DIR"
# a GPU per task unless QUORUM_GPUS=0 (a CPU-only cluster); QUORUM_CPUS decoding threads' cores
gpus=""
[ "${QUORUM_GPUS:-1}" != 0 ] && gpus="--gres=gpu:${QUORUM_GPUS:-1}"
# shellcheck disable=SC2086
array=$(sbatch --parsable --export=ALL --array="0-$((n - 1))" --cpus-per-task="${QUORUM_CPUS:-8}" $gpus "$@" \
          "$here/peers-array.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --export=ALL --dependency="afterok:$array" "$here/merge.sbatch")
merge=${merge%%;*}
echo "array $array"
echo "merge $merge"
