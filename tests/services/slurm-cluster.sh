#!/bin/sh
# A real single-node Slurm cluster in a directory, for the Slurm executor's tests and benchmark:
# munged, slurmctld and slurmd (Debian slurm-wlm, munge), private ports, everything under DIR.
#
#   slurm-cluster.sh start DIR [MEMORY_MB]   prints SLURM_CONF=DIR/slurm.conf when the node is idle
#   slurm-cluster.sh stop DIR                stops the daemons (jobs die with slurmd)
#
# Exit 2: Slurm or munge is not installed. Exit 1: it did not come up (the logs are printed).
set -eu
# A sanitizer build's test preloads its runtime into every child; the daemons and tools are not
# built for it (dd aborts on ASan's aligned_alloc check), so they start without it.
unset LD_PRELOAD

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR [MEMORY_MB]" >&2; exit 64; }

stop() {
    # Jobs first, while the controller can still cancel them; then the daemons.
    if [ -f "$dir/slurm.conf" ] && [ -f "$dir/slurmctld.pid" ]; then
        SLURM_CONF="$dir/slurm.conf" scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
    fi
    # slurmstepd outlives slurmd: kill the steps whose scripts come from this cluster's spool.
    for pid in $(pgrep -f "$dir/spool/" 2>/dev/null || true); do
        ppid=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null || true)
        case "$(cat "/proc/$ppid/comm" 2>/dev/null || true)" in slurmstepd) kill -9 "$ppid" 2>/dev/null || true ;; esac
        kill -9 "$pid" 2>/dev/null || true
    done
    for p in slurmd slurmctld munged; do
        f="$dir/$p.pid"
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null || true)
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    # slurmd's job steps (slurmstepd) outlive it: kill what still runs from this cluster's spool.
    for p in slurmd slurmctld munged; do
        f="$dir/$p.pid"
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null || true)
        i=0
        while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
        rm -f "$f"
    done
}

if [ "$cmd" = stop ]; then
    stop
    exit 0
fi
[ "$cmd" = start ] || { echo "usage: $0 start|stop DIR [MEMORY_MB]" >&2; exit 64; }

for prog in munged slurmctld slurmd sbatch squeue scancel scontrol sinfo; do
    command -v "$prog" >/dev/null 2>&1 || [ -x "/usr/sbin/$prog" ] || {
        echo "slurm-cluster: $prog not found (needs Debian slurm-wlm and munge)" >&2
        exit 2
    }
done
[ "$(id -u)" = 0 ] || { echo "slurm-cluster: needs root (slurmd runs jobs as their users)" >&2; exit 2; }

mem=${3:-2000}
mkdir -p "$dir/state" "$dir/spool" "$dir/munge" "$dir/log"
dir=$(cd "$dir" && pwd)
# munged runs as user munge: every directory on its path must be traversable.
d=$dir
while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
chown munge "$dir/munge"
chmod 700 "$dir/munge"
if [ ! -f "$dir/munge/munge.key" ]; then
    dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    chown munge "$dir/munge/munge.key"
    chmod 400 "$dir/munge/munge.key"
fi

# Free loopback ports for the controller and the node daemon.
ports=$(/usr/bin/python3 -c '
import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
set -- $ports
host=$(hostname -s)
cat >"$dir/slurm.conf" <<EOF
ClusterName=drovertest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.sock
CredType=cred/munge
SlurmctldPort=$1
SlurmdPort=$2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
JobAcctGatherParams=OverMemoryKill
DefMemPerCPU=64
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MinJobAge=600
MaxJobCount=100000
KillWait=2
InactiveLimit=0
SlurmdTimeout=30
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:16
PartitionName=small Nodes=$host MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$dir/slurm.conf"

runuser -u munge -- /usr/sbin/munged --key-file="$dir/munge/munge.key" --socket="$dir/munge/munge.sock" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/seed" --force \
    </dev/null >>"$dir/log/munged.out" 2>&1
cp "$dir/munge/munged.pid" "$dir/munged.pid" 2>/dev/null || true
# The daemons keep no descriptor of the caller's: one that captures this script's output
# (a test's pipe) must see EOF when the script exits.
/usr/sbin/slurmctld -f "$dir/slurm.conf" -i </dev/null >>"$dir/log/slurmctld.out" 2>&1
/usr/sbin/slurmd -f "$dir/slurm.conf" </dev/null >>"$dir/log/slurmd.out" 2>&1

i=0
while :; do
    state=$(sinfo -h -o %t 2>/dev/null | head -n1 || true)
    case "$state" in idle|mix|alloc) break ;; esac
    i=$((i + 1))
    if [ $i -gt 200 ]; then
        echo "slurm-cluster: the node did not become idle (sinfo: '$state')" >&2
        tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" "$dir/munge/munged.log" >&2 2>/dev/null || true
        stop
        exit 1
    fi
    sleep 0.1
done
echo "SLURM_CONF=$dir/slurm.conf"
