# Sourced by the S3 benchmarks (s3.sh, checkpoint.sh): a real s3rver on a free loopback port.
# start_s3rver BUILD WORK: installs s3rver into BUILD/tests/s3rver when the tests have not,
# starts it on WORK/data and sets srv_pid, port and endpoint. Its lifeline is a FIFO this
# shell holds open (fd 3), so s3rver exits with the script and leaves nothing behind; the
# caller's EXIT trap kills and waits for "$srv_pid".
start_s3rver() {
  local build=$1 work=$2 here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  local s3dir=$build/tests/s3rver
  if [[ ! -d $s3dir/node_modules/@20minutes/s3rver ]]; then
    mkdir -p "$s3dir"
    cp "$here/../tests/services/s3rver/"{package.json,package-lock.json,start.js} "$s3dir/"
    (cd "$s3dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
  mkdir -p "$work/data"
  mkfifo "$work/lifeline"
  node --openssl-legacy-provider "$s3dir/start.js" 0 "$work/data" bench > "$work/s3rver.out" < "$work/lifeline" &
  srv_pid=$!
  exec 3> "$work/lifeline"
  for _ in $(seq 100); do grep -q ready "$work/s3rver.out" 2>/dev/null && break; sleep 0.1; done
  port=$(awk '/ready/{print $2}' "$work/s3rver.out")
  endpoint=http://127.0.0.1:$port
}
