#!/usr/bin/env bash
# Benchmark: how soon a host that joins a running job takes tasks. Two sshd on 127.0.0.1; a
# job of TASKS tasks (each prints its sshd's port and the time it started, then sleeps 50 ms)
# starts with the first host only; after 3 to 5 s (random, so the change falls anywhere in a
# refresh period) the second is listed. Measured: from the moment
# the list changed to the first task that started on the new host, for
#   - drover, hosts_file (checked 4 times a second),
#   - drover, hosts_command = ["cat", FILE] with hosts_refresh = REFRESH,
#   - the same with the change made 50 ms after a run of the command started (the worst phase:
#     the change waits a whole hosts_refresh),
#   - GNU parallel --sshloginfile FILE (re-read "every time a job completes"),
# ROUNDS times each, and, for comparison, what one probe costs: starting an ssh master
# connection (`ssh -f -N -M`), which is what drover does before a host takes tasks.
# Usage: bench/elastic_join.sh [BUILD_DIR] [TASKS] [REFRESH]   (ROUNDS=5 by default)
set -euo pipefail
build=${1:-build}
n=${2:-400}
refresh=${3:-2s}
rounds=${ROUNDS:-5}
drover=$(realpath "$build/drover")
. "$(dirname "$0")/sshd-lib.sh"
bench_ssh_init join
start_sshds 2
host() { echo "$user@127.0.0.1:${ports[$1]}"; }
now() { date +%s.%N; }
pause() { /usr/bin/python3 -c 'import random; print(f"{3 + 2 * random.random():.3f}")'; }

# The task: "PORT START" of the sshd it runs under.
task='echo "{\"port\":${SSH_CONNECTION##* },\"t\":$(date +%s.%N)}"; sleep 0.05'

job() {  # $1 = source keys
    cat > "$work/join.toml" <<TOML
name = "bench-join"
$(ssh_executor_toml "$1" 2)
[sink]
kind = "file"
path = "$work/out"
fsync = false
[[tasks]]
id = "t-{n}"
command = ["sh", "-c", '$task']
foreach.n = { from = 1, to = $n, step = 1 }
TOML
}

list() { printf '%s\n' "$@" > "$work/list.tmp" && mv "$work/list.tmp" "$work/fleet"; }

# Seconds from $1 (the change) to the first record from port ${ports[1]} in the output.
first_on_new() {
    /usr/bin/python3 - "$work/out" "${ports[1]}" "$1" <<'PY'
import gzip, json, os, sys
root, port, t0 = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ts = []
for d, _, files in os.walk(root):
    for f in files:
        if f.endswith(".jsonl.gz"):
            for line in gzip.open(os.path.join(d, f), "rt"):
                r = json.loads(line)
                if r["port"] == port:
                    ts.append(r["t"])
print(f"{min(ts) - t0:.3f}" if ts else "none")
PY
}

# While drover (pid $1) runs, notes when the new host first shows in the run's hosts.json as
# probing (it joined: drover read the list) and as up (its probe succeeded), from the
# "since_ms" drover wrote, into $work/phases.
watch_hosts() {
    /usr/bin/python3 - "$1" "$work/state" "$(host 1)" > "$work/phases" <<'PY'
import glob, json, os, sys, time
pid, state, spec = int(sys.argv[1]), sys.argv[2], sys.argv[3]
seen = {}
while True:
    alive = os.path.exists(f"/proc/{pid}")
    for f in glob.glob(f"{state}/runs/*/hosts.json"):
        try:
            hosts = json.load(open(f))
        except (OSError, ValueError):
            continue
        for h in hosts:
            if h["host"] == spec and h["state"] not in seen:
                seen[h["state"]] = h["since_ms"] / 1000
    if not alive:
        break
    time.sleep(0.005)
print(seen.get("probing", "none"), seen.get("up", "none"))
PY
}

# "WAIT/PROBE/DISPATCH/START" for one round: change to joined, joined to up, up to drover
# handing the new host its first attempt (the attempt's started_ms in the journal), and from
# there to the task's first line (the ssh session and the remote shell starting).
phases_of() {
    /usr/bin/python3 - "$1" "$(cat "$work/phases")" "$work/out" "${ports[1]}" "$work/state/journal.db" <<'PY'
import gzip, json, os, sqlite3, sys
t0 = float(sys.argv[1])
joined, up = (float(x) if x != "none" else None for x in sys.argv[2].split())
root, port, db = sys.argv[3], int(sys.argv[4]), sys.argv[5]
first = None  # (time, task id) of the first record from the new host
for d, _, files in os.walk(root):
    for f in files:
        if f.endswith(".jsonl.gz"):
            for line in gzip.open(os.path.join(d, f), "rt"):
                r = json.loads(line)
                if r["port"] == port and (first is None or r["t"] < first[0]):
                    first = (r["t"], f[: -len(".jsonl.gz")])
if joined is None or up is None or first is None:
    print("none")
else:
    row = sqlite3.connect(db).execute(
        "SELECT max(started_ms) FROM attempts WHERE task_id=? AND started_ms <= ?",
        (first[1], int(first[0] * 1000) + 1)).fetchone()
    dispatch = row[0] / 1000 if row and row[0] else up
    print(f"{joined - t0:.3f}/{up - joined:.3f}/{dispatch - up:.3f}/{first[0] - dispatch:.3f}")
PY
}

