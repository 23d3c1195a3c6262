"""Errors map to drover.Error subclasses with the C++ side's messages; wrong types are TypeErrors."""

import gzip
import os

import pytest

import drover


def write(path, text):
    path.write_text(text)
    return str(path)


def test_exception_hierarchy():
    for cls in (drover.ConfigError, drover.ExecutorError, drover.SinkError):
        assert issubclass(cls, drover.Error)
    assert issubclass(drover.Error, Exception)


def test_bad_job_file_names_file_line_column_and_key(tmp_path):
    path = write(tmp_path / "job.toml", 'name = "x"\n[[tasks]]\nid = "a"\ncommand = ["echo"]\nretires = 2\n')
    with pytest.raises(drover.ConfigError) as info:
        drover.load_job(path)
    e = info.value
    assert str(e) == f"{path}:5:1: tasks[0].retires: unknown key 'retires' (did you mean 'retries'?)"
    assert (e.file, e.line, e.column, e.key) == (path, 5, 1, "tasks[0].retires")


@pytest.mark.parametrize(
    "text, where",
    [
        ('name = "x"\n[[tasks]]\nid = "a"\ncommand = ["echo"]\ntimeout = "30 sec"\n', ":5:11: tasks[0].timeout: invalid duration"),
        ('name = "x"\n[[tasks]]\nid = "day-{dat}"\ncommand = ["echo"]\n', ":3:6: tasks[0].id: unknown placeholder {dat}"),
        ('name = "x"\n[[tasks]\n', ":2:"),  # TOML syntax error: truncated table header
        ('name = "x"\n[[tasks]]\nid = "a"\n', "tasks[0]"),  # missing command
    ],
)
def test_malformed_job_files(tmp_path, text, where):
    path = write(tmp_path / "job.toml", text)
    with pytest.raises(drover.ConfigError, match=None) as info:
        drover.load_job(path)
    assert str(info.value).startswith(path + ":") and where in str(info.value)


def test_parse_job_uses_the_source_name():
    with pytest.raises(drover.ConfigError, match=r"^inline\.toml:1:1: "):
        drover.parse_job("nme = 'x'\n", "inline.toml")


def test_missing_job_file():
    with pytest.raises(drover.ConfigError, match="cannot read job file"):
        drover.load_job("/nonexistent/job.toml")


def test_submit_rejects_bad_tasks(tmp_path):
    s = drover.Scheduler(state_dir=str(tmp_path / "st"), pools={"net": 2})
    with pytest.raises(drover.ConfigError, match="task id 'a b' is invalid"):
        s.submit(id="a b", command=["true"])
    with pytest.raises(drover.ConfigError, match="empty command"):
        s.submit(id="a", command=[])
    with pytest.raises(drover.ConfigError, match="unknown pool 'web'"):
        s.submit(id="a", command=["true"], pool="web")
    s.submit(id="a", command=["true"])
    with pytest.raises(drover.ConfigError, match="duplicate task id 'a'"):
        s.submit(id="a", command=["true"])
    assert s.task_ids == ["a"]


def test_bad_option_values_and_types():
    with pytest.raises(drover.ConfigError, match=r'^timeout: invalid duration "30 sec"'):
        drover.TaskSpec("a", ["true"], timeout="30 sec")
    with pytest.raises(drover.ConfigError, match="timeout: must be a finite number of seconds >= 0"):
        drover.TaskSpec("a", ["true"], timeout=-1)
    with pytest.raises(drover.ConfigError, match="backoff multiplier must be >= 1"):
        drover.Backoff(multiplier=0.5)
    with pytest.raises(TypeError, match="not a string"):
        drover.TaskSpec("a", "echo hi")
    with pytest.raises(TypeError, match="got bool"):
        drover.TaskSpec("a", ["true"], timeout=True)
    with pytest.raises(TypeError):
        drover.Scheduler(state_dir=".x", unknown_option=1)
    with pytest.raises(TypeError, match="keyword arguments, not both"):
        drover.Scheduler(state_dir=".x").submit(drover.TaskSpec("a", ["true"]), id="b")
    with pytest.raises(drover.ConfigError, match="no slots|no hosts"):
        drover.SshExecutor([])
    with pytest.raises(drover.ConfigError, match="compression"):
        drover.FileSink("out", compression_level=12)
    with pytest.raises(TypeError, match="callable"):
        drover.Scheduler(state_dir=".x").run(on_progress=3)


def test_durations_accept_seconds_strings_and_timedeltas():
    import datetime

    assert drover.TaskSpec("a", ["x"], timeout=1.5).timeout == 1.5
    assert drover.TaskSpec("a", ["x"], timeout="1m30s").timeout == 90.0
    assert drover.TaskSpec("a", ["x"], timeout=datetime.timedelta(milliseconds=250)).timeout == 0.25
    assert drover.TaskSpec("a", ["x"]).timeout is None
    assert drover.parse_duration("1h30m") == 5400.0
    import numpy as np
    import pandas as pd

    assert drover.TaskSpec("a", ["x"], timeout=np.float64(2.5)).timeout == 2.5
    assert drover.TaskSpec("a", ["x"], timeout=pd.Timedelta(seconds=3)).timeout == 3.0


def test_read_output_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        drover.read_output(str(tmp_path / "missing"))
    out = tmp_path / "out" / "date=2018-01-01"
    out.mkdir(parents=True)
    (out / "a.jsonl.gz").write_bytes(gzip.compress(b'{"a": 1}\nnot json\n'))
    with pytest.raises(drover.SinkError, match=r"a\.jsonl\.gz:2: invalid JSON"):
        drover.read_records(str(tmp_path / "out"))
    (out / "a.jsonl.gz").write_bytes(gzip.compress(b'{"a": 1}\n' * 1000)[:-20])  # truncated
    with pytest.raises(drover.SinkError, match="a.jsonl.gz"):
        drover.read_records(str(tmp_path / "out"))
    (out / "a.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00garbage-garbage-garbage")
    with pytest.raises(drover.SinkError, match="a.jsonl.gz"):
        drover.read_records(str(tmp_path / "out"))
    (out / "a.jsonl.gz").write_bytes(gzip.compress(b"[1, 2]\n"))
    with pytest.raises(drover.SinkError, match="not a JSON object"):
        drover.read_records(str(tmp_path / "out"))


def test_read_output_s3_without_credentials_is_a_config_error(tmp_path, monkeypatch):
    # No keys anywhere (and an endpoint on a closed loopback port, so nothing leaves the host).
    monkeypatch.setenv("HOME", str(tmp_path))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(drover.ConfigError, match="S3 credentials not found"):
        drover.read_records("s3://bucket/prefix", endpoint="http://127.0.0.1:1", path_style=True)
    with pytest.raises(drover.ConfigError):
        drover.read_records("s3://", endpoint="http://127.0.0.1:1")  # no bucket


def test_unwritable_state_dir_is_an_error_from_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    s = drover.Scheduler(state_dir=str(blocker / "st"))
    s.submit(id="a", command=["true"])
    with pytest.raises(drover.Error):
        s.run()


def test_pool_of_size_zero_is_a_config_error_at_run(tmp_path):
    s = drover.Scheduler(state_dir=str(tmp_path / "st"), pools={"none": 0})
    s.submit(id="a", command=["true"], pool="none")
    with pytest.raises(drover.ConfigError, match="pool 'none' has size 0"):
        s.run()
