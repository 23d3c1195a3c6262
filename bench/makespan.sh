#!/usr/bin/env bash
# Benchmark (b): makespan with heterogeneous task durations. 400 sleep tasks, 10-400 ms,
# heavy-tailed (seeded), on 4 slots, measured side by side (hyperfine) with:
#   - a static equal split (4 chunks of 100: the hand-rolled "one process per machine" way);
#   - ref fifo: the least-overhead pull scheduler (build/bench/makespan_ref: posix_spawnp and
#     waitpid, nothing else), tasks in submission order, as drover takes them;
#   - ref lpt: the same, longest task first, knowing every task's measured length (an oracle);
#   - drover history: a second run of the job (--fresh) on a state directory whose journal
#     holds a first run's attempts: longest expected first (task_order::history);
#   - drover wrong history: the same with the first run's durations shuffled among the tasks.
# "drover" runs on an empty state directory each time: no history, submission order (FIFO).
# Two lower bounds max(total/slots, longest):
#   - nominal: over the `sleep` arguments;
#   - measured: over each task's real length, run alone (spawn to reap, median of REPS=3),
#     which includes starting the `sleep` program and the kernel's timer overshoot.
# Two workloads: DIST=pareto (alpha 1.2, 10 ms minimum, capped at 400 ms; mean ~35 ms) and
# DIST=loguniform (log-uniform on 10..400 ms; mean ~110 ms).
# Usage: [DIST=pareto|loguniform] [RUNS=3] [REPS=3] bench/makespan.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
dist=${DIST:-pareto}
drover=$(realpath "$build/drover")
ref=$(realpath "$build/bench/makespan_ref")
work=$(mktemp -d /tmp/drover-bench-makespan.XXXXXX)
trap 'rm -rf "$work"' EXIT
slots=4

/usr/bin/python3 - "$work" "$slots" "$dist" <<'PY'
import math, random, sys
work, slots, dist = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rng = random.Random(20181231)
if dist == "pareto":
    # Pareto(alpha=1.2) scaled to a 10 ms minimum, capped at 400 ms.
    durs = [min(400, int(10 / (1 - rng.random()) ** (1 / 1.2))) for _ in range(400)]
elif dist == "loguniform":
    durs = [int(math.exp(rng.uniform(math.log(10), math.log(400)))) for _ in range(400)]
else:
    sys.exit(f"unknown DIST {dist}")
with open(f"{work}/durations", "w") as f:
    f.write("\n".join(str(d) for d in durs) + "\n")
with open(f"{work}/job.toml", "w") as f:
    f.write(f'name = "bench-makespan"\n[[executors]]\nkind = "local"\nslots = {slots}\n')
    f.write(f'[sink]\nkind = "file"\npath = "{work}/out"\nfsync = false\n')
    for i, d in enumerate(durs):
        f.write(f'[[tasks]]\nid = "s{i:03d}"\ncommand = ["sleep", "{d / 1000:.3f}"]\n')
with open(f"{work}/commands", "w") as f:
    f.write("".join(f"sleep {d / 1000:.3f}\n" for d in durs))
chunk = len(durs) // slots
with open(f"{work}/static.sh", "w") as f:
    for c in range(slots):
        part = durs[c * chunk:(c + 1) * chunk]
        f.write("( " + "; ".join(f"sleep {d / 1000:.3f}" for d in part) + " ) &\n")
    f.write("wait\n")
total = sum(durs) / 1000
bound = max(total / slots, max(durs) / 1000)
static_model = max(sum(durs[c * chunk:(c + 1) * chunk]) for c in range(slots)) / 1000
with open(f"{work}/model", "w") as f:
    f.write(f"{total} {bound} {static_model} {max(durs)} {sum(durs)/len(durs)}\n")
PY
read -r total bound static_model longest mean < "$work/model"

# Each task's real length: run alone, one after another (REPS times, median).
"$ref" --measure "$work/measured" --reps "${REPS:-3}" < "$work/commands"

# The history: one first run. The wrong history: its durations shuffled among the tasks.
"$drover" run "$work/job.toml" --quiet --state "$work/state-hist" > /dev/null
rm -rf "$work/out"
cp -a "$work/state-hist" "$work/state-wrong-base"
/usr/bin/python3 - "$work/state-wrong-base/journal.db" <<'PY'
import random, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT run_id, task_id, attempt, elapsed_ms FROM attempts").fetchall()
ms = [r[3] for r in rows]
random.Random(7).shuffle(ms)
db.executemany("UPDATE attempts SET elapsed_ms=? WHERE run_id=? AND task_id=? AND attempt=?",
               [(m, r[0], r[1], r[2]) for m, r in zip(ms, rows)])
