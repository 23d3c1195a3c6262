"""A real OpenSSH server on 127.0.0.1 for the SshExecutor test (the recipe of
tests/services/sshd.cpp): own temp dir, a free port, a lifeline so sshd dies with this
process, and a stop that kills sshd and everything below it by PID."""

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time

SSHD = "/usr/sbin/sshd"

# Runs "$@" (sshd) and kills it at EOF on fd 3 (the lifeline: closed when the test process dies).
SUPERVISOR = r'''
"$@" 3<&- &
p=$!
{ read -r _; kill -TERM $p; } <&3 >/dev/null 2>&1 &
w=$!
exec 3<&-
wait $p; rc=$?
kill $w 2>/dev/null
exit $rc'''


def available():
    return os.access(SSHD, os.X_OK) and shutil.which("ssh") and shutil.which("ssh-keygen")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _speaks_ssh(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            return s.recv(4) == b"SSH-"
    except OSError:
        return False


def _descendants(root):
    parents = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        parents[int(name)] = int(stat[stat.rfind(")") + 2:].split()[1])
    found = {root}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    found.discard(root)
    return found


def _keygen(path):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "drover-test", "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True)


class Sshd:
    def __init__(self, directory):
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.user = pwd.getpwuid(os.geteuid()).pw_name
        os.makedirs("/run/sshd", exist_ok=True)
        _keygen(directory / "userkey")
        _keygen(directory / "hostkey")
        shutil.copy(directory / "userkey.pub", directory / "authorized_keys")
        (directory / "ssh_config").write_text("")
        self.proc = None
        self.lifeline = None
        for _ in range(5):
            self.port = _free_port()
            if self._spawn():
                break
        else:
            raise RuntimeError("sshd did not start: " + (directory / "sshd.log").read_text()[-2000:])
        host_pub = (directory / "hostkey.pub").read_text().split("\n")[0]
        (directory / "known_hosts").write_text(f"[127.0.0.1]:{self.port} {host_pub}\n")

    def _spawn(self):
        args = [SSHD, "-D", "-e", "-f", "/dev/null", "-p", str(self.port), "-h", str(self.dir / "hostkey"),
                "-o", "ListenAddress=127.0.0.1", "-o", f"AuthorizedKeysFile={self.dir / 'authorized_keys'}",
                "-o", f"PidFile={self.dir / 'sshd.pid'}", "-o", "StrictModes=no",
                "-o", "PasswordAuthentication=no", "-o", "KbdInteractiveAuthentication=no", "-o", "UsePAM=no",
                "-o", "PermitRootLogin=prohibit-password", "-o", "LogLevel=ERROR", "-o", "SetEnv=SHLVL=1"]
        r, w = os.pipe()
        log = open(self.dir / "sshd.log", "ab")
        self.proc = subprocess.Popen(["/bin/sh", "-c", SUPERVISOR, "sshd-supervisor", *args], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=log, pass_fds=(r,),
                                     preexec_fn=lambda: os.dup2(r, 3))
        os.close(r)
        log.close()
        self.lifeline = w
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                return False
            if _speaks_ssh(self.port):
                return True
            time.sleep(0.02)
        self.stop()
        return False

    def executor_options(self):
        return dict(identity=str(self.dir / "userkey"), config_file=str(self.dir / "ssh_config"),
                    ssh_options=[f"UserKnownHostsFile={self.dir / 'known_hosts'}", "IdentitiesOnly=yes",
                                 "LogLevel=ERROR"],
                    connect_timeout=3, kill_grace=0.5, reprobe_initial=0.2, reprobe_max=1, down_timeout=10)

    @property
    def host(self):
        return f"{self.user}@127.0.0.1:{self.port}"

    def stop(self):
        if self.proc is None:
            return
        root = self.proc.pid
        try:
            os.kill(root, signal.SIGSTOP)
            frozen = set()
            for _ in range(100):
                fresh = _descendants(root) - frozen
                if not fresh:
                    break
                for pid in fresh:
                    os.kill(pid, signal.SIGSTOP)
                frozen |= fresh
                time.sleep(0.005)
            for pid in frozen:
                os.kill(pid, signal.SIGKILL)
            os.kill(root, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.proc = None
        if self.lifeline is not None:
            os.close(self.lifeline)
            self.lifeline = None
