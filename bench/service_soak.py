#!/usr/bin/env python3
"""drover serve over a long soak: does its memory stay bounded?

Usage: bench/service_soak.py BUILD_DIR [SECONDS]   (default 1800: 30 minutes)

One `drover serve` (bench/service_load.py's launcher) hosts a job of 20 tasks of
`sleep 0.05` on 4 local slots. For SECONDS: a trigger every second (409 while a run goes),
20 pollers asking for jobs, runs, tasks and /metrics every half second on keep-alive
connections that they close and open again every 100 requests, 20 event streams
(GET /api/v1/events) that each stay open 0.5 to 5 seconds, close and reconnect, and 5 stuck
streams that connect once and never read (a bounded queue per client must keep them from
growing the service). The service's RSS is sampled every 10 s; printed: RSS after a minute of
warm-up, at the end, the highest, and the slope over the second half (KiB per minute).
"""

import http.client
import os
import random
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import service_load as sl  # noqa: E402  (its Service launcher and helpers)

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 1800.0
POLLERS, STREAMS, STUCK = 20, 20, 5


def main():
    sl.BUILD, sl.TASKS, sl.SLEEP = BUILD, 20, "0.05"
    stop = threading.Event()
    counts = {"requests": 0, "errors": 0, "triggers": 0, "conflicts": 0, "streams": 0}
    lock = threading.Lock()

    def count(key, n=1):
        with lock:
            counts[key] += n

    with tempfile.TemporaryDirectory(prefix="drover-service-soak-") as work:
        svc = sl.Service(work)
        paths = ["/api/v1/jobs", "/api/v1/jobs/load/runs?limit=20", "/api/v1/jobs/load/tasks?limit=100", "/metrics",
                 "/api/v1/jobs/load"]

        def poller(i):
            conn, n = None, 0
            while not stop.is_set():
                if n % 100 == 0:
                    if conn:
                        conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=30)
                try:
                    status, _ = svc.request("GET", paths[(n + i) % len(paths)], conn=conn)
                    count("requests")
                    count("errors", status != 200)
                except OSError:
                    count("errors")
                    conn = None
                    n = -1
                n += 1
                time.sleep(0.5)

        def stream(i):
            rnd = random.Random(i)
            while not stop.is_set():
                try:
                    s = socket.create_connection(("127.0.0.1", svc.port), timeout=5)
                    s.sendall(f"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {sl.TOKEN}\r\n\r\n".encode())
                    count("streams")
                    until = time.monotonic() + rnd.uniform(0.5, 5.0)
                    s.settimeout(0.5)
                    while time.monotonic() < until and not stop.is_set():
                        try:
                            if not s.recv(65536):
                                break
                        except socket.timeout:
                            pass
                    s.close()
                except OSError:
                    count("errors")
                    time.sleep(0.5)

        stuck = []
        for _ in range(STUCK):
            s = socket.create_connection(("127.0.0.1", svc.port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(f"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {sl.TOKEN}\r\n\r\n".encode())
            stuck.append(s)  # never read

        def triggers():
            while not stop.is_set():
                try:
                    status, _ = svc.request("POST", "/api/v1/jobs/load/runs", {"fresh": True})
                    count("triggers", status == 201)
                    count("conflicts", status == 409)
                except OSError:
                    count("errors")
                time.sleep(1.0)

        threads = [threading.Thread(target=poller, args=(i,), daemon=True) for i in range(POLLERS)]
        threads += [threading.Thread(target=stream, args=(i,), daemon=True) for i in range(STREAMS)]
        threads.append(threading.Thread(target=triggers, daemon=True))
        for t in threads:
            t.start()
        t0 = time.monotonic()
        samples = []  # (seconds, KiB)
        while time.monotonic() - t0 < SECONDS:
            time.sleep(10)
            samples.append((time.monotonic() - t0, sl.rss_kib(svc.proc.pid)))
            print(f"{samples[-1][0]:7.0f} s  RSS {samples[-1][1]} KiB  {counts}", flush=True)
        stop.set()
        for t in threads:
            t.join(timeout=10)
        for s in stuck:
            s.close()
        runs = len(svc.request("GET", "/api/v1/jobs/load/runs?limit=10000")[1].split(b'"run_id"')) - 1
        svc.stop()

    warm = next((kib for at, kib in samples if at >= 60), samples[0][1])
    half = [(at, kib) for at, kib in samples if at >= SECONDS / 2]
    n = len(half)
    mx, my = sum(a for a, _ in half) / n, sum(k for _, k in half) / n
    slope = sum((a - mx) * (k - my) for a, k in half) / max(1e-9, sum((a - mx) ** 2 for a, _ in half)) * 60
    print(f"soak: {SECONDS:.0f} s, {runs} runs finished, {counts['triggers']} triggers ({counts['conflicts']} "
          f"refused while a run went), {counts['requests']} API requests, {counts['streams']} event streams "
          f"opened, {STUCK} stuck streams, {counts['errors']} errors")
    print(f"service RSS: {warm} KiB after 60 s, {samples[-1][1]} KiB at the end, {max(k for _, k in samples)} KiB "
          f"at most; second half slope {slope:+.1f} KiB/min")


if __name__ == "__main__":
    main()
