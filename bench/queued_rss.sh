#!/usr/bin/env bash
# Memory per task in the real CLI, on a job file that expands to N tasks (default 1,000,000)
# of `sleep 1000` on 1 slot:
# - `drover run`, journal on (as always in the CLI). Once the first task runs, every other
#   task is queued; when RSS has settled (the journal has written the pending rows), VmRSS / N
#   is the memory per queued task, and VmHWM / N the peak per task so far (loading the job
#   file, submitting, the journal's first write). The run is then cancelled with SIGTERM
#   (which also checks that the sleeping task is killed).
# - `drover validate` on the same file and on a two-variable foreach of the same size
#   (1000 x N/1000): the peak per task, the kernel's high-water RSS at exit (GNU time's %M,
#   which is getrusage's ru_maxrss: the same counter /proc/<pid>/status shows as VmHWM).
# Usage: bench/queued_rss.sh [BUILD_DIR] [TASKS]   (TASKS a multiple of 1000)
set -euo pipefail
build=${1:-build}
n=${2:-1000000}
drover=$(realpath "$build/drover")
work=$(mktemp -d /tmp/drover-bench-rss.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/job.toml" <<TOML
name = "bench-queued"
[[executors]]
kind = "local"
slots = 1
[sink]
kind = "file"
path = "$work/out"
[[tasks]]
id = "t-{n}"
command = ["sleep", "1000"]
foreach.n = { from = 1, to = $n, step = 1 }
TOML
cat > "$work/grid.toml" <<TOML
name = "bench-grid"
[[tasks]]
id = "t-{a}-{b}"
command = ["sleep", "1000"]
foreach.a = { from = 1, to = 1000 }
foreach.b = { from = 1, to = $((n / 1000)) }
TOML

"$drover" run "$work/job.toml" --state "$work/state" --quiet > /dev/null 2>&1 &
pid=$!
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
# Wait for the first task (its `sleep 1000` child): 60 s per million tasks.
wait_s=$(( 60 * (n + 999999) / 1000000 ))
for _ in $(seq $((wait_s * 10))); do
  pgrep -P "$pid" > /dev/null && break
  sleep 0.1
done
pgrep -P "$pid" > /dev/null || { echo "no task started within $wait_s s" >&2; exit 1; }
# Then until RSS changes by less than 1% over 3 consecutive seconds (at most 60 s).
prev=$(rss); stable=0
for _ in $(seq 60); do
  sleep 1
  cur=$(rss)
  if [ $(( (cur > prev ? cur - prev : prev - cur) * 100 )) -lt "$cur" ]; then stable=$((stable + 1)); else stable=0; fi
  prev=$cur
  [ "$stable" -ge 3 ] && break
done
read -r rss_kb hwm_kb anon_kb file_kb < <(awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} /^RssAnon/ {a=$2} /^RssFile/ {f=$2}
  END {print r, h, a, f}' "/proc/$pid/status")
kill -TERM "$pid"
wait "$pid" || true
pid=
echo "drover run, $n tasks queued (1 running): VmRSS $((rss_kb / 1024)) MiB = $((rss_kb * 1024 / n)) bytes per queued task" \
     "(anonymous $((anon_kb * 1024 / n)), file-backed $((file_kb * 1024 / n)))"
echo "drover run, peak (VmHWM): $((hwm_kb / 1024)) MiB = $((hwm_kb * 1024 / n)) bytes per task"
for f in job grid; do
  /usr/bin/time -o "$work/validate.kb" -f %M "$drover" validate "$work/$f.toml" > "$work/validate.out"
  kb=$(cat "$work/validate.kb")
  echo "drover validate $f.toml ($(sed -n 's/.*ok — job .*, \([0-9]*\) task(s).*/\1/p' "$work/validate.out") tasks), peak (VmHWM): $((kb / 1024)) MiB = $((kb * 1024 / n)) bytes per task"
done
