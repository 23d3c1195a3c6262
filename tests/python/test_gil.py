"""run() releases the GIL: another Python thread keeps running while tasks run."""

import threading

import drover


def test_python_thread_runs_while_scheduler_works(tmp_path):
    # The task waits for a file that a Python thread writes only after a long pure-Python
    # loop, which needs the GIL throughout. If run() held the GIL while it waits, the thread
    # could not get there and the task would end by its timeout instead.
    flag = tmp_path / "flag"
    started = threading.Event()

    def python_work():
        if not started.wait(60):
            return
        total = 0
        for i in range(3_000_000):
            total += i
        flag.write_text(str(total))

    s = drover.Scheduler(state_dir=str(tmp_path / "st"))
    s.submit(id="wait-for-python", command=["sh", "-c", 'while [ ! -e "$1" ]; do sleep 0.01; done', "sh", str(flag)],
             timeout="60s")
    thread = threading.Thread(target=python_work)
    thread.start()
    try:
        summary = s.run(on_task_started=lambda t, a, e: started.set())
    finally:
        started.set()
        thread.join()
    assert summary.tasks[0]["failure"] == "none", summary.tasks[0]["message"]
    assert summary.ok
    assert flag.read_text() == str(sum(range(3_000_000)))
