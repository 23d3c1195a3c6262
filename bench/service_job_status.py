#!/usr/bin/env python3
"""What one GET /api/v1/jobs/KEY (the job with its journal's status) costs the service's API thread.

Usage: bench/service_job_status.py BUILD_DIR [REQUESTS]

A `drover serve` hosts one job of 2,000 `true` tasks; after one run has finished, REQUESTS
requests (default 2,000) of GET /api/v1/jobs/load, then of GET /api/v1/jobs, go one after the
other over one keep-alive connection. Prints the CPU time of the API thread (`drover-service`,
from /proc) and the wall time per request.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
REQUESTS = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
TOKEN = "bench-admin-token-0123456789"


def thread_cpu_seconds(pid, name):
    total = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if f.read().strip() != name:
                continue
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    with tempfile.TemporaryDirectory(prefix="drover-job-status-") as work:
        os.makedirs(f"{work}/jobs")
        with open(f"{work}/jobs/load.toml", "w") as f:
            f.write('name = "load"\n[[executors]]\nkind = "local"\nslots = 4\n[[tasks]]\nid = "t-{i}"\n'
                    'foreach = { i = { from = 1, to = 2000 } }\ncommand = ["true"]\n')
        with open(f"{work}/tokens", "w") as f:
            f.write(f"admin {TOKEN}\n")
        port = free_port()
        svc = subprocess.Popen([f"{BUILD}/drover", "serve", "--jobs", f"{work}/jobs", "--state", f"{work}/state",
                                "--listen", f"127.0.0.1:{port}", "--tokens", f"{work}/tokens"],
                               stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            headers = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("POST", "/api/v1/jobs/load/runs", body="{}", headers=headers)
            c.getresponse().read()
            while True:
                c.request("GET", "/api/v1/jobs/load", headers=headers)
                job = json.loads(c.getresponse().read())
                if job["run"] is None and job.get("journal"):
                    break
                time.sleep(0.1)
            for url in ("/api/v1/jobs/load", "/api/v1/jobs"):
                before, start = thread_cpu_seconds(svc.pid, "drover-service"), time.time()
                for _ in range(REQUESTS):
                    c.request("GET", url, headers=headers)
                    r = c.getresponse()
                    r.read()
                    assert r.status == 200, r.status
                cpu = thread_cpu_seconds(svc.pid, "drover-service") - before
                print(f"GET {url}: {cpu / REQUESTS * 1e6:.0f} us of API thread CPU per request, "
                      f"{(time.time() - start) / REQUESTS * 1e6:.0f} us wall ({REQUESTS} requests)")
        finally:
            svc.terminate()
            svc.wait(timeout=60)


if __name__ == "__main__":
    main()
