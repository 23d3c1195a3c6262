"""Open runs from Python: submitting from other threads and from callbacks while run() waits,
close(), per-task cancel and retry, fan-out through control lines, dependencies, and durable
runs that resume (Scheduler(journal=True), Job.run(state_dir=...))."""

import json
import threading
import time

import pytest

import drover
from conftest import PY, record_command


def make(tmp_path, **kw):
    return drover.Scheduler(
        state_dir=str(tmp_path / "state"),
        executors=[drover.LocalExecutor(slots=4, kill_grace=0.5)],
        sink=drover.FileSink(str(tmp_path / "out"), fsync=False),
        seed=1,
        **kw,
    )


def test_1000_tasks_submitted_from_a_second_thread_into_an_open_run(tmp_path):
    s = make(tmp_path, open=True)
    errors = []

    def feed():
        try:
            for i in range(1000):
                s.submit(id=f"t-{i}", command=["true"], params={"i": str(i)})
            s.close()
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
            s.cancel()

    feeder = threading.Thread(target=feed)
    feeder.start()
    summary = s.run()
    feeder.join()
    assert errors == []
    assert summary.ok and summary.total == 1000 and summary.succeeded == 1000
    assert len(summary.tasks) == 1000 and len(s) == 1000
    assert {t["params"]["i"] for t in summary.tasks} == {str(i) for i in range(1000)}
    with pytest.raises(drover.Error, match="has finished"):
        s.submit(id="late", command=["true"])


def test_submit_from_a_callback_while_run_waits(tmp_path):
    # Callbacks run on this thread a moment after the event: a run that is not open may have
    # ended by then, so follow-ups go into an open run, closed when the last one is in.
    s = make(tmp_path, open=True)
    s.submit(id="first", command=record_command({"n": 1}))
    seen = []

    def on_finished(task, outcome, state):
        seen.append((task.id, state))
        if task.id == "first":
            s.submit(drover.TaskSpec("follow-up", record_command({"n": 2}), after=["first"]))
            s.close()

    summary = s.run(on_task_finished=on_finished)
    assert summary.ok and summary.total == 2
    assert ("follow-up", "succeeded") in seen
    assert s.find_task("follow-up").after == ["first"]


def test_close_before_run_ends_an_open_run_with_its_tasks(tmp_path):
    s = make(tmp_path, open=True)
    s.submit(id="a", command=["true"])
    s.close()
    assert s.run().ok


def test_cancel_task_and_retry_task_from_another_thread(tmp_path):
    s = make(tmp_path, open=True)
    marker = tmp_path / "ok"
    s.submit(id="sleeper", command=["sleep", "30"])
    s.submit(drover.TaskSpec("after-sleeper", ["true"], after=["sleeper"]))
    s.submit(id="flaky", command=["sh", "-c", f"[ -e {marker} ] || exit 3"])
    results = {}
    flaky_done = threading.Event()
    flaky_ok = threading.Event()

    def on_finished(task, outcome, state):
        if task.id == "flaky":
            (flaky_ok if state == "succeeded" else flaky_done).set()

    def control():
        flaky_done.wait(20)
        results["cancelled"] = s.cancel_task("sleeper")
        marker.write_text("")
        results["retried"] = s.retry_task("flaky")
        with pytest.raises(drover.ConfigError, match="no task 'nobody'"):
            s.cancel_task("nobody")
        flaky_ok.wait(20)
        s.close()

    t = threading.Thread(target=control)
    t.start()
    started = time.monotonic()
    summary = s.run(on_task_finished=on_finished)
    t.join()
    assert time.monotonic() - started < 20
    assert results == {"cancelled": True, "retried": True}
    states = {r["id"]: r["state"] for r in summary.tasks}
    assert states == {"sleeper": "cancelled", "after-sleeper": "upstream_failed", "flaky": "succeeded"}
    assert summary.cancelled_tasks == 1 and summary.upstream_failed == 1 and not summary.ok
    assert summary.counts.cancelled == 1 and summary.counts.upstream_failed == 1


