#!/usr/bin/env bash
# Upload throughput to s3rver: drover's S3 upload path (build/bench/s3_upload: SigV4,
# Content-MD5, payload SHA-256, PutObject/multipart) vs `aws s3 cp --recursive`, the same
# ~200 MiB of gzip files, one run each, side by side against one s3rver.
#   bench/s3.sh [BUILD_DIR] [MiB]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
mib=${2:-200}
work=$(mktemp -d)
trap 'kill "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; rm -rf "$work"' EXIT

. "$here/s3rver-lib.sh"
start_s3rver "$build" "$work"

# ~MiB of gzip files: 40 files of varied sizes (some above the 8 MiB part size: multipart).
mkdir -p "$work/files"
per=$((mib * 1024 * 1024 / 40))
for i in $(seq 1 40); do
  size=$(( per / 2 + (i * 7919 % 40) * per / 40 ))
  head -c "$size" /dev/urandom | base64 -w 200 | gzip -1 > "$work/files/part-$i.jsonl.gz"
done
total=$(du -sb "$work/files" | cut -f1)

export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE

t0=$(date +%s.%N)
"$build/bench/s3_upload" "$work/files" s3://bench/drover "$endpoint" --concurrency 10 > "$work/drover.out"
t1=$(date +%s.%N)
/usr/bin/aws --endpoint-url "$endpoint" s3 cp --recursive --quiet "$work/files" s3://bench/awscli
t2=$(date +%s.%N)

d=$(echo "$t1 - $t0" | bc -l); a=$(echo "$t2 - $t1" | bc -l)
printf 'bytes: %d (%.1f MiB in 40 files)\n' "$total" "$(echo "$total / 1048576" | bc -l)"
printf 'drover s3_upload: %.2f s  %.1f MiB/s\n' "$d" "$(echo "$total / 1048576 / $d" | bc -l)"
printf 'aws s3 cp:        %.2f s  %.1f MiB/s\n' "$a" "$(echo "$total / 1048576 / $a" | bc -l)"
printf 'throughput ratio drover/aws: %.2fx\n' "$(echo "$a / $d" | bc -l)"
# Both uploads must be complete and equal.
n1=$(/usr/bin/aws --endpoint-url "$endpoint" s3 ls --recursive s3://bench/drover/ | wc -l)
n2=$(/usr/bin/aws --endpoint-url "$endpoint" s3 ls --recursive s3://bench/awscli/ | wc -l)
echo "objects: drover=$n1 aws=$n2"
