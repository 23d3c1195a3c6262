"""Checkpoints from Python (issue 17 section 1): FileSink's rotate_interval and flush_records,
and a Python task that prints a checkpoint per page and resumes from DROVER_CHECKPOINT."""

import os
import sys
import textwrap

import pytest

import drover

PAGER = textwrap.dedent("""
    import json, os, sys
    side, fail_at = sys.argv[1], int(sys.argv[2])
    start = int(os.environ.get("DROVER_CHECKPOINT", "0"))
    with open(side, "a") as f:
        f.write(f"start {start}\\n")
    for page in range(start + 1, 7):
        for k in range(2):
            print(json.dumps({"page": page, "k": k}))
        if page == fail_at and not os.path.exists(side + ".failed"):
            open(side + ".failed", "w").close()
            sys.exit(1)
        print(json.dumps({"$drover": {"checkpoint": str(page)}}), flush=True)
        __import__("time").sleep(0.1)
""")


def test_sink_keywords_and_defaults(tmp_path):
    s = drover.FileSink(str(tmp_path / "out"), rotate_interval="10s", flush_records=500)
    assert s.rotate_interval == 10.0 and s.flush_records == 500
    d = drover.FileSink(str(tmp_path / "out"))
    assert d.rotate_interval == 0.0 and d.flush_records == 0
    s3 = drover.S3Sink("s3://bucket/p", endpoint="http://127.0.0.1:9", access_key_id="a",
                       secret_access_key="b", rotate_interval=1.5, flush_records=7)
    assert s3.rotate_interval == 1.5 and s3.flush_records == 7
    with pytest.raises(drover.ConfigError):
        drover.FileSink(str(tmp_path / "out"), rotate_interval="soon")


def test_python_task_resumes_from_its_checkpoint_exactly_once(tmp_path):
    script = tmp_path / "pager.py"
    script.write_text(PAGER)
    side = tmp_path / "side"
    s = drover.Scheduler(state_dir=str(tmp_path / "state"),
                         executors=[drover.LocalExecutor(slots=1, kill_grace=0.5)],
                         sink=drover.FileSink(str(tmp_path / "out"), fsync=False, flush_records=1), seed=1)
    s.submit(id="pages", command=[sys.executable, str(script), str(side), "4"], retries=1, backoff=0.01)
    summary = s.run()
    assert summary.ok and summary.records == 12
    # The first attempt died after page 4's records, before its checkpoint: the retry starts there.
    assert side.read_text().split("\n")[:2] == ["start 0", "start 3"]
    rows = drover.read_records(str(tmp_path / "out"), task_column="task")
    assert sorted((r["page"], r["k"]) for r in rows) == [(p, k) for p in range(1, 7) for k in range(2)]
    assert {r["task"] for r in rows} == {"pages"}  # segment names carry the task id too
    names = sorted(os.listdir(tmp_path / "out"))
    assert all(n.startswith("pages@") for n in names if n != ".drover"), names
