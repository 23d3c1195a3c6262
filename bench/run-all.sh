#!/usr/bin/env bash
# Runs every benchmark in bench/ against its peer; results go to stdout.
# Record them in docs/benchmarks.md with the machine and date.
set -euo pipefail
build=${1:-build}
here=$(dirname "$0")
echo "== (a) per-task overhead"; "$here/overhead.sh" "$build"
echo; echo "== (b) makespan with heterogeneous durations"
DIST=pareto "$here/makespan.sh" "$build"
DIST=loguniform "$here/makespan.sh" "$build"
echo; echo "== (c) file sink throughput vs raw zlib"; "$build/bench/sink_throughput"
echo; echo "== (e) news crawl, 365 days"; "$here/crawl.sh" "$build"
echo; echo "== journal: 1M tasks (transitions/s, replay, RSS per queued task)"; "$build/bench/journal_bench"
"$here/queued_rss.sh" "$build"
echo; echo "== drover exec vs parallel and xargs -P, 2,000 tiny tasks"; "$here/exec.sh" "$build"