results=()
phases=()
run_drover() {  # $1 = label, $2 = source keys
    job "$2"
    for r in $(seq "$rounds"); do
        rm -rf "$work/out" "$work/state"
        : > "$work/cmd-runs"
        list "$(host 0)"
        "$drover" run "$work/join.toml" --quiet --state "$work/state" > /dev/null 2>&1 &
        local pid=$!
        watch_hosts "$pid" &
        local watcher=$!
        sleep "$(pause)"
        if [ -n "${change_after_a_run:-}" ]; then
            local runs; runs=$(wc -l < "$work/cmd-runs")
            while [ "$(wc -l < "$work/cmd-runs")" = "$runs" ]; do sleep 0.005; done
            sleep 0.05
        fi
        local t0; t0=$(now)
        list "$(host 0)" "$(host 1)"
        wait "$pid"
        wait "$watcher" || true
        results+=("$1 $(first_on_new "$t0")")
        phases+=("$1 $(phases_of "$t0")")
    done
}

run_drover "drover hosts_file" "hosts_file = \"$work/fleet\""
run_drover "drover hosts_command (refresh $refresh)" \
    "hosts_command = [\"cat\", \"$work/fleet\"]
hosts_refresh = \"$refresh\""
# The worst phase: the list changes 50 ms after a run of the command started (it has read
# the file by then), so the change waits a whole hosts_refresh for the next run.
change_after_a_run=1 run_drover "drover hosts_command, worst phase" \
    "hosts_command = [\"sh\", \"-c\", \"date +%s.%N >> $work/cmd-runs; cat $work/fleet\"]
hosts_refresh = \"$refresh\""

ssh_cmd() { echo "ssh -F /dev/null -i $work/userkey -o UserKnownHostsFile=$work/known_hosts -o IdentitiesOnly=yes -o BatchMode=yes -p $1 $user@127.0.0.1"; }
for r in $(seq "$rounds"); do
    rm -rf "$work/out"; mkdir -p "$work/out/p"
    printf '2/%s\n' "$(ssh_cmd "${ports[0]}")" > "$work/slf"
    seq "$n" | parallel --will-cite --slf "$work/slf" "$task # {}" 2>/dev/null | gzip > "$work/out/p/p.jsonl.gz" &
    pid=$!
    sleep "$(pause)"
    t0=$(now)
    printf '2/%s\n2/%s\n' "$(ssh_cmd "${ports[0]}")" "$(ssh_cmd "${ports[1]}")" > "$work/slf.tmp" && mv "$work/slf.tmp" "$work/slf"
    wait "$pid"
    results+=("parallel --slf $(first_on_new "$t0")")
done

probes=()
for r in $(seq "$rounds"); do
    t0=$(now)
    $(ssh_cmd "${ports[1]}") -f -N -o ControlMaster=yes -o ControlPath="$work/cm$r" -o ControlPersist=10
    probes+=("$(/usr/bin/python3 -c "import time; print(f'{time.time() - $t0:.3f}')")")
    $(ssh_cmd "${ports[1]}") -o ControlPath="$work/cm$r" -O exit 2>/dev/null || true
done

/usr/bin/python3 - "$n" "$refresh" "${probes[*]}" "${#results[@]}" "${results[@]}" "${phases[@]}" <<'PY'
import statistics, sys
n, refresh, probes = sys.argv[1], sys.argv[2], [float(x) for x in sys.argv[3].split()]
count = int(sys.argv[4])
rows, parts = {}, {}
for r in sys.argv[5:5 + count]:
    label, v = r.rsplit(" ", 1)
    rows.setdefault(label, []).append(v)
for r in sys.argv[5 + count:]:
    label, v = r.rsplit(" ", 1)
    parts.setdefault(label, []).append(v)
print(f"\n{n} tasks (50 ms each) on 1 sshd x 2 slots; a 2nd sshd listed after 3-5 s.")
print("Seconds from the list change to the first task on the new host:")
for label, vs in rows.items():
    ok = sorted(float(v) for v in vs if v != "none")
    miss = sum(v == "none" for v in vs)
    extra = f"  ({miss} run(s) never used it)" if miss else ""
    if ok:
        print(f"  {label:40s} median {statistics.median(ok):6.3f}  min {ok[0]:6.3f}  max {ok[-1]:6.3f}  runs {vs}{extra}")
    else:
        print(f"  {label:40s} never{extra}")
print(f"One ssh master connection (drover's probe): median {statistics.median(probes):.3f} s, max {max(probes):.3f} s")
print("drover, per run: change -> joined (list read) / joined -> up (drover's probe) / up -> first attempt handed to it"
      " / -> the task's first line:")
for label, vs in parts.items():
    print(f"  {label:40s} {'  '.join(vs)}")
# The issue's bound: one hosts_refresh plus the probe (drover's own, in that run).
period = float(refresh[:-2]) / 1000 if refresh.endswith("ms") else float(refresh.rstrip("s"))
for label, vs in parts.items():
    if "command" not in label:
        continue
    over = []
    for total, p in zip(rows[label], vs):
        if total == "none" or p == "none":
            continue
        wait, probe, dispatch, start = map(float, p.split("/"))
        over.append((float(total) - start - (period + probe), float(total) - (period + probe)))
    if over:
        print(f"  {label}: (first attempt handed over) - (hosts_refresh + probe), per run: "
              f"{' '.join(f'{o[0]:+.3f}' for o in over)}")
        print(f"  {label}: (task's first line) - (hosts_refresh + probe), per run: "
              f"{' '.join(f'{o[1]:+.3f}' for o in over)}")
PY
