"""Submitting tasks, running them with progress and callbacks, and reading the results."""

import sys

import pandas as pd
import pytest

import drover
from conftest import PY, record_command


def test_submit_by_keywords_and_taskspec_and_run_with_progress(sched, tmp_path, capsys):
    sched.submit(id="day-1", command=record_command({"n": 1}, {"n": 2}), params={"date": "2018-01-01"})
    sched.submit(drover.TaskSpec("day-2", record_command({"n": 3}), params={"date": "2018-01-02"}, timeout="30s"))
    sched.submit(id="day-3", command=record_command(), params={"date": "2018-01-03"})
    assert sched.task_ids == ["day-1", "day-2", "day-3"]

    summary = sched.run(progress=True)

    assert summary.ok and summary.exit_code == 0 and not summary.cancelled
    assert (summary.total, summary.succeeded, summary.dead, summary.records) == (3, 3, 0, 3)
    assert summary.counts.finished == 3 and summary.elapsed > 0
    err = capsys.readouterr().err
    assert "3/3" in err and "drover" in err  # the tqdm bar reached the end


def test_task_results_as_dicts_and_dataframe(sched):
    sched.submit(id="ok", command=record_command({"a": 1}), params={"date": "2018-01-01"})
    sched.submit(id="fails", command=["sh", "-c", "echo boom >&2; exit 3"], params={"date": "2018-01-02"},
                 retries=1, backoff=0.01)
    summary = sched.run()

    assert not summary.ok and summary.exit_code == 1 and summary.dead == 1
    ok, fails = summary.tasks
    assert ok["id"] == "ok" and ok["state"] == "succeeded" and ok["records"] == 1 and ok["attempts"] == 1
    assert ok["params"] == {"date": "2018-01-01"}
    assert fails["state"] == "dead" and fails["attempts"] == 2 and fails["failure"] == "exit_code"
    assert fails["exit_code"] == 3 and fails["message"] == "exit code 3" and fails["stderr_tail"] == ["boom"]

    df = summary.to_pandas()
    assert list(df["id"]) == ["ok", "fails"]
    assert list(df["state"]) == ["succeeded", "dead"]
    assert list(df["date"]) == ["2018-01-01", "2018-01-02"]  # params become columns
    assert df.loc[df["id"] == "fails", "exit_code"].item() == 3

    d = summary.to_dict()
    assert d["counts"]["dead"] == 1 and d["exit_code"] == 1 and len(d["tasks"]) == 2
    assert '"dead":1' in summary.to_json().replace(" ", "")


def test_read_output_into_dataframe_with_partition_columns(sched, tmp_path):
    for day in range(1, 4):
        date = f"2018-01-0{day}"
        sched.submit(id=f"day-{date}", command=record_command(*({"seq": i} for i in range(day))),
                     params={"date": date})
    assert sched.run().ok

    df = drover.read_output(str(tmp_path / "out"))
    assert isinstance(df, pd.DataFrame)
    assert len(df) == 6
    assert df.groupby("date").size().to_dict() == {"2018-01-01": 1, "2018-01-02": 2, "2018-01-03": 3}
    assert sorted(df[df["date"] == "2018-01-03"]["seq"]) == [0, 1, 2]
    # Without partitions: only the records' own fields.
    assert list(drover.read_output(str(tmp_path / "out"), partitions=False).columns) == ["seq"]
    assert drover.read_records(str(tmp_path / "out"))[0] == {"seq": 0, "date": "2018-01-01"}


def test_record_fields_win_over_partition_values_and_types_survive(sched, tmp_path):
    rec = {"date": "from-record", "n": 2**40, "x": 1.5, "ok": True, "none": None, "list": [1, "a"], "obj": {"k": "v"}}
    sched.submit(id="t", command=record_command(rec), params={"date": "2018-02-01"})
    assert sched.run().ok
    (row,) = drover.read_records(str(tmp_path / "out"))
    assert row == rec


def test_callbacks_see_every_task_and_final_progress(sched):
    for i in range(4):
        sched.submit(id=f"t{i}", command=record_command({"i": i}), params={"date": "2018-01-01"})
    started, finished, progress = [], [], []
    summary = sched.run(
        on_task_started=lambda t, attempt, ex: started.append((t.id, attempt, ex)),
        on_task_finished=lambda t, outcome, state: finished.append((t.id, state, outcome["records"])),
        on_progress=lambda p: progress.append(p.to_dict()),
    )
    assert summary.ok
    assert sorted(started) == [(f"t{i}", 1, "local") for i in range(4)]
    assert sorted(finished) == [(f"t{i}", "succeeded", 1) for i in range(4)]
    assert progress[-1]["finished"] == 4 and progress[-1]["succeeded"] == 4 and progress[-1]["records"] == 4


def test_exception_in_callback_cancels_the_run_and_propagates(sched):
    sched.submit(id="a", command=["sleep", "30"], params={"date": "2018-01-01"})

    def boom(task, attempt, executor):
        raise ValueError("stop here")

    with pytest.raises(ValueError, match="stop here"):
        sched.run(on_task_started=boom)
    assert sched.last_summary.cancelled and sched.last_summary.exit_code == 130
    assert sched.last_summary.tasks[0]["state"] == "skipped"


