#!/usr/bin/env python3
"""drover serve under load: does serving API clients slow dispatch down?

Usage: bench/service_load.py BUILD_DIR [TASKS] [ROUNDS] [SLEEP]

A service hosts one job of TASKS short tasks on 4 local slots: `true`, or `sleep SLEEP` when
SLEEP is given (tasks that wait rather than compute: what is measured is then dispatch, not a
CPU shared with the clients on the same machine). Each round triggers the
job twice, once with no clients and once while 200 API clients each poll every second
(GET /api/v1/jobs and GET /api/v1/jobs/KEY/tasks?limit=100 in turn, keep-alive, as dashboards
and scripts do) and 20 browsers hold /api/v1/events open, all in one process (bench/http_clients)
whose CPU is measured; the order alternates between rounds.
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


def stat_cpu_seconds(stat_file):
    """User plus system CPU time in a /proc .../stat file."""
    with open(stat_file) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """CPU time of a process so far."""
    return stat_cpu_seconds(f"/proc/{pid}/stat")


def thread_cpu_seconds(pid, name):
    """CPU time so far of the process's threads named `name` (drover names its threads)."""
    total = 0.0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                if f.read().strip() != name:
                    continue
            total += stat_cpu_seconds(f"/proc/{pid}/task/{tid}/stat")
        except FileNotFoundError:
            pass
    return total


class Clients:
    """The API clients and event streams: one process on one thread (bench/http_clients.cpp),
    so that what they cost the machine is small and measured. (Python clients, a thread each,
    cost the machine about as much CPU as the service spends answering them.)"""

    def __init__(self, svc):
        self.proc = subprocess.Popen([f"{BUILD}/bench/http_clients", str(svc.port), TOKEN, str(CLIENTS),
                                      str(STREAMS), "load"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"

    def count(self):
        """Requests answered so far."""
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def stop(self):
        """Ends the clients; returns (answered, failed) requests."""
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        answered, failed = map(int, self.proc.stdout.readline().split())
        self.proc.wait(timeout=30)
        return answered, failed


def main():
    with tempfile.TemporaryDirectory(prefix="drover-service-load-") as work:
        svc = Service(work)
        svc.run_once()  # warm-up: the journal exists, the binary is in the page cache
        rss_start = rss_kib(svc.proc.pid)
        quiet, loaded, requests, failures = [], [], 0, 0
        quiet_cpu, loaded_cpu, clients_cpu, api_cpu = [], [], [], []
        for r in range(ROUNDS):
            for with_clients in ((False, True) if r % 2 == 0 else (True, False)):
                if not with_clients:
                    before = cpu_seconds(svc.proc.pid)
                    quiet.append(svc.run_once())
                    quiet_cpu.append(cpu_seconds(svc.proc.pid) - before)
                    continue
                cl = Clients(svc)
                before, answered = cpu_seconds(svc.proc.pid), cl.count()
                api_before = thread_cpu_seconds(svc.proc.pid, "drover-service")
                client_before = cpu_seconds(cl.proc.pid)
                loaded.append(svc.run_once())
                loaded_cpu.append(cpu_seconds(svc.proc.pid) - before)
                api_cpu.append(thread_cpu_seconds(svc.proc.pid, "drover-service") - api_before)
                clients_cpu.append(cpu_seconds(cl.proc.pid) - client_before)
                requests += cl.count() - answered
                failures += cl.stop()[1]
        rss_end = rss_kib(svc.proc.pid)
        svc.stop()
    q, l = statistics.median(quiet), statistics.median(loaded)
    print(f"tasks per run: {TASKS} x {'sleep ' + SLEEP if SLEEP else 'true'} (4 slots), rounds: {ROUNDS}")
    print(f"no clients:    {', '.join(f'{x:.3f}' for x in quiet)} s  median {q:.3f} s")
    print(f"with clients:  {', '.join(f'{x:.3f}' for x in loaded)} s  median {l:.3f} s "
          f"({CLIENTS} pollers at 1/s, {STREAMS} event streams; {requests} requests answered during the runs, "
          f"{failures} not 200)")
    pairs = statistics.median(b / a for a, b in zip(quiet, loaded))  # each round's two runs are neighbours
    print(f"ratio: {l / q:.3f} of the medians, {pairs:.3f} median of each round's ratio (target <= 1.05)")
    print(f"CPU of drover serve per run (median; process starts are the children's): "
          f"{statistics.median(quiet_cpu):.2f} s without clients, {statistics.median(loaded_cpu):.2f} s with them; "
          f"of the client process per loaded run: {statistics.median(clients_cpu):.2f} s")
    per_request = sum(api_cpu) / max(requests, 1) * 1e6
    print(f"CPU of the service's API thread (drover-service) in the loaded runs: {sum(api_cpu):.2f} s, "
          f"{per_request:.0f} us per request answered")
    print(f"service RSS: {rss_start} KiB after warm-up, {rss_end} KiB at the end")



if __name__ == "__main__":
    main()
