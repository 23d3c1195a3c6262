#!/usr/bin/env bash
# Benchmark: the Slurm executor. TASKS one-line tasks (default 1000) on a real single-node
# Slurm cluster (tests/services/slurm-cluster.sh, started here and stopped on exit), side by
# side in one run:
#   drover       drover run with kind = "slurm", slots = SLOTS (default 100), poll_interval POLL
#   sbatch-wait  `xargs -P SLOTS` running `sbatch --wait --wrap ...` once per task
#   array        one job array of TASKS elements, `sbatch --wait --array=1-TASKS`
# Each variant's wall time (jobs/s), and the controller's load: slurmctld's CPU seconds
# (/proc/PID/stat) and the RPCs it served (sdiag, reset before each variant).
# Usage: bench/slurm.sh [BUILD_DIR] [TASKS]     ROUNDS=1 SLOTS=100 POLL=1s
set -euo pipefail
build=${1:-build}
n=${2:-1000}
rounds=${ROUNDS:-1}
slots=${SLOTS:-100}
poll=${POLL:-1s}
here=$(cd "$(dirname "$0")" && pwd)
drover=$(realpath "$build/drover")
work=$(mktemp -d /tmp/drover-bench-slurm.XXXXXX)
cluster="$work/cluster"
trap '"$here/../tests/services/slurm-cluster.sh" stop "$cluster" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
eval "$("$here/../tests/services/slurm-cluster.sh" start "$cluster" 4000 | tail -n1 | sed 's/^/export /')"
ctld_pid=$(cat "$cluster/slurmctld.pid")

cpu_seconds() {  # utime + stime of slurmctld, in seconds
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$ctld_pid/stat"
}
rpcs() {  # RPCs served since the last `sdiag -r`
    sdiag | awk '/Remote Procedure Call statistics by message type/ {on=1; next}
                 /Remote Procedure Call statistics by user/ {on=0}
                 on && /count:/ { for (i = 1; i <= NF; i++) if ($i ~ /^count:/) { split($i, a, ":"); s += a[2] } }
                 END { print s + 0 }'
}
wait_idle() {  # until the controller lists no pending or running job
    while [ -n "$(squeue -h -t pending,running,completing -o %i | head -n1)" ]; do sleep 0.5; done
}

cat >"$work/job.toml" <<TOML
name = "bench-slurm"
[[executors]]
kind = "slurm"
slots = $slots
poll_interval = "$poll"
[sink]
kind = "file"
path = "$work/out"
fsync = false
[[tasks]]
id = "t-{i}"
foreach.i = { from = 1, to = $n }
command = ["sh", "-c", "echo '{{\"i\":{i}}'"]
TOML

run_variant() {
    local name=$1
    wait_idle
    sdiag -r >/dev/null
    local cpu0 t0 t1 cpu1 count
    cpu0=$(cpu_seconds)
    t0=$(date +%s.%N)
    case $name in
    drover)
        rm -rf "$work/out" "$work/state"
        "$drover" run "$work/job.toml" --quiet --fresh --state "$work/state" >"$work/drover.log" 2>&1 ||
            { cat "$work/drover.log" >&2; exit 1; }
        count=$(zcat "$work"/out/*.gz 2>/dev/null | wc -l)
        ;;
    sbatch-wait)
        rm -rf "$work/wait" && mkdir -p "$work/wait"
        seq 1 "$n" | xargs -P "$slots" -I{} sbatch --wait --quiet -o "$work/wait/{}.out" \
            --wrap "echo '{\"i\":{}}'" >/dev/null
        count=$(cat "$work"/wait/*.out | wc -l)
        ;;
    array)
        rm -rf "$work/array" && mkdir -p "$work/array"
        sbatch --wait --quiet --array="1-$n" -o "$work/array/%a.out" \
            --wrap "echo \"{\\\"i\\\":\$SLURM_ARRAY_TASK_ID}\"" >/dev/null
        count=$(cat "$work"/array/*.out | wc -l)
        ;;
    esac
    t1=$(date +%s.%N)
    cpu1=$(cpu_seconds)
    local rpc
    rpc=$(rpcs)
    [ "$count" -eq "$n" ] || { echo "$name: $count of $n outputs" >&2; exit 1; }
    awk -v v="$name" -v t0="$t0" -v t1="$t1" -v c0="$cpu0" -v c1="$cpu1" -v r="$rpc" -v n="$n" \
        'BEGIN { w = t1 - t0; printf "%-12s %8.2f s %8.1f jobs/s   slurmctld cpu %6.2f s   rpcs %7d\n", v, w, n / w, c1 - c0, r }' |
        tee -a "$work/results.txt"
}

echo "slurm $(sinfo -V | awk '{print $2}'), $(nproc) CPUs, $n tasks, slots $slots, drover poll $poll, $rounds round(s)"
for ((r = 1; r <= rounds; r++)); do
    for v in drover sbatch-wait array; do run_variant "$v"; done
done
echo "medians:"
for v in drover sbatch-wait array; do
    awk -v v="$v" '$1 == v { print $2 }' "$work/results.txt" | sort -n |
        awk -v v="$v" '{ a[NR] = $1 } END { printf "  %-12s %.2f s\n", v, a[int((NR + 1) / 2)] }'
done
