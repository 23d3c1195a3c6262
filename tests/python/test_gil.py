"""run() releases the GIL: another Python thread keeps running while tasks run."""

import threading

import drover


def test_python_thread_runs_while_scheduler_works(tmp_path):
    counter = 0
    stop = threading.Event()

    def spin():
        nonlocal counter
        while not stop.is_set():
            counter += 1

    s = drover.Scheduler(state_dir=str(tmp_path / "st"))
    s.submit(id="sleep", command=["sleep", "1"])
    seen = {}
    thread = threading.Thread(target=spin)
    thread.start()
    try:
        summary = s.run(
            on_task_started=lambda t, a, e: seen.setdefault("started", counter),
            on_task_finished=lambda t, o, st: seen.setdefault("finished", counter),
        )
    finally:
        stop.set()
        thread.join()
    assert summary.ok
    # While the task slept for a second the other thread counted; with the GIL held by
    # run() it could not have moved at all.
    assert seen["finished"] - seen["started"] > 10_000
