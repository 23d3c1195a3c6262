#!/usr/bin/env bash
# Benchmark: straggler speculation. TASKS tasks on two sshd hosts on 127.0.0.1 (one SSH
# executor, 2 slots per host). Each task sleeps 0.1-0.4 s (by its number), five times as long
# on the second host (the task checks which sshd it runs under: a slow machine without tc),
# and prints one record. 2% of the tasks (n % 50 == 7) hang in their first attempt until
# their timeout (TIMEOUT, retries = 2). The same job runs without a [speculation] table, with
# one (the defaults: multiplier 1.5, quantile 0.75, min_runtime 1s, backups on idle slots only;
# "with") and with before_queued = true ("ahead"), fresh state each time, in turn, ROUNDS
# times; each run's output is checked: every task's record exactly once.
# Usage: bench/speculation.sh [BUILD_DIR] [TASKS] [TIMEOUT]   (ROUNDS=3 by default)
set -euo pipefail
build=${1:-build}
n=${2:-200}
timeout=${3:-30s}
rounds=${ROUNDS:-3}
drover=$(realpath "$build/drover")
. "$(dirname "$0")/sshd-lib.sh"
bench_ssh_init spec
start_sshds 2
slow_port=${ports[1]}

# $SSH_CONNECTION ends with the server's port. A hanging first attempt takes a marker dir.
task='n={n}; port=${SSH_CONNECTION##* }; d=$(( n % 4 + 1 )); '
task+="[ \"\$port\" = $slow_port ] && d=\$(( d * 5 )); "
task+="if [ \$(( n % 50 )) = 7 ] && mkdir $work/hang/\$n 2>/dev/null; then exec sleep 1000; fi; "
task+='sleep $(( d / 10 )).$(( d % 10 )); echo "{\"n\":$n,\"port\":$port}"'

job() {  # $1 = state dir, $2 = output dir, $3 = extra top-level keys
    cat > "$work/job.toml" <<TOML
name = "bench-speculation"
state_dir = "$1"
$3
$(ssh_executor_toml "hosts = [\"$user@127.0.0.1:${ports[0]}\", \"$user@127.0.0.1:${ports[1]}\"]" 2)
[sink]
kind = "file"
path = "$2"
fsync = false
[defaults]
timeout = "$timeout"
retries = 2
backoff = "1s"
[[tasks]]
id = "t-{n}"
command = ["sh", "-c", '$task']
foreach.n = { from = 1, to = $n, step = 1 }
TOML
}

# Checks the output of one run: each task's record exactly once. Prints "records backups".
check() {  # $1 = output dir, $2 = state dir
    /usr/bin/python3 - "$1" "$2" "$n" <<'PY'
import gzip, json, os, sys, collections
root, state, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
seen = collections.Counter()
for d, _, files in os.walk(root):
    if "/.drover" in d:
        continue
    for f in files:
        if f.endswith(".jsonl.gz"):
            for line in gzip.open(os.path.join(d, f), "rt"):
                seen[json.loads(line)["n"]] += 1
bad = [k for k in range(1, n + 1) if seen[k] != 1]
if bad or len(seen) != n:
    sys.exit(f"records not exactly once: {len(seen)} tasks, wrong: {bad[:10]}")
summary = json.load(open(os.path.join(state, "runs", "latest", "summary.json")))
print(sum(seen.values()), summary.get("backups", 0))
PY
}

run() {  # $1 = label, $2 = extra keys
    local k=$3 state="$work/state-$1-$k" out="$work/out-$1-$k"
    rm -rf "$work/hang" && mkdir -p "$work/hang"
    job "$state" "$out" "$2"
    local t0 t1 ms
    t0=$(date +%s%N)
    "$drover" run "$work/job.toml" --quiet > "$work/log-$1-$k" 2>&1 || { cat "$work/log-$1-$k"; exit 1; }
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    read -r records backups < <(check "$out" "$state")
    printf '%-8s speculation, round %d  %3d.%03d s  records %d  backups %d\n' "$1" "$k" $((ms / 1000)) $((ms % 1000)) "$records" "$backups"
    echo "$1 $((ms / 1000)).$(printf '%03d' $((ms % 1000)))" >> "$work/times"
}

echo "# $n tasks, 2 hosts x 2 slots, host 2 is 5x slower, 2% hang until timeout = $timeout; $(nproc) cores"
for ((k = 1; k <= rounds; k++)); do
    [ "${ONLY:-}" = with ] || run without "" "$k"
    [ "${ONLY:-}" = without ] || run with "[speculation]" "$k"
    [ "${ONLY:-}" = without ] || run ahead "$(printf '[speculation]\nbefore_queued = true')" "$k"
done
/usr/bin/python3 - "$work/times" <<'PY'
import statistics, sys, collections
t = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, s = line.rsplit(" ", 1)
    t[label].append(float(s))
if len(t) < 2:
    sys.exit(0)
base = statistics.median(t["without"])
for label, name in (("with", "[speculation]"), ("ahead", "[speculation] before_queued = true")):
    if label in t:
        spec = statistics.median(t[label])
        print(f"median: without speculation {base:.2f} s, {name} {spec:.2f} s: makespan cut by "
              f"{100 * (1 - spec / base):.1f}% ({base / spec:.2f}x)")
PY
