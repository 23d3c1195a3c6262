#!/usr/bin/env bash
# Benchmark (d): SSH executor. 500 `true` tasks over two sshd hosts on 127.0.0.1, 2 slots
# each: drover vs GNU `parallel --sshlogin` over the same hosts, side by side in one
# hyperfine run. The script starts its own two sshd (temp dir, free ports, loopback only)
# and stops them on exit.
# Usage: bench/ssh.sh [BUILD_DIR] [TASKS]      (RUNS=3 by default)
# Debian's bash sources ~/.bashrc for commands run by sshd; a heavy one (this machine's root
# .bashrc runs `pyenv init`, ~150 ms of CPU) would dominate, and here the "remote" CPU is the
# same 2 cores as the client. The sshd therefore set SHLVL=1, which makes bash skip it, as
# long as LOGIN_RC is not 1.
set -euo pipefail
build=${1:-build}
n=${2:-500}
drover=$(realpath "$build/drover")
. "$(dirname "$0")/sshd-lib.sh"
bench_ssh_init ssh
start_sshds 2
echo "sshd on 127.0.0.1:${ports[0]} and 127.0.0.1:${ports[1]} (pids ${pids[*]})"

ssh_cmd() {  # the ssh command line GNU parallel uses for host $1 (no spaces in $work)
    echo "ssh -F /dev/null -i $work/userkey -o UserKnownHostsFile=$work/known_hosts -o IdentitiesOnly=yes -o BatchMode=yes -p $1 $user@127.0.0.1"
}
$(ssh_cmd "${ports[0]}") true || { echo "cannot ssh to the first sshd" >&2; exit 1; }

cat > "$work/ssh.toml" <<TOML
name = "bench-ssh"
$(ssh_executor_toml "hosts = [\"$user@127.0.0.1:${ports[0]}\", \"$user@127.0.0.1:${ports[1]}\"]" 2)
[sink]
kind = "file"
path = "$work/out"
fsync = false
[[tasks]]
id = "t-{n}"
command = ["true"]
foreach.n = { from = 1, to = $n, step = 1 }
TOML

# A run that silently does nothing would look very fast: check one run's summary first.
timeout -k 5 300 "$drover" run "$work/ssh.toml" --quiet --json --state "$work/state" > "$work/check.json" || true
/usr/bin/python3 - "$work/check.json" "$n" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
if s.get("succeeded") != int(sys.argv[2]):
    sys.exit(f"drover check run failed: {json.dumps(s)[:2000]}")
PY

# "2/" = 2 job slots per host, so parallel does not log in to count CPUs. parallel's `-M`
# (ControlMaster) was tried too: with a custom ssh command it still opened one TCP
# connection per job and was no faster here, so it is not measured.
login0="2/$(ssh_cmd "${ports[0]}")"
login1="2/$(ssh_cmd "${ports[1]}")"
hyperfine --style basic --warmup 1 --runs "${RUNS:-3}" --export-json "$work/result.json" \
  --prepare "rm -rf $work/state $work/out" \
  -n drover "$drover run $work/ssh.toml --quiet --state $work/state" \
  -n "parallel -S" "seq $n | parallel --will-cite -j2 --sshlogin '$login0' --sshlogin '$login1' true"

/usr/bin/python3 - "$work/result.json" "$n" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
d = res["drover"]["median"]
print(f"\n{n} `true` tasks over 2 sshd hosts x 2 slots (median of runs)")
for name, r in res.items():
    m = r["median"]
    print(f"  {name:16s} {m:7.3f} s  {m / n * 1e3:6.2f} ms/task  this/drover = {m / d:5.2f}x")
print(f"parallel --sshlogin vs drover: {res['parallel -S']['median'] / d:.2f}x slower (target >= 5x)")
PY
