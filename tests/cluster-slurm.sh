#!/bin/sh
# A sharded peers run on a real Slurm (ctest label `cluster`): a single-node cluster started in a
# temporary folder (munged, slurmctld, slurmd with 2 CPUs, ports of its own), the demo photos
# submitted with tools/slurm/submit.sh as a 4-task array and a merge that waits for it, and the
# merged catalog compared with one machine's `peers run`: every box and the review list. Then one
# task resubmitted alone and the merge run again: nothing changes. Skips (exit 77) where Slurm
# cannot start: not root, or the Debian packages slurm-wlm and munge missing.
# Usage: tests/cluster-slurm.sh QUORUM_BINARY
set -eu
quorum=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$(cd "$(dirname "$0")/.." && pwd)
peers=nanodet,nanodet-flip

skip () { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "not root (slurmd runs jobs as root here)"
for tool in munged slurmctld slurmd sbatch squeue scontrol sinfo; do
  command -v "$tool" >/dev/null 2>&1 || skip "$tool is missing (Debian packages slurm-wlm and munge)"
done
[ -f "$src/../shared/models/pretrained/nanodet.json" ] || skip "the pretrained models are not beside the source tree"

t=$(mktemp -d /tmp/quorum-slurm-XXXXXX)
chmod 755 "$t"
mkdir -p "$t/state" "$t/spool" "$t/log" "$t/photos" "$t/xdg"
cleanup () {
  [ -f "$t/slurmd.pid" ] && kill "$(cat "$t/slurmd.pid")" 2>/dev/null || true
  [ -f "$t/slurmctld.pid" ] && kill "$(cat "$t/slurmctld.pid")" 2>/dev/null || true
  [ -f "$t/munged.pid" ] && kill "$(cat "$t/munged.pid")" 2>/dev/null || true
  sleep 1
  rm -rf "$t"
}
trap cleanup EXIT

# munge with a key and a socket of its own
dd if=/dev/urandom of="$t/munge.key" bs=1024 count=1 2>/dev/null
chmod 600 "$t/munge.key"
munged -f --socket="$t/munge.socket" --key-file="$t/munge.key" --log-file="$t/log/munged.log" \
  --pid-file="$t/munged.pid" --seed-file="$t/munged.seed" || skip "munged does not start"

# ports of this run's own, so that a cluster already on the machine is left alone
port=$((20000 + $$ % 20000))
host=$(hostname)
cat > "$t/slurm.conf" <<EOF
ClusterName=quorumtest
SlurmctldHost=$host
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$t/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$t/state
SlurmdSpoolDir=$t/spool
SlurmctldPidFile=$t/slurmctld.pid
SlurmdPidFile=$t/slurmd.pid
SlurmctldLogFile=$t/log/slurmctld.log
SlurmdLogFile=$t/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
PlugStackConfig=/dev/null
NodeName=$host CPUs=2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$t/slurm.conf"
slurmctld -f "$SLURM_CONF" || skip "slurmctld does not start ($(tail -3 "$t/log/slurmctld.log" 2>/dev/null))"
sleep 1
slurmd -f "$SLURM_CONF" || skip "slurmd does not start ($(tail -3 "$t/log/slurmd.log" 2>/dev/null))"
i=0
until sinfo -h -o %t 2>/dev/null | grep -q idle; do
  i=$((i + 1))
  [ "$i" -lt 30 ] || skip "the node never became idle ($(sinfo 2>&1 | tail -1))"
  sleep 1
done
echo "single-node Slurm up: $(sinfo -h | head -1)"

# the collection, on one machine
for f in "$src"/resources/demo/*.jpg "$src"/resources/demo/*.png; do cp "$f" "$t/photos/"; done
export XDG_DATA_HOME="$t/xdg" QUORUM_DEVICE=cpu
"$quorum" peers run -q --peers "$peers" --device cpu --collection "$t/photos" --db "$t/single.sqlite"

# the same through Slurm: 4 tasks and the merge
wait_job () {
  i=0
  while :; do
    state=$(scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1)
    case "$state" in
      COMPLETED) return 0 ;;
      FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY)
        echo "job $1: $state"; cat "$t"/quorum-*.log 2>/dev/null; return 1 ;;
    esac
    i=$((i + 1))
    [ "$i" -lt 600 ] || { echo "job $1 still $state after 600 s"; squeue; return 1; }
    sleep 1
  done
}
cd "$t"
export QUORUM="$quorum" QUORUM_PEERS="$peers" QUORUM_GPUS=0 QUORUM_CPUS=1 QUORUM_DB="$t/merged.sqlite"
out=$("$src/tools/slurm/submit.sh" "$t/photos" 4)
echo "$out"
merge=$(echo "$out" | sed -n 's/^merge //p')
wait_job "$merge"
cat "$t"/quorum-merge-*.log

boxes () {
  /usr/bin/python3 - "$1" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
for row in db.execute("SELECT m.name, i.path, c.name, printf ('%.6f', d.score), "
                      "printf ('%.3f %.3f %.3f %.3f', d.x1, d.y1, d.x2, d.y2) FROM detections d "
                      "JOIN runs r ON r.id = d.run_id JOIN models m ON m.id = r.model_id "
                      "JOIN images i ON i.id = d.image_id JOIN classes c ON c.id = d.class_id ORDER BY 1, 2, 3, 4, 5"):
    print(*row)
EOF
}
boxes "$t/single.sqlite" > "$t/single.txt"
boxes "$t/merged.sqlite" > "$t/merged.txt"
n=$(wc -l < "$t/single.txt")
[ "$n" -gt 100 ] || { echo "FAIL: only $n boxes on one machine"; exit 1; }
cmp "$t/single.txt" "$t/merged.txt" || { echo "FAIL: the merged boxes differ from one machine's"; exit 1; }
"$quorum" review list --collection "$t/photos" --db "$t/single.sqlite" > "$t/review-single.txt"
"$quorum" review list --collection "$t/photos" --db "$t/merged.sqlite" > "$t/review-merged.txt"
cmp "$t/review-single.txt" "$t/review-merged.txt" || { echo "FAIL: the review lists differ"; exit 1; }
echo "merged through Slurm: the same $n boxes and $(wc -l < "$t/review-single.txt") review items as one machine"

# task 2 resubmitted alone, then the merge again: it resumes (nothing left) and nothing changes
task=$(QUORUM_DIR="$t/photos" QUORUM_SHARDS=4 QUORUM_SHARD_DIR="$t/quorum-shards-photos" \
       sbatch --parsable --export=ALL --array=2 --cpus-per-task=1 "$src/tools/slurm/peers-array.sbatch")
task=${task%%;*}
wait_job "${task}_2"
again=$(QUORUM_DIR="$t/photos" QUORUM_SHARDS=4 QUORUM_SHARD_DIR="$t/quorum-shards-photos" \
        sbatch --parsable --export=ALL --dependency="afterok:$task" "$src/tools/slurm/merge.sbatch")
again=${again%%;*}
wait_job "$again"
grep -q "shard-2-of-4.sqlite: 0 images done, 0 boxes" "$t/quorum-merge-$again.log" \
  || { echo "FAIL: merging again added something"; cat "$t/quorum-merge-$again.log"; exit 1; }
boxes "$t/merged.sqlite" > "$t/merged-again.txt"
cmp "$t/single.txt" "$t/merged-again.txt" || { echo "FAIL: the catalog changed on a second merge"; exit 1; }
echo "resubmitted task and second merge: nothing changed"