db.commit()
PY

# BASELINE=/path/to/an/older/drover adds it to the same hyperfine run ("drover baseline").
clean="rm -rf $work/out"
baseline_args=()
if [ -n "${BASELINE:-}" ]; then
  baseline_args=(--prepare "$clean $work/state-baseline"
                 -n "drover baseline" "$(realpath "$BASELINE") run $work/job.toml --quiet --state $work/state-baseline")
fi
hyperfine --style basic --runs "${RUNS:-3}" --export-json "$work/result.json" \
  --prepare "$clean $work/state" -n drover "$drover run $work/job.toml --quiet --state $work/state" \
  --prepare "$clean" -n "drover history" "$drover run $work/job.toml --quiet --fresh --state $work/state-hist" \
  --prepare "$clean $work/state-wrong && cp -a $work/state-wrong-base $work/state-wrong" \
  -n "drover wrong history" "$drover run $work/job.toml --quiet --fresh --state $work/state-wrong" \
  "${baseline_args[@]}" \
  --prepare "$clean" -n "static split" "sh $work/static.sh" \
  --prepare "$clean" -n "ref fifo" "$ref --slots $slots --order fifo < $work/commands" \
  --prepare "$clean" -n "ref lpt" "$ref --slots $slots --order lpt --durations $work/measured < $work/commands"

/usr/bin/python3 - "$work/result.json" "$total" "$bound" "$static_model" "$longest" "$mean" "$work/measured" "$dist" "$slots" <<'PY'
import json, sys
res = {r["command"]: r["median"] for r in json.load(open(sys.argv[1]))["results"]}
total, bound, static_model, longest, mean = map(float, sys.argv[2:7])
measured = [float(x) for x in open(sys.argv[7])]
dist, slots = sys.argv[8], int(sys.argv[9])
m_total, m_longest = sum(measured), max(measured)
m_bound = max(m_total / slots, m_longest)
n = len(measured)
print(f"\n{dist}: {n} tasks, {slots} slots")
print(f"  nominal (sleep arguments): total {total:.3f} s, mean {mean:.1f} ms, longest {longest:.0f} ms")
print(f"  measured (each task alone): total {m_total:.3f} s, mean {m_total / n * 1000:.1f} ms, "
      f"longest {m_longest * 1000:.1f} ms; {(m_total - total) / n * 1000:.2f} ms per task over its sleep")
print(f"  nominal bound  max(total/{slots}, longest) = {bound:.3f} s")
print(f"  measured bound max(total/{slots}, longest) = {m_bound:.3f} s")
print(f"  static split, model over sleep arguments = {static_model:.3f} s")
print(f"  {'runner (median)':16s} {'makespan':>9s} {'vs nominal':>11s} {'vs measured':>12s}")
for name, m in res.items():
    print(f"  {name:16s} {m:8.3f}s {(m / bound - 1) * 100:+10.1f}% {(m / m_bound - 1) * 100:+11.1f}%")
d = res["drover"]
print(f"drover vs the measured bound: {(d / m_bound - 1) * 100:+.1f}% (target within 5%: "
      f"{'met' if d <= 1.05 * m_bound else 'NOT met'})")
print(f"drover vs the nominal bound:  {(d / bound - 1) * 100:+.1f}% (target within 5%: "
      f"{'met' if d <= 1.05 * bound else 'NOT met'})")
print(f"drover vs ref fifo: {(d / res['ref fifo'] - 1) * 100:+.1f}%; vs the ref lpt oracle: {(d / res['ref lpt'] - 1) * 100:+.1f}%; "
      f"static split / drover: {res['static split'] / d:.2f}x")
h, w, lpt = res["drover history"], res["drover wrong history"], res["ref lpt"]
print(f"drover history vs the ref lpt oracle: {(h / lpt - 1) * 100:+.1f}% (target within 1%: "
      f"{'met' if h <= 1.01 * lpt else 'NOT met'}); vs drover without history: {(h / d - 1) * 100:+.1f}%")
print(f"drover wrong history vs drover without history (FIFO): {(w / d - 1) * 100:+.1f}% (target no worse: "
      f"{'met' if w <= d else 'NOT met'})")
PY
