#!/usr/bin/env bash
# Benchmark (a): per-task overhead. 5,000 `/bin/true` tasks on 2 slots:
# drover vs `xargs -P2` vs GNU `parallel -j2`, side by side in one hyperfine run.
# Usage: bench/overhead.sh [BUILD_DIR] [TASKS]
set -euo pipefail
build=${1:-build}
n=${2:-5000}
drover=$(realpath "$build/drover")
work=$(mktemp -d /tmp/drover-bench-overhead.XXXXXX)
trap 'rm -rf "$work"' EXIT

cat > "$work/true.toml" <<TOML
name = "bench-true"
[[executors]]
kind = "local"
slots = 2
[sink]
kind = "file"
path = "$work/out"
fsync = false
[[tasks]]
id = "t-{n}"
command = ["/bin/true"]
foreach.n = { from = 1, to = $n, step = 1 }
TOML

# BASELINE=/path/to/an/older/drover adds it to the same hyperfine run ("drover baseline").
baseline_args=()
if [ -n "${BASELINE:-}" ]; then
  baseline_args=(-n "drover baseline" "$(realpath "$BASELINE") run $work/true.toml --quiet --state $work/state-baseline")
fi
hyperfine --style basic --warmup 1 --runs "${RUNS:-5}" --export-json "$work/result.json" \
  --prepare "rm -rf $work/state $work/state-baseline $work/out" \
  -n drover "$drover run $work/true.toml --quiet --state $work/state" \
  "${baseline_args[@]}" \
  -n "xargs -P2" "seq $n | xargs -P2 -n1 /bin/true" \
  -n "parallel -j2" "seq $n | parallel --will-cite -j2 /bin/true"

/usr/bin/python3 - "$work/result.json" "$n" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
d = res["drover"]["median"]
print(f"\nper-task overhead, {n} tasks, 2 slots (median of runs)")
for name, r in res.items():
    m = r["median"]
    print(f"  {name:14s} {m:7.3f} s  {m / n * 1e6:7.1f} us/task  drover/this = {d / m:5.2f}x")
print(f"drover vs xargs:    {d / res['xargs -P2']['median']:.2f}x the time (target <= 1.2x)")
print(f"parallel vs drover: {res['parallel -j2']['median'] / d:.2f}x slower (target >= 5x)")
PY
