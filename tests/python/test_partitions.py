"""Time-based partitions and reading them back (issue 17 section 2): FileSink's timezone and
bad_values, and read_output decoding partition values (None for __missing__) with an
optional task column. Expected buckets come from GNU date at test-write time, e.g.
TZ=Asia/Seoul date -d @1546300800 +%Y-%m-%d/%H -> 2019-01-01/09."""

import os

import pandas as pd
import pytest

import drover
from conftest import record_command

HOSTILE = "New York/Ü"


def scheduler(tmp_path, **sink):
    return drover.Scheduler(
        state_dir=str(tmp_path / "state"),
        executors=[drover.LocalExecutor(slots=2, kill_grace=0.5)],
        sink=drover.FileSink(str(tmp_path / "out"), fsync=False, **sink),
        seed=1,
    )


def test_hostile_partition_value_round_trips_and_missing_reads_as_none(tmp_path):
    s = scheduler(tmp_path, partition="city={city}/dt={record.ts|%Y-%m-%d}/hour={record.ts|%H}",
                  timezone="Asia/Seoul")
    s.submit(id="t1", command=record_command({"ts": 1546300800, "n": 1}, {"n": 2}, {"ts": "2019-13-01", "n": 3}),
             params={"city": HOSTILE})
    s.submit(id="t2", command=record_command({"ts": "2019-01-01T15:00:00Z", "n": 4}), params={"city": ""})
    summary = s.run()
    assert summary.ok and summary.records == 4 and summary.counts.bad_records == 0

    # On disk the value is one escaped directory: no '/' from the value, no raw UTF-8.
    assert sorted(os.listdir(tmp_path / "out")) == [".drover", "city=New%20York%2F%C3%9C", "city=__empty__"]
    assert sorted(os.listdir(tmp_path / "out" / "city=New%20York%2F%C3%9C")) == ["dt=2019-01-01", "dt=__missing__"]

    rows = drover.read_records(str(tmp_path / "out"), task_column="task")
    by_n = {r["n"]: r for r in rows}
    assert by_n[1] == {"ts": 1546300800, "n": 1, "city": HOSTILE, "dt": "2019-01-01", "hour": "09", "task": "t1"}
    # No ts field: the missing-value partition comes back as None.
    assert by_n[2] == {"n": 2, "city": HOSTILE, "dt": None, "hour": None, "task": "t1"}
    # A ts that is not a time keeps its own field; it was published under __missing__.
    assert by_n[3] == {"ts": "2019-13-01", "n": 3, "city": HOSTILE, "dt": None, "hour": None, "task": "t1"}
    # An empty param comes back empty; 15:00Z is midnight the next day in Seoul.
    assert by_n[4] == {"ts": "2019-01-01T15:00:00Z", "n": 4, "city": "", "dt": "2019-01-02", "hour": "00",
                       "task": "t2"}

    df = drover.read_output(str(tmp_path / "out"), task_column="task")
    assert isinstance(df, pd.DataFrame)
    assert df["dt"].isna().sum() == 2
    assert df.groupby("task").size().to_dict() == {"t1": 3, "t2": 1}
    assert set(df["city"]) == {HOSTILE, ""}


def test_bad_records_setting_keeps_bad_values_out_of_the_output(tmp_path):
    s = scheduler(tmp_path, partition="dt={record.ts|epoch_ms:%Y-%m-%d}", bad_values="bad_records")
    s.submit(id="t", command=record_command({"ts": 1546300800000}, {"ts": "noon"}, {"x": 1}))
    summary = s.run()
    assert summary.ok, summary.tasks
    assert (summary.records, summary.counts.bad_records) == (1, 2)
    assert summary.tasks[0]["bad_records"] == 2
    assert drover.read_records(str(tmp_path / "out")) == [{"ts": 1546300800000, "dt": "2019-01-01"}]


def test_task_column_names_rotated_chunks_by_their_task_and_refuses_a_clash(tmp_path):
    s = scheduler(tmp_path, max_records=1)
    s.submit(id="a-1", command=record_command({"v": 1}, {"v": 2}, {"v": 3}))
    s.submit(id="a", command=record_command({"task": "mine"}))
    assert s.run().ok
    rows = drover.read_records(str(tmp_path / "out"), task_column="task_id")
    assert sorted((r.get("v", 0), r["task_id"]) for r in rows) == [(0, "a"), (1, "a-1"), (2, "a-1"), (3, "a-1")]
    with pytest.raises(drover.SinkError, match="has a field 'task' itself"):
        drover.read_records(str(tmp_path / "out"), task_column="task")
    assert "task" not in drover.read_records(str(tmp_path / "out" / "a-1.jsonl.gz"))[0]


def test_sink_options_are_checked_when_the_sink_is_made(tmp_path):
    out = str(tmp_path / "out")
    f = drover.FileSink(out, partition="dt={record.ts|%F}", timezone="America/New_York", bad_values="bad_records")
    assert (f.timezone, f.bad_values) == ("America/New_York", "bad_records")
    assert (drover.FileSink(out).timezone, drover.FileSink(out).bad_values) == ("UTC", "missing_partition")
    with pytest.raises(drover.ConfigError, match="unknown time zone 'Mars/Olympus_Mons'"):
        drover.FileSink(out, timezone="Mars/Olympus_Mons")
    with pytest.raises(drover.ConfigError, match="unknown conversion '%Q'"):
        drover.FileSink(out, partition="dt={record.ts|%Q}")
    with pytest.raises(drover.ConfigError, match="bad_values must be"):
        drover.FileSink(out, bad_values="drop")
    s3 = drover.S3Sink("s3://bucket/p", timezone="Asia/Seoul", bad_values="bad_records")
    assert (s3.timezone, s3.bad_values) == ("Asia/Seoul", "bad_records")
    with pytest.raises(drover.ConfigError, match="unknown time zone"):
        drover.S3Sink("s3://bucket/p", timezone="Nowhere/Else")


def test_hand_made_directories_decode_leniently(tmp_path):
    # A '%' without two hex digits stays as it is; bytes that are not UTF-8 become U+FFFD.
    d = tmp_path / "out" / "k=50%" / "b=%FF%41" / "e=__empty__"
    d.mkdir(parents=True)
    import gzip
    with gzip.open(d / "t.jsonl.gz", "wt") as f:
        f.write('{"v": 1}\n')
    assert drover.read_records(str(tmp_path / "out")) == [{"v": 1, "k": "50%", "b": "\ufffdA", "e": ""}]
