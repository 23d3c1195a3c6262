#!/usr/bin/env bash
# Checkpoints vs publish-at-end into s3rver (docs/benchmarks.md, "Checkpoints").
#   bench/checkpoint.sh [BUILD_DIR] [DURATION_SECONDS]
# Part 1, latency: one drover run with two streaming tasks side by side, each printing a
# timestamped record every ~100 ms for DURATION seconds; "ckpt" also prints a checkpoint every
# second (sink rotate_interval = "10s"), "plain" prints none (today's publish at the end). A
# poller lists the bucket every 0.5 s and reads each new object; a record's delay is the time
# it was first seen minus the time it was printed. Prints median and p95 per task.
# Part 2, throughput: 400,000 records printed as fast as a task can, with a checkpoint every
# 1,000 records (rotate_interval = "1s") and without, one run each: wall time and records/s.
# Needs /usr/bin/python3 with botocore (Debian python3-botocore) and /usr/bin/aws.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
duration=${2:-600}
work=$(mktemp -d)
trap 'kill "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

. "$here/s3rver-lib.sh"
start_s3rver "$build" "$work"
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE
drover=$build/drover

# The streaming task: $1 = checkpoint every N records (0 = never); a record every ~100 ms.
cat > "$work/stream.py" <<'EOF'
import json, sys, time
every, duration = int(sys.argv[1]), float(sys.argv[2])
start = time.time(); seq = 0
while time.time() - start < duration:
    seq += 1
    print(json.dumps({"seq": seq, "ts": time.time(), "pad": "x" * 200}))
    if every and seq % every == 0:
        print(json.dumps({"$drover": {"checkpoint": str(seq)}}))
    sys.stdout.flush()
    time.sleep(0.1)
EOF
# The poller: the first time each (task, seq) is visible in the bucket.
cat > "$work/poll.py" <<'EOF'
import gzip, json, sys, time, botocore.session
from botocore.config import Config
endpoint, prefix, stop_file, out = sys.argv[1:5]
s3 = botocore.session.get_session().create_client("s3", endpoint_url=endpoint, region_name="us-east-1",
                                                  config=Config(s3={"addressing_style": "path"}))
seen_keys, first = {}, {}
import os
def poll():
    now = time.time()
    token = None
    while True:
        kw = {"Bucket": "bench", "Prefix": prefix}
        if token: kw["ContinuationToken"] = token
        page = s3.list_objects_v2(**kw)
        for o in page.get("Contents", []):
            if seen_keys.get(o["Key"]) == o["ETag"]: continue
            seen_keys[o["Key"]] = o["ETag"]
            body = gzip.decompress(s3.get_object(Bucket="bench", Key=o["Key"])["Body"].read())
            task = o["Key"].split("/")[-1].split("@")[0].split("~")[0].split(".")[0]
            for line in body.splitlines():
                r = json.loads(line)
                first.setdefault((task, r["seq"]), (r["ts"], now))
        if not page.get("IsTruncated"): break
        token = page["NextContinuationToken"]
while not os.path.exists(stop_file):
    poll(); time.sleep(0.5)
poll()
with open(out, "w") as f:
    for (task, seq), (ts, seen) in sorted(first.items()):
        f.write(f"{task} {seq} {seen - ts:.3f}\n")
EOF

cat > "$work/latency.toml" <<EOF
name = "bench-checkpoint"
state_dir = "$work/state1"
[[executors]]
kind = "local"
slots = 2
[sink]
kind = "s3"
path = "s3://bench/latency"
endpoint = "$endpoint"
rotate_interval = "10s"
[[tasks]]
id = "ckpt"
command = ["/usr/bin/python3", "$work/stream.py", "10", "$duration"]
[[tasks]]
id = "plain"
command = ["/usr/bin/python3", "$work/stream.py", "0", "$duration"]
EOF
/usr/bin/python3 "$work/poll.py" "$endpoint" latency/ "$work/stop" "$work/delays" &
poll_pid=$!
t0=$(date +%s.%N)
"$drover" run "$work/latency.toml" --quiet
t1=$(date +%s.%N)
touch "$work/stop"; wait "$poll_pid"
echo "part 1: two streaming tasks of ${duration} s, a record every ~100 ms; run took $(echo "$t1 - $t0" | bc -l | xargs printf '%.1f') s"
for task in ckpt plain; do
  awk -v t=$task '$1 == t {print $3}' "$work/delays" | sort -n > "$work/d.$task"
  n=$(wc -l < "$work/d.$task")
  med=$(awk -v n="$n" 'NR == int((n + 1) / 2) {print; exit}' "$work/d.$task")
  p95=$(awk -v n="$n" 'NR == int(n * 0.95 + 0.999) {print; exit}' "$work/d.$task")
  max=$(tail -1 "$work/d.$task")
  label=$([[ $task == ckpt ]] && echo 'checkpoints, rotate_interval 10s' || echo 'no checkpoints (publish at end)')
  printf '  %-36s records %6d   delay median %7.2f s   p95 %7.2f s   max %7.2f s\n' "$label" "$n" "$med" "$p95" "$max"
done

# Part 2: throughput: records (and checkpoints) as fast as the pipe takes them.
cat > "$work/fast.py" <<'EOF'
import sys
every = int(sys.argv[1]); out = sys.stdout; pad = "x" * 200
for i in range(1, 400001):
    out.write('{"seq":%d,"pad":"%s"}\n' % (i, pad))
    if every and i % every == 0:
        out.write('{"$drover":{"checkpoint":"%d"}}\n' % i)
EOF
fast() {  # $1 = id, $2 = checkpoint every N records (0 = never)
  cat > "$work/fast-$1.toml" <<EOF
name = "bench-fast-$1"
state_dir = "$work/state-$1"
[[executors]]
kind = "local"
slots = 1
[sink]
kind = "s3"
path = "s3://bench/fast"
endpoint = "$endpoint"
rotate_interval = "1s"
[[tasks]]
id = "$1"
command = ["/usr/bin/python3", "$work/fast.py", "$2"]
EOF
  local a b
  a=$(date +%s.%N); "$drover" run "$work/fast-$1.toml" --quiet; b=$(date +%s.%N)
  printf '  %-36s 400000 records in %6.2f s   %8.0f records/s\n' "$3" "$(echo "$b - $a" | bc -l)" "$(echo "400000 / ($b - $a)" | bc -l)"
}
echo "part 2: 400,000 records of ~230 bytes, as fast as possible"
fast ckpt 1000 'checkpoint every 1,000, rotate 1s'
fast plain 0 'no checkpoints (publish at end)'
n=$(/usr/bin/aws --endpoint-url "$endpoint" s3 ls --recursive s3://bench/fast/ | wc -l)
echo "  objects under fast/: $n"