def test_a_task_fans_out_children_and_a_fan_in_waits_for_them(tmp_path):
    s = make(tmp_path)
    lines = [json.dumps({"$drover": {"submit": {"id": f"page-{n}", "command": record_command({"page": n}),
                                                "params": {"n": str(n)}}}}) for n in range(1, 4)]
    s.submit(id="split", command=[PY, "-c", "import sys\nfor l in sys.argv[1:]: print(l)", *lines])
    s.submit(drover.TaskSpec("merge", record_command({"merged": True}), after=["split"]))
    starts = {}
    summary = s.run(on_task_started=lambda t, attempt, ex: starts.setdefault(t.id, time.monotonic()),
                    on_task_finished=lambda t, o, st: starts.setdefault(t.id + ":end", time.monotonic()))
    assert summary.ok and summary.total == 5
    assert s.task_ids == ["split", "merge", "page-1", "page-2", "page-3"]
    assert {r["id"]: r["params"] for r in summary.tasks}["page-2"] == {"n": "2"}
    assert all(starts[f"page-{n}:end"] <= starts["merge"] for n in range(1, 4))
    df = drover.read_output(str(tmp_path / "out"))
    assert sorted(df["page"].dropna().astype(int)) == [1, 2, 3] and df["merged"].dropna().tolist() == [True]


def test_taskspec_after_and_control_lines_round_trip():
    t = drover.TaskSpec("b", ["true"], after=["a", "crawl-*"], control_lines=False)
    assert t.after == ["a", "crawl-*"] and t.control_lines is False
    assert t.to_dict()["after"] == ["a", "crawl-*"]
    assert "after=['a', 'crawl-*']" in repr(t)
    with pytest.raises(TypeError, match="list of task ids"):
        drover.TaskSpec("b", ["true"], after="a")
    with pytest.raises(TypeError, match="every entry must be a str"):
        drover.TaskSpec("b", ["true"], after=[1])


def test_a_journaled_scheduler_resumes_and_runs_nothing_the_second_time(tmp_path):
    counter = tmp_path / "runs"

    def one_run():
        s = make(tmp_path, journal=True, job_name="j")
        for i in range(3):
            s.submit(id=f"t{i}", command=["sh", "-c", f"echo x >> {counter}"])
        return s.run()

    first = one_run()
    assert first.ok and first.resumed == 0
    second = one_run()
    assert second.ok and second.resumed == 3 and second.counts.resumed == 3
    assert all(t["resumed"] for t in second.tasks)
    assert len(counter.read_text().splitlines()) == 3


def test_job_run_with_state_dir_resumes_like_drover_run(tmp_path):
    side = tmp_path / "side"
    side.mkdir()
    job_file = tmp_path / "dag.toml"
    job_file.write_text(f"""
name = "dag"
[[tasks]]
id = "extract-{{n}}"
foreach.n = [1, 2, 3]
command = ["sh", "-c", "echo x >> {side}/extract-{{n}}"]
[[tasks]]
id = "report"
after = ["extract-*"]
command = ["sh", "-c", "echo x >> {side}/report"]
""")
    job = drover.load_job(str(job_file))
    state = str(tmp_path / "state")
    first = job.run(state_dir=state)
    assert first.ok and first.total == 4 and first.resumed == 0
    second = drover.load_job(str(job_file)).run(state_dir=state)
    assert second.ok and second.resumed == 4
    assert {p.name: len(p.read_text().splitlines()) for p in side.iterdir()} == {
        "extract-1": 1, "extract-2": 1, "extract-3": 1, "report": 1}
    third = job.run(state_dir=state, fresh=True)
    assert third.ok and third.resumed == 0
    assert len((side / "report").read_text().splitlines()) == 2


def test_defaults_for_fanned_out_tasks(tmp_path):
    s = make(tmp_path, defaults={"retries": 2, "env": {"DAY": "{date}"}})
    line = json.dumps({"$drover": {"submit": {"id": "c", "params": {"date": "2018-01-06"},
                                              "command": ["sh", "-c", "echo \"{\\\"day\\\": \\\"$DAY\\\"}\""]}}})
    s.submit(id="split", command=[PY, "-c", "import sys; print(sys.argv[1])", line])
    summary = s.run()
    assert summary.ok
    assert s.find_task("c").retries == 2 and s.find_task("c").env["DAY"] == "2018-01-06"
    assert list(drover.read_output(str(tmp_path / "out"))["day"]) == ["2018-01-06"]
    with pytest.raises(drover.ConfigError, match="fanned-out task's own"):
        make(tmp_path, defaults={"id": "x"})


