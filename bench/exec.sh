#!/usr/bin/env bash
# Benchmark: `drover exec` against GNU `parallel` and `xargs -P` on the same ad-hoc work,
# side by side in one hyperfine run. N tasks `printf '{"i":%s}\n' I` (I = 1..N from stdin
# lines), 4 at a time, their output kept in a file:
#   drover exec --out    records to gzip files, journal, exactly once (fsync on commit)
#   drover exec          records to stdout, grouped per task, journal
#   parallel -j 4        output grouped per job (its default), through a shell per job
#   xargs -P 4           output interleaved as it comes, no shell
# Usage: bench/exec.sh [BUILD_DIR] [N]   (RUNS=5 by default)
set -euo pipefail
build=${1:-build}
n=${2:-2000}
drover=$(realpath "$build/drover")
work=$(mktemp -d /tmp/drover-bench-exec.XXXXXX)
trap 'rm -rf "$work"' EXIT
seq "$n" > "$work/args"

hyperfine --style basic --warmup 1 --runs "${RUNS:-5}" --export-json "$work/result.json" \
  --prepare "rm -rf $work/state $work/out $work/stdout.txt" \
  -n "drover exec --out" "$drover exec -j 4 -q --state $work/state --out $work/out -- printf '{\"i\":%s}\n' < $work/args" \
  -n "drover exec (stdout)" "$drover exec -j 4 -q --state $work/state -- printf '{\"i\":%s}\n' < $work/args > $work/stdout.txt" \
  -n "parallel -j 4" "parallel --will-cite -j 4 printf \"'{\\\"i\\\":%s}\\\\n'\" < $work/args > $work/stdout.txt" \
  -n "xargs -P 4" "xargs -P 4 -n 1 printf '{\"i\":%s}\n' < $work/args > $work/stdout.txt"

# Every runner did the work: N records each (checked once more after the timed runs).
rm -rf "$work/state" "$work/out"
"$drover" exec -j 4 -q --state "$work/state" --out "$work/out" -- printf '{"i":%s}\n' < "$work/args" 2>/dev/null
test "$(find "$work/out" -name '*.jsonl.gz' | xargs zcat | wc -l)" = "$n"
parallel --will-cite -j 4 printf "'{\"i\":%s}\\n'" < "$work/args" > "$work/p.txt"
test "$(grep -c '^{"i":[0-9]*}$' "$work/p.txt")" = "$n"
xargs -P 4 -n 1 printf '{"i":%s}\n' < "$work/args" > "$work/x.txt"
test "$(grep -c '^{"i":[0-9]*}$' "$work/x.txt")" = "$n"

/usr/bin/python3 - "$work/result.json" "$n" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
d = res["drover exec --out"]["median"]
print(f"\n{n} tasks, 4 at a time (median of runs)")
for name, r in res.items():
    m = r["median"]
    print(f"  {name:22s} {m:7.3f} s  {m / n * 1e3:6.2f} ms/task  drover --out / this = {d / m:5.2f}x")
PY
