#!/usr/bin/env python3
"""drover serve under load: does serving API clients slow dispatch down?

Usage: bench/service_load.py BUILD_DIR [TASKS] [ROUNDS] [SLEEP]

A service hosts one job of TASKS short tasks on 4 local slots: `true`, or `sleep SLEEP` when
SLEEP is given (tasks that wait rather than compute: what is measured is then dispatch, not a
CPU shared with the clients on the same machine). Each round triggers the
job twice, once with no clients and once while 200 API clients each poll every second
(GET /api/v1/jobs and GET /api/v1/jobs/KEY/tasks?limit=100 in turn, keep-alive, as dashboards
and scripts do) and 20 browsers hold /api/v1/events open; the order alternates between rounds.
Each run is timed from the trigger to the end the journal records (the makespan). Prints the
medians and their ratio, and the service's RSS before and after.
"""

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
TASKS = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
SLEEP = sys.argv[4] if len(sys.argv) > 4 else None
CLIENTS, STREAMS = 200, 20
TOKEN = "bench-admin-token-0123456789"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Service:
    def __init__(self, work):
        os.makedirs(f"{work}/jobs")
        with open(f"{work}/jobs/load.toml", "w") as f:
            f.write(f'name = "load"\n[[executors]]\nkind = "local"\nslots = 4\n'
                    f'[[tasks]]\nid = "t-{{i}}"\nforeach = {{ i = {{ from = 1, to = {TASKS} }} }}\n'
                    + (f'command = ["sleep", "{SLEEP}"]\n' if SLEEP else 'command = ["true"]\n'))
        with open(f"{work}/tokens", "w") as f:
            f.write(f"admin {TOKEN}\n")
        self.port = free_port()
        self.log = open(f"{work}/serve.log", "w")
        self.proc = subprocess.Popen([f"{BUILD}/drover", "serve", "--jobs", f"{work}/jobs", "--state", f"{work}/state",
                                      "--listen", f"127.0.0.1:{self.port}", "--tokens", f"{work}/tokens"],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("drover serve did not start")

    def request(self, method, path, body=None, conn=None):
        c = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Authorization": "Bearer " + TOKEN}
        if body is not None:
            headers["Content-Type"] = "application/json"
        c.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        r = c.getresponse()
        data = r.read()
        return r.status, data

    def run_once(self):
        """Triggers a fresh run and waits for its end; returns the makespan from the journal."""
        status, data = self.request("POST", "/api/v1/jobs/load/runs", {"fresh": True})
        assert status == 201, data
        run_id = json.loads(data)["run_id"]
        while True:
            status, data = self.request("GET", f"/api/v1/jobs/load/runs/{run_id}")
            run = json.loads(data)
            if status == 200 and run["finished_ms"] is not None:
                assert run["succeeded"] == TASKS, run
                # wait until the service has reaped the run, so the next trigger is not a conflict
                while json.loads(self.request("GET", "/api/v1/jobs/load")[1])["run"] is not None:
                    time.sleep(0.05)
                return (run["finished_ms"] - run["started_ms"]) / 1000.0
            time.sleep(0.05)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        self.log.close()


def clients(svc, stop, counts):
    def poller(i):
        conn = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=30)
        paths = ["/api/v1/jobs", "/api/v1/jobs/load/tasks?limit=100"]
        n = 0
        next_at = time.monotonic() + (i % 100) / 100.0  # spread over the second
        while not stop.is_set():
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += 1.0
            try:
                status, _ = svc.request("GET", paths[n % 2], conn=conn)
                counts[i] += status == 200
            except OSError:
                conn = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=30)
            n += 1

    def stream():
        s = socket.create_connection(("127.0.0.1", svc.port))
        s.sendall(f"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
        s.settimeout(0.5)
        while not stop.is_set():
            try:
                if not s.recv(65536):
                    break
            except socket.timeout:
                pass
        s.close()

    threads = [threading.Thread(target=poller, args=(i,), daemon=True) for i in range(CLIENTS)]
    threads += [threading.Thread(target=stream, daemon=True) for _ in range(STREAMS)]
    for t in threads:
        t.start()
    return threads


def main():
    with tempfile.TemporaryDirectory(prefix="drover-service-load-") as work:
        svc = Service(work)
        svc.run_once()  # warm-up: the journal exists, the binary is in the page cache
        rss_start = rss_kib(svc.proc.pid)
        quiet, loaded, requests = [], [], 0
        for r in range(ROUNDS):
            for with_clients in ((False, True) if r % 2 == 0 else (True, False)):
                if not with_clients:
                    quiet.append(svc.run_once())
                    continue
                stop = threading.Event()
                counts = [0] * CLIENTS
                threads = clients(svc, stop, counts)
                time.sleep(1.0)  # all connected and polling
                before = sum(counts)
                t = svc.run_once()
                requests += sum(counts) - before
                loaded.append(t)
                stop.set()
                for th in threads:
                    th.join(timeout=5)
        rss_end = rss_kib(svc.proc.pid)
        svc.stop()
    q, l = statistics.median(quiet), statistics.median(loaded)
    print(f"tasks per run: {TASKS} x {'sleep ' + SLEEP if SLEEP else 'true'} (4 slots), rounds: {ROUNDS}")
    print(f"no clients:    {', '.join(f'{x:.3f}' for x in quiet)} s  median {q:.3f} s")
    print(f"with clients:  {', '.join(f'{x:.3f}' for x in loaded)} s  median {l:.3f} s "
          f"({CLIENTS} pollers at 1/s, {STREAMS} event streams; {requests} requests answered during the runs)")
    print(f"ratio: {l / q:.3f} (target <= 1.05)")
    print(f"service RSS: {rss_start} KiB after warm-up, {rss_end} KiB at the end")


if __name__ == "__main__":
    main()