def test_a_run_that_failed_on_configuration_can_be_fixed_and_run_with_callbacks_once(tmp_path):
    s = drover.Scheduler(state_dir=str(tmp_path / "state"))
    s.submit(id="a", command=["true"])
    s.submit(id="b", command=["true"], after=["nobody"])
    seen = []
    with pytest.raises(drover.ConfigError, match="nobody"):
        s.run(on_task_finished=lambda task, outcome, state: seen.append(task.id))
    s.submit(id="nobody", command=["true"])
    summary = s.run(on_task_finished=lambda task, outcome, state: seen.append(task.id))
    assert summary.ok
    assert sorted(seen) == ["a", "b", "nobody"]  # each once: the failed run's observer is gone


def test_order_from_history_starts_the_longest_first_and_order_is_checked(tmp_path):
    log = tmp_path / "starts"

    def one_run(order):
        s = drover.Scheduler(state_dir=str(tmp_path / "state"), executors=[drover.LocalExecutor(slots=1)],
                             sink=drover.FileSink(str(tmp_path / "out"), fsync=False),
                             journal=True, fresh=True, job_name="j", order=order)
        for tid, secs in [("short", "0.05"), ("long", "0.4"), ("mid", "0.2")]:
            s.submit(id=tid, command=["sh", "-c", f"echo {tid} >> {log}; sleep {secs}"])
        assert s.run().ok
        starts = log.read_text().split()
        log.unlink()
        return starts

    assert one_run("history") == ["short", "long", "mid"]  # no history yet
    assert one_run("history") == ["long", "mid", "short"]
    assert one_run("submission") == ["short", "long", "mid"]
    with pytest.raises(drover.ConfigError, match='order must be "history" or "submission", got "fifo"'):
        make(tmp_path, order="fifo")


def test_speculation_backs_up_a_hung_attempt(tmp_path):
    lock = tmp_path / "lock"
    s = drover.Scheduler(state_dir=str(tmp_path / "state"),
                         executors=[drover.LocalExecutor(slots=2, kill_grace=0.5)],
                         sink=drover.FileSink(str(tmp_path / "out"), fsync=False),
                         speculation={"multiplier": 2.0, "quantile": 0.5, "min_runtime": 0.2})
    # The first attempt hangs; the backup prints at once. Quick tasks give the run its samples.
    s.submit(id="slow", command=["sh", "-c", f"if mkdir {lock} 2>/dev/null; then exec sleep 30; fi; "
                                             "echo '{\"t\": \"slow\"}'"])
    side = drover.TaskSpec("side", ["sh", "-c", "sleep 0.6; echo '{\"t\": \"side\"}'"], speculate=False)
    assert side.speculate is False and side.to_dict()["speculate"] is False
    s.submit(side)
    for k in range(4):
        s.submit(id=f"q{k}", command=["sh", "-c", f"sleep 0.05; echo '{{\"t\": \"q{k}\"}}'"], params={"k": str(k)})
    started = time.monotonic()
    summary = s.run()
    assert summary.ok and summary.succeeded == 6
    assert time.monotonic() - started < 20
    assert summary.counts.backups == 1  # slow's; side waits its 0.6 s without one
    assert {r["id"]: r["attempts"] for r in summary.tasks}["slow"] == 2
    df = drover.read_output(str(tmp_path / "out"))
    assert sorted(df["t"]) == ["q0", "q1", "q2", "q3", "side", "slow"]


def test_speculation_settings_are_checked(tmp_path):
    with pytest.raises(drover.ConfigError, match="unknown key 'multiplyer'"):
        drover.Scheduler(state_dir=str(tmp_path / "s"), speculation={"multiplyer": 2})
    with pytest.raises(TypeError, match="speculation must be"):
        drover.Scheduler(state_dir=str(tmp_path / "s"), speculation="on")
    drover.Scheduler(state_dir=str(tmp_path / "t"), speculation={"before_queued": True, "min_runtime": "2s"})
    s = drover.Scheduler(state_dir=str(tmp_path / "s"), speculation={"quantile": 2.0})
    s.submit(id="a", command=["true"])
    with pytest.raises(drover.ConfigError, match="quantile"):
        s.run()
