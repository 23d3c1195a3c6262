"""A real s3rver on 127.0.0.1 for the S3Sink / read_output tests, the way
tests/services/s3rver.cpp starts it: `npm ci` of tests/services/s3rver/ into the build tree
(DROVER_S3RVER_DIR, shared with the C++ fixture, once, under a file lock), then
`node --openssl-legacy-provider start.js 0 <data> <bucket>` on a free port. start.js exits
when its stdin closes, so the server cannot outlive the test process; stop() kills it by PID."""

import fcntl
import os
import shutil
import subprocess
import tempfile

ACCESS_KEY = "S3RVER"
SECRET_KEY = "S3RVER"
REGION = "us-east-1"

SOURCE_DIR = os.environ.get("DROVER_S3RVER_SOURCE",
                            os.path.join(os.path.dirname(__file__), "..", "services", "s3rver"))
INSTALL_DIR = os.environ.get("DROVER_S3RVER_DIR", "")


def unavailable():
    """Why s3rver cannot run here ("" when it can); installs it when needed."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "node/npm not found (scripts/install-deps.sh installs Debian's nodejs and npm)"
    if not INSTALL_DIR:
        return "DROVER_S3RVER_DIR is not set (ctest sets it to build/tests/s3rver)"
    os.makedirs(INSTALL_DIR, exist_ok=True)
    with open(os.path.join(INSTALL_DIR, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(INSTALL_DIR, "node_modules/@20minutes/s3rver/package.json")):
            for f in ("package.json", "package-lock.json"):
                shutil.copyfile(os.path.join(SOURCE_DIR, f), os.path.join(INSTALL_DIR, f))
            r = subprocess.run(["timeout", "-s", "KILL", "300", "npm", "ci", "--no-audit", "--no-fund",
                                "--loglevel=error"], cwd=INSTALL_DIR, capture_output=True, text=True)
            if r.returncode != 0:
                return f"npm ci failed in {INSTALL_DIR}: {r.stdout}{r.stderr}"
        shutil.copyfile(os.path.join(SOURCE_DIR, "start.js"), os.path.join(INSTALL_DIR, "start.js"))
    return ""


class S3rver:
    def __init__(self, bucket):
        self.bucket = bucket
        self.dir = tempfile.mkdtemp(prefix="drover-py-s3rver-")
        data = os.path.join(self.dir, "data")
        os.makedirs(data)
        # s3rver's continuation tokens use DES, which OpenSSL 3 keeps in its legacy provider.
        # The sanitizer runs preload their runtime into this interpreter: not into node, where
        # ThreadSanitizer would report V8's own threads.
        env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
        self.proc = subprocess.Popen(
            ["node", "--openssl-legacy-provider", os.path.join(INSTALL_DIR, "start.js"), "0", data, bucket],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            cwd=INSTALL_DIR, env=env)
        line = self.proc.stdout.readline()
        if not line.startswith("ready "):
            rest = line + self._drain()
            self.stop()
            raise RuntimeError(f"s3rver did not start: {rest}")
        self.port = int(line.split()[1])
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def _drain(self):
        try:
            self.proc.kill()
            out, _ = self.proc.communicate(timeout=5)
            return out or ""
        except Exception:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except Exception:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
