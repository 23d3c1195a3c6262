"""Job files from Python: load, inspect, run, read the output."""

import json
import os
import subprocess

import pytest

import drover

CLI = os.environ.get("DROVER_CLI")

JOB = """
name = "days"
[[executors]]
kind = "local"
slots = 2
[sink]
kind = "file"
path = "{out}"
partition = "date={{date}}"
[defaults]
retries = 1
timeout = "30s"
[[tasks]]
id = "day-{{date}}"
command = ["sh", "-c", "printf '{{\\"day\\":\\"%s\\"}}\\\\n' \\"$1\\" \\"$1\\"", "job", "{{date}}"]
foreach.date = {{ from = "2018-01-01", to = "2018-01-05", step = "1d" }}
"""


def test_load_inspect_and_run_a_job(tmp_path):
    path = tmp_path / "days.toml"
    path.write_text(JOB.format(out=tmp_path / "out"))
    job = drover.load_job(str(path))

    assert job.name == "days" and job.source == str(path)
    assert [t.id for t in job.tasks] == [f"day-2018-01-0{d}" for d in range(1, 6)]
    assert job.tasks[0].params["date"] == "2018-01-01" and job.tasks[0].timeout == 30.0 and job.tasks[0].retries == 1
    assert job.executors == [dict(job.executors[0], kind="local", slots=2)]
    assert job.sink["kind"] == "file" and job.sink["partition"] == "date={date}"

    summary = job.run(state_dir=str(tmp_path / "state"))
    assert summary.ok and summary.succeeded == 5 and summary.records == 10
    assert summary.run_dir.startswith(str(tmp_path / "state"))
    df = drover.read_output(str(tmp_path / "out"))
    assert df.groupby("date").size().to_dict() == {f"2018-01-0{d}": 2 for d in range(1, 6)}
    assert (df["day"] == df["date"]).all()


def test_make_scheduler_takes_more_tasks(tmp_path):
    path = tmp_path / "days.toml"
    path.write_text(JOB.format(out=tmp_path / "out"))
    s = drover.make_scheduler(drover.load_job(str(path)), state_dir=str(tmp_path / "state"))
    assert len(s) == 5
    s.submit(id="extra", command=["sh", "-c", "echo '{\"extra\": 1}'"], params={"date": "2019-01-01"})
    summary = s.run()
    assert summary.ok and summary.total == 6
    assert summary.to_pandas().set_index("id").loc["extra", "date"] == "2019-01-01"


DAG = """
name = "dag"
[[tasks]]
id = "crawl-{date}"
command = ["crawl", "{date}", "--depth", "{depth}"]
foreach.date = { from = "2018-01-01", to = "2018-01-31" }
params = { depth = 3 }
[[tasks]]
id = "merge"
command = ["merge", "it's"]
after = ["crawl-*"]
"""


def test_params_override_foreach_values_and_params():
    job = drover.parse_job(DAG, "dag.toml", params={"date": ["2018-01-06", "2018-02-01"], "depth": 5})
    assert [t.id for t in job.tasks] == ["crawl-2018-01-06", "crawl-2018-02-01", "merge"]
    assert job.tasks[0].command == ["crawl", "2018-01-06", "--depth", "5"]
    assert drover.parse_job(DAG, params={"date": "2018-01-09"}).tasks[0].id == "crawl-2018-01-09"


def test_only_selects_tasks_with_or_without_their_dependencies():
    assert len(drover.parse_job(DAG, only="merge").tasks) == 32
    job = drover.parse_job(DAG, only=["merge", "crawl-2018-01-0[12]"], deps=False)
    assert [t.id for t in job.tasks] == ["crawl-2018-01-01", "crawl-2018-01-02", "merge"]
    assert job.tasks[2].after == ["crawl-2018-01-01", "crawl-2018-01-02"]


