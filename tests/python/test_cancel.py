"""Ctrl-C / notebook interrupt: KeyboardInterrupt after a clean cancel (no child left,
nothing committed for the interrupted task)."""

import _thread
import os
import signal
import threading
import time
import uuid

import pytest

import drover
from conftest import pids_with_marker, record_command


def interrupt_when_running(marker, how, started):
    def go():
        if not started.wait(30):
            return
        deadline = time.monotonic() + 30
        while not pids_with_marker(marker) and time.monotonic() < deadline:
            time.sleep(0.02)
        if how == "interrupt_main":
            _thread.interrupt_main()
        else:
            os.kill(os.getpid(), signal.SIGINT)

    t = threading.Thread(target=go)
    t.start()
    return t


@pytest.mark.parametrize("how", ["interrupt_main", "sigint"])
def test_keyboard_interrupt_kills_children_and_commits_nothing(tmp_path, how):
    marker = f"drover-test-{uuid.uuid4()}"
    out = tmp_path / "out"
    s = drover.Scheduler(
        state_dir=str(tmp_path / "st"),
        executors=[drover.LocalExecutor(slots=2, kill_grace=1)],
        sink=drover.FileSink(str(out), fsync=False),
    )
    s.submit(id="quick", command=record_command({"q": 1}))
    # A task that prints a record, then waits on two grandchildren: all carry the marker.
    s.submit(id="long", command=["sh", "-c", "echo '{\"partial\": 1}'; sleep 300 & sleep 300; wait"],
             env={"DROVER_TEST_MARKER": marker})
    started = threading.Event()
    on_started = lambda t, a, e: started.set() if t.id == "long" else None
    thread = interrupt_when_running(marker, how, started)
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            s.run(progress=True, on_task_started=on_started)
    finally:
        thread.join()
    assert info.value.summary is s.last_summary

    assert pids_with_marker(marker) == []
    summary = s.last_summary
    assert summary.cancelled and summary.exit_code == 130
    long = next(t for t in summary.tasks if t["id"] == "long")
    assert long["state"] == "skipped" and long["failure"] == "cancelled"
    # The long task's staged record was discarded, not published.
    assert {"partial": 1} not in drover.read_records(str(out))
    assert not any(p.name.startswith("long") for p in out.rglob("*.jsonl.gz"))
    staging = out / ".drover" / "staging"
    assert not staging.exists() or list(staging.rglob("*.gz")) == []


def test_cancel_from_another_thread(tmp_path):
    marker = f"drover-test-{uuid.uuid4()}"
    s = drover.Scheduler(state_dir=str(tmp_path / "st"))
    s.submit(id="long", command=["sleep", "300"], env={"DROVER_TEST_MARKER": marker})

    def cancel_when_running():
        deadline = time.monotonic() + 30
        while not pids_with_marker(marker) and time.monotonic() < deadline:
            time.sleep(0.02)
        s.cancel()

    t = threading.Thread(target=cancel_when_running)
    t.start()
    summary = s.run()
    t.join()
    assert summary.cancelled and summary.tasks[0]["state"] == "skipped"
    assert pids_with_marker(marker) == []


def test_cancel_before_run_ends_the_run_at_once(tmp_path):
    s = drover.Scheduler(state_dir=str(tmp_path / "st"))
    s.submit(id="long", command=["sleep", "300"])
    s.cancel()
    summary = s.run()
    assert summary.cancelled and summary.tasks[0]["state"] == "skipped" and summary.tasks[0]["attempts"] == 0
