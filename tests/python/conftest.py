"""Shared helpers for the drover binding's tests (run by ctest with PYTHONPATH set to the
build tree's module directory and /usr/bin/python3)."""

import json
import os
import sys

import pytest

import drover

PY = sys.executable

# Network rule: the AWS credential chain ends at the EC2 instance metadata service
# (169.254.169.254); the tests never probe it.
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


def record_command(*records):
    """argv that prints each record as one JSON line (through this interpreter, not a shell)."""
    lines = [json.dumps(r) for r in records]
    return [PY, "-c", "import sys\nfor l in sys.argv[1:]: print(l)", *lines]


def pids_with_marker(marker):
    """PIDs of live processes whose environment contains `marker` (the whole tree of a task
    started with env={'DROVER_TEST_MARKER': marker} inherits it)."""
    needle = marker.encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                if needle in f.read():
                    found.append(int(name))
        except OSError:
            continue  # exited meanwhile, or not ours to read
    return found


@pytest.fixture
def sched(tmp_path):
    """A scheduler with two local slots writing into tmp_path/out, partitioned by date."""
    return drover.Scheduler(
        state_dir=str(tmp_path / "state"),
        executors=[drover.LocalExecutor(slots=2, kill_grace=0.5)],
        sink=drover.FileSink(str(tmp_path / "out"), partition="date={date}", fsync=False),
        seed=1,
    )