def test_bad_overrides_and_globs_raise_config_errors():
    with pytest.raises(drover.ConfigError, match="param override 'dat': no task has a param or foreach variable"):
        drover.parse_job(DAG, params={"dat": "2018-01-01"})
    with pytest.raises(drover.ConfigError, match="invalid date"):
        drover.parse_job(DAG, params={"date": "2018-02-30"})
    with pytest.raises(drover.ConfigError, match="only foreach variables take several values"):
        drover.parse_job(DAG, params={"depth": [1, 2]})
    with pytest.raises(drover.ConfigError, match="only 'nothing': matches no task"):
        drover.parse_job(DAG, only="nothing")
    with pytest.raises(drover.ConfigError, match="deps=False needs only"):
        drover.parse_job(DAG, deps=False)
    with pytest.raises(TypeError, match="params\\['depth'\\]"):
        drover.parse_job(DAG, params={"depth": True})


def test_max_tasks_limits_the_tasks_a_job_expands_to():
    text = 'name = "many"\nmax_tasks = 5\n[[tasks]]\nid = "t-{n}"\ncommand = ["x"]\nforeach.n = { from = 1, to = 6 }\n'
    with pytest.raises(drover.ConfigError, match=r"job.toml:6:13: tasks\[0\]\.foreach\.n: foreach expands to more than 5 tasks"):
        drover.parse_job(text, "job.toml")
    assert len(drover.parse_job(text, "job.toml", max_tasks=6).tasks) == 6
    with pytest.raises(drover.ConfigError, match="more than 3 tasks"):
        drover.parse_job(text.replace("max_tasks = 5", "max_tasks = 100"), "job.toml", max_tasks=3)
    with pytest.raises(drover.ConfigError, match="the task limit given must be at least 1"):
        drover.parse_job(text, "job.toml", max_tasks=0)


def test_describe_is_what_validate_json_prints(tmp_path):
    path = tmp_path / "dag.toml"
    path.write_text(DAG)
    job = drover.load_job(str(path), only="merge", deps=False)
    d = job.describe()
    assert d["job"] == "dag" and d["task_count"] == 1 and d["schedule"] is None
    assert d["tasks"][0]["command"] == ["merge", "it's"]
    assert d["tasks"][0]["command_line"] == "merge 'it'\\''s'"
    assert d["tasks"][0]["after"] == []
    if CLI:  # the CLI prints the same document (the build's tests set DROVER_CLI)
        cli = subprocess.run([CLI, "validate", str(path), "--json", "--only", "merge", "--no-deps"],
                             capture_output=True, text=True, check=True)
        assert json.loads(cli.stdout) == d
    sched = drover.parse_job('schedule = "0 6 * * *"\ntimezone = "UTC"\n' + DAG)
    nxt = sched.describe(next_fires=2)["schedule"]["next"]
    assert len(nxt) == 2 and all(t.endswith("T06:00:00+00:00") for t in nxt)
    assert drover.shell_command_line(["sh", "-c", "echo $x"]) == "sh -c 'echo $x'"


def test_counts_tell_resumed_and_earlier_dead_tasks_from_what_ran(tmp_path):
    text = """
name = "r"
[[tasks]]
id = "a-{n}"
command = ["true"]
foreach.n = [1, 2]
[[tasks]]
id = "b"
command = ["false"]
"""
    first = drover.parse_job(text).run(state_dir=str(tmp_path / "state"))
    assert (first.counts.ran, first.counts.resumed, first.counts.resumed_dead) == (3, 0, 0)
    again = drover.parse_job(text).run(state_dir=str(tmp_path / "state"))
    c = again.counts
    assert (c.succeeded, c.dead, c.ran, c.resumed, c.resumed_dead) == (2, 1, 0, 2, 1)
    assert c.to_dict()["ran"] == 0 and c.to_dict()["resumed_dead"] == 1
    # Nothing is left committing once a run ended.
    assert c.committing == 0 and c.to_dict()["committing"] == 0
