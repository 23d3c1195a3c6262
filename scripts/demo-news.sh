#!/usr/bin/env bash
# `make demo`: the news pipeline end to end on this machine.
#   1. start examples/news_site on a free loopback port (it writes the true counts),
#   2. crawl all 365 days of 2018 with `drover run examples/jobs/news-local.toml`,
#   3. aggregate with drover_aggregate (one drover task per partition, then a merge),
#   4. check every day's count against the site's truth, and stop the site
#      (also on failure and Ctrl-C).
# Usage: scripts/demo-news.sh [BUILD_DIR]   (run from anywhere; output goes to ./out)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
cd "$root"

site=$build/examples/news_site/news_site
crawler_dir=$build/examples/news_crawler
aggregate=$build/examples/aggregate/drover_aggregate
drover=$build/drover
for bin in "$site" "$crawler_dir/news_crawler" "$aggregate" "$drover"; do
  [[ -x $bin ]] || { echo "demo: $bin is missing; build first (make build)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/drover-demo.XXXXXX")
site_pid=
cleanup() {
  if [[ -n $site_pid ]] && kill -0 "$site_pid" 2>/dev/null; then
    kill "$site_pid" 2>/dev/null || true
    wait "$site_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted; news site stopped" >&2; exit 130' INT TERM

now() { date +%s.%N; }
t0=$(now)

# 1. The site. --port 0 picks a free port; the site writes it once it listens.
"$site" --port 0 --port-file "$work/port" --truth-file "$work/truth.csv" --threads 2 >"$work/site.log" 2>&1 &
site_pid=$!
for _ in $(seq 100); do
  [[ -s $work/port ]] && break
  kill -0 "$site_pid" 2>/dev/null || { cat "$work/site.log" >&2; echo "demo: the news site did not start" >&2; exit 1; }
  sleep 0.1
done
[[ -s $work/port ]] || { echo "demo: the news site did not report its port within 10 s" >&2; exit 1; }
export NEWS_BASE_URL="http://127.0.0.1:$(cat "$work/port")"
export PATH="$crawler_dir:$PATH"
echo "demo: news site on $NEWS_BASE_URL (pid $site_pid)"

# 2. The crawl: a fresh run every time.
rm -rf out/news out/news-report .drover/news
echo "demo: crawling 365 days of 2018 with: drover run examples/jobs/news-local.toml"
t1=$(now)
crawl_status=0
"$drover" run examples/jobs/news-local.toml || crawl_status=$?
t2=$(now)
if ((crawl_status != 0)); then
  echo "demo: FAILED: drover run exited with $crawl_status (see .drover/news/runs/latest/)" >&2
  exit 1
fi

# 3. Aggregate.
echo "demo: aggregating"
"$aggregate" --input out/news --output out/news-report
t3=$(now)

# 4. Check against the truth: every date, articles == truth and no duplicate records.
mismatches=$(awk -F, '
  FNR == 1 { next }
  NR == FNR { truth[$1] = $2; next }
  { seen[$1] = 1
    if (!($1 in truth)) { print "  " $1 ": not in the truth"; next }
    if ($3 != truth[$1]) print "  " $1 ": crawled " $3 ", truth " truth[$1]
    if ($4 != $3) print "  " $1 ": " $4 " records for " $3 " articles (duplicates)" }
  END { for (d in truth) if (!(d in seen)) print "  " d ": missing" }' "$work/truth.csv" out/news-report/counts.csv)
days=$(awk -F, 'FNR > 1 { n++ } END { print n + 0 }' "$work/truth.csv")
articles=$(awk -F, 'FNR > 1 { s += $2 } END { print s + 0 }' "$work/truth.csv")
if [[ -n $mismatches ]]; then
  echo "demo: FAILED: the crawl does not match the site's truth:" >&2
  echo "$mismatches" | head -20 >&2
  exit 1
fi

kill "$site_pid" && wait "$site_pid" 2>/dev/null || true
site_pid=
t4=$(now)
awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v t4="$t4" -v days="$days" -v n="$articles" 'BEGIN {
  printf "\ndemo: OK: %d articles over %d days, every day equal to the site'\''s truth\n", n, days
  printf "demo: elapsed %.1f s (crawl %.1f s = %.0f articles/s, aggregate %.1f s)\n", t4 - t0, t2 - t1, n / (t2 - t1), t3 - t2 }'
echo "demo: crawl output  out/news/date=2018-MM-DD/crawl-2018-MM-DD.jsonl.gz"
echo "demo: counts        out/news-report/counts.csv"
echo "demo: charts        out/news-report/articles-per-day.svg  out/news-report/articles-per-month.svg"
