#!/usr/bin/env bash
# Benchmark (e): Docker executor. TASKS (200) tiny containers (`true`) over two dockerd on
# this machine, 2 slots each: drover (`drover run`, Engine API) vs
# `xargs -P4 docker run --rm` over the same two daemons (alternating), in one run.
# The script starts its own two daemons (TESTING.md recipe: own data/exec roots, Unix socket
# plus a loopback TCP port, no bridge network), imports a registry-free busybox image with
# scripts/make-image.sh, and stops everything on exit. Needs root, docker.io, busybox-static.
# Usage: bench/docker.sh [BUILD_DIR] [TASKS]      (RUNS=3 by default; medians reported)
set -euo pipefail
build=${1:-build}
n=${2:-200}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
drover=$(realpath "$build/drover")
docker=/usr/bin/docker
[ -x "$docker" ] || docker=$(command -v docker)
work=$(mktemp -d /tmp/drover-bench-docker.XXXXXX)
sup=()
cleanup() {
    for i in 0 1; do
        [ -f "$work/d$i/pid" ] && kill -TERM "$(cat "$work/d$i/pid")" 2>/dev/null || true
    done
    for p in "${sup[@]}"; do wait "$p" 2>/dev/null || true; done
    # Each dockerd's containerd (and any shim) exits after it and may still write under exec/:
    # wait for every process whose command line names our work directory, then kill the rest.
    # ("[/]tmp/..." matches the path but not grep's own command line.)
    ours() { grep -ls -- "[${work:0:1}]${work:1}/" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3 || true; }
    for _ in $(seq 100); do [ -z "$(ours)" ] && break; sleep 0.1; done
    for p in $(ours); do kill -KILL "$p" 2>/dev/null || true; done
    sleep 0.2
    # dockerd leaves overlay/netns mounts when it dies hard; remove them before the files.
    { grep -o " $work/[^ ]*" /proc/self/mountinfo || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    for _ in 1 2 3 4 5; do rm -rf "$work" 2>/dev/null && break; sleep 0.5; done
}
trap cleanup EXIT

free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

hosts=()
for i in 0 1; do
    d=$work/d$i
    mkdir -p "$d"
    echo '{}' > "$d/daemon.json"
    port=$(free_port)
    dockerd --config-file "$d/daemon.json" --bridge=none --iptables=false --ip-masq=false \
        --data-root "$d/data" --exec-root "$d/exec" --pidfile "$d/pid" \
        -H "unix://$d/docker.sock" -H "tcp://127.0.0.1:$port" --log-level warn >"$d/log" 2>&1 &
    sup+=($!)
    hosts+=("tcp://127.0.0.1:$port")
done
for i in 0 1; do
    for _ in $(seq 120); do
        curl -s -m 2 --unix-socket "$work/d$i/docker.sock" http://localhost/_ping 2>/dev/null | grep -q OK && break
        sleep 0.5
    done
    curl -s -m 2 --unix-socket "$work/d$i/docker.sock" http://localhost/_ping | grep -q OK ||
        { echo "dockerd $i did not start:" >&2; tail -20 "$work/d$i/log" >&2; exit 1; }
done
echo "dockerd on ${hosts[0]} and ${hosts[1]}"
DOCKER=$docker "$here/../scripts/make-image.sh" -t drover-bench:latest -H "${hosts[0]}" -H "${hosts[1]}" >/dev/null

cat > "$work/docker.toml" <<TOML
name = "bench-docker"
state_dir = "$work/state"
[[executors]]
kind = "docker"
hosts = ["${hosts[0]}", "${hosts[1]}"]
slots = 2
default_image = "drover-bench:latest"
[sink]
kind = "file"
path = "$work/out"
[[tasks]]
id = "t-{i}"
command = ["true"]
foreach = { i = { from = 1, to = $n } }
TOML

run_drover() { "$drover" run "$work/docker.toml" >"$work/drover.log" 2>&1 || { cat "$work/drover.log" >&2; return 1; }; }
run_xargs() {
    seq "$n" | xargs -P4 -I{} sh -c '
        if [ $(({} % 2)) -eq 0 ]; then h=$1; else h=$2; fi
        exec "$3" -H "$h" run --rm --network none drover-bench:latest true' sh "${hosts[0]}" "${hosts[1]}" "$docker"
}
now() { date +%s.%N; }
timed() { local t0; t0=$(now); "$@"; echo "$(now) - $t0" | bc -l; }
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

run_xargs >/dev/null  # warm-up: both daemons have run containers before timing starts
: > "$work/t_drover"; : > "$work/t_xargs"
for r in $(seq "$runs"); do
    timed run_drover >> "$work/t_drover"
    timed run_xargs >> "$work/t_xargs"
    echo "run $r: drover $(tail -1 "$work/t_drover") s, xargs $(tail -1 "$work/t_xargs") s"
done
left=$(for h in "${hosts[@]}"; do "$docker" -H "$h" ps -aq; done | wc -l)
md=$(median < "$work/t_drover")
mx=$(median < "$work/t_xargs")
printf '\n%s tiny containers over 2 daemons x 2 slots, median of %s runs:\n' "$n" "$runs"
printf '  drover (Engine API)           %8.2f s  %6.1f ms/task\n' "$md" "$(echo "$md * 1000 / $n" | bc -l)"
printf '  xargs -P4 docker run --rm     %8.2f s  %6.1f ms/task\n' "$mx" "$(echo "$mx * 1000 / $n" | bc -l)"
printf '  drover / xargs                %8.2f x\n' "$(echo "$md / $mx" | bc -l)"
printf '  containers left on the daemons: %s\n' "$left"
