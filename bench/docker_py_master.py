#!/usr/bin/python3
"""The docker-py master of the seed design, for bench/docker.sh: one worker process per
slot (SLOTS per daemon), all pulling task numbers from one multiprocessing queue; each
task is containers.run(IMAGE, ["echo", '{"i":N}'], remove=True) and its output line is
appended to OUT/<worker>.jsonl. No retries, no timeouts, no journal: what drover replaces.

Usage: docker_py_master.py HOST[,HOST...] SLOTS TASKS IMAGE OUT
"""
import multiprocessing as mp
import os
import sys

import docker


def worker(host, queue, image, out):
    client = docker.DockerClient(base_url=host)
    with open(out, "ab") as f:
        while True:
            i = queue.get()
            if i is None:
                return
            line = client.containers.run(image, ["echo", '{"i":%d}' % i], remove=True, network_mode="none")
            f.write(line)


def main():
    hosts, slots, tasks, image, out = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    os.makedirs(out, exist_ok=True)
    queue = mp.Queue()
    for i in range(tasks):
        queue.put(i)
    workers = []
    for h, host in enumerate(hosts):
        for s in range(slots):
            queue.put(None)
            workers.append(mp.Process(target=worker, args=(host, queue, image, f"{out}/{h}-{s}.jsonl")))
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    sys.exit(max(w.exitcode for w in workers))


if __name__ == "__main__":
    main()
