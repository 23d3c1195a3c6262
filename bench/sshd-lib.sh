# Starts sshd instances on 127.0.0.1 for the SSH benchmarks (sourced by bench/ssh.sh,
# bench/elastic_join.sh and bench/speculation.sh). bench_ssh_init NAME makes $work (a temp dir
# without spaces) and an EXIT trap that stops the sshds and removes $work (KEEP=1 keeps it);
# start_sshds fills pids[], ports[], $work/userkey and $work/known_hosts; ssh_executor_toml
# prints an [[executors]] table for them.
#
#   bench_ssh_init NAME
#   start_sshds COUNT
#   ssh_executor_toml 'hosts = [...]' SLOTS_PER_HOST

sshd=/usr/sbin/sshd
user=$(id -un)

bench_ssh_init() {
    work=$(mktemp -d "/tmp/drover-bench-$1.XXXXXX")
    pids=()
    trap bench_ssh_cleanup EXIT
}

bench_ssh_cleanup() {
    stop_sshds
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}

# The SSH executor over the sshds: $1 = its hosts key line, $2 = slots per host.
ssh_executor_toml() {
    cat <<TOML
[[executors]]
kind = "ssh"
$1
slots = $2
identity = "$work/userkey"
config_file = "/dev/null"
ssh_options = ["UserKnownHostsFile=$work/known_hosts", "IdentitiesOnly=yes"]
TOML
}

stop_sshds() {
    # Sessions still open are children of the listener; stop them first, by parent pid.
    for p in "${pids[@]}"; do pkill -KILL -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}

free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits (up to ~5 s) until 127.0.0.1:$1 answers with an SSH version line.
wait_ssh() {
    for _ in $(seq 50); do
        if timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && head -c4 <&3" 2>/dev/null | grep -q SSH-; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

start_sshds() {
    mkdir -p /run/sshd  # sshd's privilege-separation directory
    ssh-keygen -q -t ed25519 -N '' -C drover-bench -f "$work/userkey"
    cp "$work/userkey.pub" "$work/authorized_keys"
    : > "$work/known_hosts"
    setenv="-o SetEnv=SHLVL=1"
    [ "${LOGIN_RC:-0}" = 1 ] && setenv=
    ports=()
    for ((i = 0; i < $1; i++)); do
        ssh-keygen -q -t ed25519 -N '' -C drover-bench -f "$work/hostkey$i"
        up=
        for _ in 1 2 3 4 5; do  # a free port can be taken before sshd binds it: retry
            port=$(free_port)
            "$sshd" -D -e -f /dev/null -p "$port" -h "$work/hostkey$i" \
                -o ListenAddress=127.0.0.1 -o AuthorizedKeysFile="$work/authorized_keys" \
                -o PidFile="$work/sshd$i.pid" -o StrictModes=no -o PasswordAuthentication=no \
                -o KbdInteractiveAuthentication=no -o UsePAM=no -o PermitRootLogin=prohibit-password \
                -o LogLevel=ERROR -o MaxSessions=64 -o MaxStartups=100 $setenv \
                </dev/null >>"$work/sshd$i.log" 2>&1 &
            pid=$!
            if wait_ssh "$port" && kill -0 "$pid" 2>/dev/null; then up=1; break; fi
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        done
        [ -n "$up" ] || { echo "sshd $i did not start:" >&2; cat "$work/sshd$i.log" >&2; exit 1; }
        pids+=("$pid")
        ports+=("$port")
        echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$work/hostkey$i.pub")" >> "$work/known_hosts"
    done
}
