"""drover.exec_job: `drover exec` from Python, a Job made from a command and argument groups."""

import pathlib
import subprocess
import sys

import pytest

import drover

PRINT_ARGS = [sys.executable, "-c", "import json,sys; print(json.dumps({'a': sys.argv[1:]}))"]


def test_exec_job_runs_the_cross_product_once_each(tmp_path):
    out = tmp_path / "out"
    job = drover.exec_job(PRINT_ARGS + ["{#}", "{2}", "{1}"], ["a b", "$(id)"], [1, 2],
                          slots=2, retries=1, timeout="30s", out=out, state_dir=str(tmp_path / "st"))
    assert [t.id for t in job.tasks] == ["a_20b=1", "a_20b=2", "_24_28id_29=1", "_24_28id_29=2"]
    assert job.tasks[2].command[-3:] == ["3", "1", "$(id)"]
    assert job.tasks[0].retries == 1 and job.tasks[0].timeout == 30.0
    assert job.sink["kind"] == "file" and job.executors[0]["slots"] == 2

    summary = job.run()
    assert summary.ok and summary.succeeded == 4
    records = sorted(r["a"] for r in drover.read_records(str(out), partitions=False))
    assert records == [["1", "1", "a b"], ["2", "2", "a b"], ["3", "1", "$(id)"], ["4", "2", "$(id)"]]

    # The same job on the same state directory resumes: nothing runs again.
    again = job.run()
    assert again.ok and again.resumed == 4


def test_exec_job_paths_shell_and_ids(tmp_path):
    job = drover.exec_job(["echo", "{/.}"], [pathlib.Path("in/x.jpg")], shell=True)
    assert job.tasks[0].command == ["sh", "-c", "echo x"]
    assert job.sink["kind"] == "stdout"
    assert drover.exec_task_id(["a b", ""]) == "a_20b=_"


def test_exec_job_without_out_prints_records_to_stdout(tmp_path):
    code = (
        "import drover, sys\n"
        f"job = drover.exec_job({PRINT_ARGS!r}, ['x', 'y'], state_dir={str(tmp_path / 'st')!r})\n"
        "sys.exit(0 if job.run().ok else 1)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.splitlines()) == ['{"a": ["x"]}', '{"a": ["y"]}']


@pytest.mark.parametrize("command, groups, message", [
    ([], [["a"]], "no command"),
    (["echo", "{3}"], [["a"]], "{3}"),
    (["echo"], [[]], "argument group 1 is empty"),
    (["echo"], [], "no arguments"),
    (["echo"], [["a\udcff"]], None),
])
def test_exec_job_refuses_bad_input(command, groups, message):
    if message is None:  # a lone surrogate cannot even become UTF-8 text
        with pytest.raises(UnicodeEncodeError):
            drover.exec_job(command, *groups)
        return
    with pytest.raises(drover.ConfigError, match=message.replace("{", r"\{").replace("}", r"\}")):
        drover.exec_job(command, *groups)


def test_exec_job_type_errors():
    with pytest.raises(TypeError):
        drover.exec_job(["echo"], "abc")  # a str is not a group
    with pytest.raises(TypeError):
        drover.exec_job(["echo"], [True])
