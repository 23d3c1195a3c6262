#!/usr/bin/env bash
# Benchmark (f): Docker executor. TASKS (200) one-line tasks (`echo '{"i":N}'`) over two
# dockerd on this machine, 2 slots each, side by side in one run:
#   - drover, warm containers (reuse = "slot": one container per slot, a task = an exec),
#   - drover, cold (a container per task: create, start, logs, remove),
#   - the docker-py master of the seed design (bench/docker_py_master.py: a process per slot
#     pulling from a shared queue, containers.run per task; Debian's python3-docker),
#   - xargs -P4 docker run --rm over the same two daemons (alternating).
# Every run of every runner must leave all TASKS records, or the benchmark stops.
# The script starts its own two daemons (TESTING.md recipe: own data/exec roots, Unix socket
# plus a loopback TCP port, no bridge network), imports a registry-free busybox image with
# scripts/make-image.sh, and stops everything on exit. Needs root, docker.io, busybox-static,
# python3-docker (scripts/install-deps.sh --bench).
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

job() {  # $1 = file, $2 = extra executor keys
    cat > "$1" <<TOML
name = "bench-docker"
state_dir = "$work/state"
[[executors]]
kind = "docker"
hosts = ["${hosts[0]}", "${hosts[1]}"]
slots = 2
default_image = "drover-bench:latest"
$2
[sink]
kind = "file"
path = "$work/out"
fsync = false
[[tasks]]
id = "t-{i}"
command = ["echo", '{{"i":{i}}']
foreach = { i = { from = 1, to = $n } }
TOML
}
job "$work/cold.toml" ""
job "$work/warm.toml" 'reuse = "slot"'

# Each runner leaves its records under $work/out; a run counts only with all N of them.
records() { find "$work/out" -type f -name '*.jsonl*' -exec sh -c 'for f; do case $f in *.gz) zcat "$f";; *) cat "$f";; esac; done' sh {} + | grep -c '"i"' || true; }
check() { local got; got=$(records); [ "$got" = "$n" ] || { echo "$1: $got records, expected $n" >&2; exit 1; }; }
run_drover() {  # $1 = job file
    rm -rf "$work/out" "$work/state"
    "$drover" run "$1" >"$work/drover.log" 2>&1 || { cat "$work/drover.log" >&2; return 1; }
}
run_cold() { run_drover "$work/cold.toml"; }
run_warm() { run_drover "$work/warm.toml"; }
run_master() {
    rm -rf "$work/out"
    /usr/bin/python3 "$here/docker_py_master.py" "${hosts[0]},${hosts[1]}" 2 "$n" drover-bench:latest "$work/out"
}
run_xargs() {
    rm -rf "$work/out"; mkdir -p "$work/out"
    seq "$n" | xargs -P4 -I{} sh -c '
        if [ $(({} % 2)) -eq 0 ]; then h=$1; else h=$2; fi
        exec "$3" -H "$h" run --rm --network none drover-bench:latest echo "{\"i\":{}}" > "$4/{}.jsonl"' \
        sh "${hosts[0]}" "${hosts[1]}" "$docker" "$work/out"
}
now() { date +%s.%N; }
timed() { local t0; t0=$(now); "$@"; echo "$(now) - $t0" | bc -l; }
median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

runners=(cold warm master xargs)
run_xargs >/dev/null  # warm-up: both daemons have run containers before timing starts
for k in "${runners[@]}"; do : > "$work/t_$k"; done
for r in $(seq "$runs"); do
    line="run $r:"
    for k in "${runners[@]}"; do
        timed "run_$k" >> "$work/t_$k"
        check "$k"
        line+=" $k $(tail -1 "$work/t_$k") s"
    done
    echo "$line"
done
left=$(for h in "${hosts[@]}"; do "$docker" -H "$h" ps -aq; done | wc -l)
declare -A med
for k in "${runners[@]}"; do med[$k]=$(median < "$work/t_$k"); done
printf '\n%s one-line tasks (echo) over 2 daemons x 2 slots, median of %s runs:\n' "$n" "$runs"
row() { printf '  %-34s %8.2f s  %6.1f ms/task\n' "$1" "$2" "$(echo "$2 * 1000 / $n" | bc -l)"; }
row "drover, warm (reuse = \"slot\")" "${med[warm]}"
row "drover, cold (a container per task)" "${med[cold]}"
row "docker-py master (containers.run)" "${med[master]}"
row "xargs -P4 docker run --rm" "${med[xargs]}"
ratio() { echo "${med[$1]} / ${med[$2]}" | bc -l; }
printf '  docker-py master / drover warm   %8.2f x   (target >= 3)\n' "$(ratio master warm)"
printf '  drover cold / drover warm        %8.2f x   (target >= 3)\n' "$(ratio cold warm)"
printf '  xargs / drover warm              %8.2f x\n' "$(ratio xargs warm)"
printf '  docker-py master / drover cold   %8.2f x\n' "$(ratio master cold)"
printf '  containers left on the daemons: %s\n' "$left"