def test_retry_timeout_and_pool_options_reach_the_scheduler(tmp_path):
    s = drover.Scheduler(state_dir=str(tmp_path / "st"), pools={"one": 1}, executors=[drover.LocalExecutor(slots=2)])
    s.submit(id="slow", command=["sleep", "5"], timeout=0.2, retries=1, backoff={"initial": 0.01, "jitter": 0})
    s.submit(id="pooled", command=["true"], pool="one")
    summary = s.run()
    slow = summary.tasks[0]
    assert slow["state"] == "dead" and slow["attempts"] == 2 and slow["failure"] == "timeout"
    assert summary.tasks[1]["state"] == "succeeded"


def test_a_scheduler_runs_once(sched):
    sched.submit(id="a", command=["true"], params={"date": "x"})
    sched.run()
    with pytest.raises(drover.Error, match="only once"):
        sched.run()


def test_default_sink_is_under_state_dir(tmp_path):
    s = drover.Scheduler(state_dir=str(tmp_path / "st"))
    s.submit(id="a", command=record_command({"v": 1}))
    summary = s.run()
    assert summary.ok and summary.output.startswith(str(tmp_path / "st"))
    assert drover.read_records(str(tmp_path / "st" / "output")) == [{"v": 1}]


def test_progress_takes_tqdm_arguments(sched, capsys):
    sched.submit(id="a", command=["true"], params={"date": "x"})
    assert sched.run(progress={"desc": "crawling", "unit": "day"}).ok
    err = capsys.readouterr().err
    assert "crawling" in err and "1/1" in err and "day" in err


def test_callbacks_run_on_the_calling_thread(sched):
    import threading

    sched.submit(id="a", command=["true"], params={"date": "x"})
    threads = set()
    sched.run(on_progress=lambda p: threads.add(threading.get_ident()),
              on_task_finished=lambda t, o, s: threads.add(threading.get_ident()))
    assert threads == {threading.get_ident()}


def test_output_that_is_not_utf8_reads_as_replacement_characters(sched):
    # A task's stderr and messages are bytes: what is not UTF-8 becomes U+FFFD instead of
    # raising UnicodeDecodeError in summary.tasks, callbacks or to_json (issue 18).
    sched.submit(id="bytes", command=["sh", "-c", r"printf 'err \377\376 \355\240\200 end\n' >&2; exit 3"],
                 params={"date": "2018-01-01"})
    seen = []
    summary = sched.run(on_task_finished=lambda t, outcome, state: seen.append(outcome["stderr_tail"]))
    (task,) = summary.tasks
    assert task["stderr_tail"] == ["err \ufffd\ufffd \ufffd\ufffd\ufffd end"]
    assert seen == [["err \ufffd\ufffd \ufffd\ufffd\ufffd end"]]
    assert "bytes" in summary.to_json()


def test_limits_bound_the_stderr_log_and_bad_records(tmp_path):
    # scheduler_options::limits as keyword arguments (issue 18): the log keeps its head and
    # tail, too many bad lines fail the attempt.
    s = drover.Scheduler(state_dir=str(tmp_path / "state"), executors=[drover.LocalExecutor(slots=2)],
                         sink=drover.FileSink(str(tmp_path / "out"), fsync=False),
                         stderr_log_bytes=4096, bad_record_bytes=4096, max_bad_records=50)
    s.submit(id="flood", command=["sh", "-c", "echo FIRST >&2; seq 1 100000 >&2; echo LAST >&2; echo '{}'"])
    s.submit(id="garbage", command=["sh", "-c", "seq 1 51; sleep 30"])
    summary = s.run()
    flood, garbage = summary.tasks
    assert flood["state"] == "succeeded"
    log = (tmp_path / "state" / "runs" / summary.run_id / "logs" / "flood.1.stderr").read_text()
    assert log.startswith("FIRST\n") and log.endswith("LAST\n") and len(log) < 4096 + 100
    assert "bytes of stderr not kept" in log
    assert garbage["state"] == "dead" and garbage["failure"] == "output_error"
    assert garbage["message"] == "more than 50 bad records (limits.max_bad_records)"


def test_job_limits_table():
    job = drover.parse_job('name = "l"\n[limits]\nstderr_log_bytes = "1MiB"\nmax_bad_records = 10\n'
                           '[[tasks]]\nid = "a"\ncommand = ["true"]\n')
    assert job.limits == {"stderr_log_bytes": 1 << 20, "bad_record_bytes": 16 << 20, "max_bad_records": 10}


def test_deadline_stops_a_run(tmp_path):
    s = drover.Scheduler(state_dir=str(tmp_path / "state"), deadline="500ms")
    s.add_executor(drover.LocalExecutor(slots=1))
    s.submit(id="slow", command=["sleep", "30"])
    summary = s.run()
    assert summary.halted and not summary.cancelled
    assert summary.halt_reason.startswith("deadline: the run was still going after 500ms")
    with pytest.raises(drover.ConfigError, match="deadline"):
        drover.Scheduler(deadline="0s").run()
