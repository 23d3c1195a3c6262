"""S3Sink and read_output("s3://...") against a real s3rver on 127.0.0.1."""

import os

import pytest

import drover
from conftest import record_command
import s3rver

BUCKET = "drover-py"


@pytest.fixture(scope="module")
def server():
    why = s3rver.unavailable()
    if why:
        if os.environ.get("DROVER_REQUIRE_SERVICES") == "1":
            pytest.fail(f"s3rver unavailable and DROVER_REQUIRE_SERVICES=1: {why}")
        pytest.skip(f"s3rver unavailable: {why}")
    s = s3rver.S3rver(BUCKET)
    yield s
    s.stop()


def s3_options(server, secret=s3rver.SECRET_KEY):
    return dict(endpoint=server.endpoint, region=s3rver.REGION, path_style=True,
                access_key_id=s3rver.ACCESS_KEY, secret_access_key=secret)


def reader_options(server):
    o = s3_options(server)
    return o


RECORDS = {
    "2018-01-01": [{"title": "a", "n": 1}, {"title": "b", "n": 2}],
    "2018-01-02": [{"title": "c", "n": 3}],
    "2018-01-03": [{"title": "d", "n": 4}, {"title": "e", "n": 5}, {"title": "f", "n": 6}],
}


def test_s3_sink_round_trip_into_dataframe(server, tmp_path):
    url = f"s3://{BUCKET}/crawl"
    s = drover.Scheduler(state_dir=str(tmp_path / "state"),
                         executors=[drover.LocalExecutor(slots=2)],
                         sink=drover.S3Sink(url, partition="date={date}", **s3_options(server)))
    for date, recs in RECORDS.items():
        s.submit(id=f"day-{date}", command=record_command(*recs), params={"date": date})
    summary = s.run()
    assert summary.ok, summary.tasks
    assert summary.counts.records == 6

    rows = drover.read_records(url, **reader_options(server))
    expected = [dict(r, date=d) for d, recs in RECORDS.items() for r in recs]
    assert rows == expected

    df = drover.read_output(url, **reader_options(server))
    assert list(df.columns) == ["title", "n", "date"]
    assert df.to_dict("records") == expected
    assert df.groupby("date").size().to_dict() == {"2018-01-01": 2, "2018-01-02": 1, "2018-01-03": 3}

    no_parts = drover.read_output(url, partitions=False, **reader_options(server))
    assert list(no_parts.columns) == ["title", "n"]
    assert len(no_parts) == 6


def test_s3_prefix_with_nothing_under_it_reads_as_empty(server):
    assert drover.read_records(f"s3://{BUCKET}/nothing-here", **reader_options(server)) == []


def test_wrong_secret_is_a_sink_error_without_the_secret(server, tmp_path):
    secret = "wrong-secret-not-to-be-printed"
    url = f"s3://{BUCKET}/denied"
    sink = drover.S3Sink(url, **s3_options(server, secret=secret))
    assert secret not in repr(sink) and secret not in str(sink) and s3rver.ACCESS_KEY not in repr(sink)
    s = drover.Scheduler(state_dir=str(tmp_path / "state"), executors=[drover.LocalExecutor(slots=1)], sink=sink)
    s.submit(id="t", command=record_command({"x": 1}))
    try:
        summary = s.run()
    except drover.SinkError as e:
        message = str(e)
    else:
        assert not summary.ok
        message = " ".join(str(t["message"]) for t in summary.tasks)
    assert "SignatureDoesNotMatch" in message, message
    assert secret not in message

    with pytest.raises(drover.SinkError) as e:
        drover.read_records(url, **s3_options(server, secret=secret))
    assert "SignatureDoesNotMatch" in str(e.value)
    assert secret not in str(e.value)


def test_s3_sink_options_are_validated():
    with pytest.raises(drover.ConfigError, match="part_size"):
        drover.S3Sink(f"s3://{BUCKET}/x", part_size=1024)
    with pytest.raises(drover.ConfigError):
        drover.S3Sink("http://not-s3/x")
    with pytest.raises(drover.ConfigError, match="compression_level"):
        drover.S3Sink(f"s3://{BUCKET}/x", compression_level=11)
    with pytest.raises(drover.ConfigError, match="without access_key_id"):
        drover.S3Sink(f"s3://{BUCKET}/x", secret_access_key="hidden-value")
    with pytest.raises(drover.ConfigError) as e:
        drover.S3Sink(f"s3://{BUCKET}/x", access_key_id="AKID")
    assert "AKID" not in str(e.value)


def test_s3_sink_repr_never_shows_credentials():
    sink = drover.S3Sink(f"s3://{BUCKET}/p", endpoint="http://127.0.0.1:1", partition="d={d}",
                         access_key_id="AKIDSHOWN", secret_access_key="very-secret", session_token="tok-secret")
    text = repr(sink) + str(sink) + sink.describe()
    assert "very-secret" not in text and "tok-secret" not in text and "AKIDSHOWN" not in text
    assert repr(sink) == "S3Sink('s3://drover-py/p', endpoint='http://127.0.0.1:1', partition='d={d}')"
    assert sink.url == f"s3://{BUCKET}/p" and sink.partition == "d={d}"


def test_hostile_partition_value_round_trips_through_s3(server, tmp_path):
    # Issue 17: "New York/Ü" goes into one escaped key segment and comes back as it was; a
    # record without ts comes back with None from the missing-value partition.
    url = f"s3://{BUCKET}/hostile"
    s = drover.Scheduler(state_dir=str(tmp_path / "state"), executors=[drover.LocalExecutor(slots=1)],
                         sink=drover.S3Sink(url, partition="city={city}/dt={record.ts|%Y-%m-%d}/h={record.ts|%H}",
                                            timezone="Asia/Seoul", **s3_options(server)))
    s.submit(id="t", command=record_command({"ts": 1546300800, "n": 1}, {"n": 2}), params={"city": "New York/Ü"})
    assert s.run().ok
    rows = drover.read_records(url, task_column="task", **reader_options(server))
    # TZ=Asia/Seoul date -d @1546300800 +%Y-%m-%d/%H -> 2019-01-01/09
    assert sorted(rows, key=lambda r: r["n"]) == [
        {"ts": 1546300800, "n": 1, "city": "New York/Ü", "dt": "2019-01-01", "h": "09", "task": "t"},
        {"n": 2, "city": "New York/Ü", "dt": None, "h": None, "task": "t"},
    ]


def test_bad_partition_values_become_bad_records_with_s3(server, tmp_path):
    url = f"s3://{BUCKET}/badvalues"
    s = drover.Scheduler(state_dir=str(tmp_path / "state"), executors=[drover.LocalExecutor(slots=1)],
                         sink=drover.S3Sink(url, partition="dt={record.ts|%Y-%m-%d}", bad_values="bad_records",
                                            **s3_options(server)))
    s.submit(id="t", command=record_command({"ts": "2019-01-01T10:00:00+09:00"}, {"ts": "2019-01-01T1"}, {}))
    summary = s.run()
    assert summary.ok and (summary.records, summary.counts.bad_records) == (1, 2)
    assert drover.read_records(url, **reader_options(server)) == [{"ts": "2019-01-01T10:00:00+09:00",
                                                                  "dt": "2019-01-01"}]
