#!/usr/bin/env bash
# Benchmark (e): the news crawl, 365 days of 2018 (~72,000 articles, ~76,500 requests),
# against examples/news_site on loopback, side by side:
#   drover   drover run examples/jobs/news-local.toml (2 slots, file sink, gzip, fsync)
#   nofsync  the same job with the sink's fsync = false
#   xargs    the same crawler commands under `xargs -P 2`, stdout to plain files
# Reports wall time, articles/s and where the CPU time goes (site, crawlers + drover),
# measured with getrusage of each side's process tree and /proc of the site.
# Usage: bench/crawl.sh [BUILD_DIR]     (RUNS=n repeats each side; default 1)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
runs=${RUNS:-1}
site=$build/examples/news_site/news_site
crawler=$build/examples/news_crawler/news_crawler
drover=$build/drover
work=$(mktemp -d /tmp/drover-bench-crawl.XXXXXX)
site_pid=
stop_site() {
  if [[ -n $site_pid ]]; then kill "$site_pid" 2>/dev/null || true; wait "$site_pid" 2>/dev/null || true; site_pid=; fi
}
trap 'stop_site; rm -rf "$work"' EXIT

start_site() {
  rm -f "$work/port"
  "$site" --port 0 --port-file "$work/port" --truth-file "$work/truth.csv" --threads 2 >"$work/site.log" 2>&1 &
  site_pid=$!
  for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.1; done
  export NEWS_BASE_URL="http://127.0.0.1:$(cat "$work/port")"
}
site_cpu() {  # utime + stime of the site in seconds
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$site_pid/stat"
}
# Runs a command, prints "wall user sys" with user/sys of its whole (waited-for) process tree.
measure() {
  /usr/bin/python3 - "$@" <<'PY'
import resource, subprocess, sys, time
t = time.monotonic()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.monotonic() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
if rc != 0:
    sys.exit(f"command failed with exit code {rc}: {sys.argv[1:]}")
print(f"{wall:.2f} {r.ru_utime:.2f} {r.ru_stime:.2f}")
PY
}

export PATH="$(dirname "$crawler"):$PATH"
articles=0
printf '%-8s %8s %10s %12s %12s %10s\n' side wall articles/s "site CPU s" "tasks CPU s" requests
for run in $(seq "$runs"); do
  for side in drover nofsync xargs; do
    rm -rf "$work/run" && mkdir -p "$work/run"
    start_site
    before=$(site_cpu)
    if [[ $side != xargs ]]; then
      job=$root/examples/jobs/news-local.toml
      if [[ $side == nofsync ]]; then
        sed 's/^partition = .*/&\nfsync = false/' "$job" >"$work/news-nofsync.toml"
        job=$work/news-nofsync.toml
      fi
      result=$(cd "$work/run" && measure "$drover" run "$job" --quiet)
      got=$(cd "$work/run" && zcat out/news/*/*.jsonl.gz | wc -l)
    else
      mkdir -p "$work/run/out"
      result=$(cd "$work/run" && measure sh -c "cut -d, -f1 '$work/truth.csv' | tail -n +2 | xargs -P 2 -I{} sh -c 'news_crawler --date {} --rate 0 --concurrency 4 --quiet > out/{}.jsonl'")
      got=$(cat "$work/run"/out/*.jsonl | wc -l)
    fi
    after=$(site_cpu)
    stop_site
    requests=$(sed -n 's/.*stopped after \([0-9]*\) requests.*/\1/p' "$work/site.log")
    articles=$(awk -F, 'FNR > 1 { s += $2 } END { print s }' "$work/truth.csv")
    [[ $got == "$articles" ]] || { echo "bench: $side crawled $got articles, truth $articles" >&2; exit 1; }
    read -r wall user sys <<<"$result"
    awk -v s="$side" -v w="$wall" -v u="$user" -v y="$sys" -v a="$articles" -v b="$before" -v e="$after" -v r="$requests" \
      'BEGIN { printf "%-8s %7.2fs %10.0f %12.2f %12.2f %10d\n", s, w, a / w, e - b, u + y, r }'
    echo "$side $wall" >>"$work/walls"
  done
done
echo "articles per run: $articles (365 days)"
median() { awk -v s="$1" '$1 == s { print $2 }' "$work/walls" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
d=$(median drover) n=$(median nofsync) x=$(median xargs)
awk -v d="$d" -v n="$n" -v x="$x" -v a="$articles" -v runs="$runs" 'BEGIN {
  printf "medians of %d runs: drover %.2fs (%.0f articles/s), drover without fsync %.2fs, xargs -P 2 %.2fs\n", runs, d, a / d, n, x
  printf "wall time vs xargs -P 2: drover %.2f, drover without fsync %.2f\n", d / x, n / x }'
