"""Job files from Python: load, inspect, run, read the output."""

import drover

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
