"""drover.Service (a service in this process) and drover.Client (its HTTP API) from Python."""

import time

import pytest

import drover

ADMIN = "admin-token-0123456789"
READ = "read-token-0123456789"

JOB = """
name = "{name}"
[[executors]]
kind = "local"
slots = 2
[[tasks]]
id = "t-{{i}}"
foreach = {{ i = {{ from = 1, to = {n} }} }}
command = ["sh", "-c", "sleep {sleep}; echo '{{\\"task\\":\\"t-{{i}}\\"}}'"]
"""


def wait_for(pred, timeout=30):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


@pytest.fixture
def served(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "days.toml").write_text(JOB.format(name="days", n=4, sleep=0.1))
    (jobs / "long.toml").write_text(JOB.format(name="long", n=1, sleep=30))
    (jobs / "fail.toml").write_text('name = "fail"\n[[tasks]]\nid = "bad"\n'
                                    'command = ["sh", "-c", "echo broken >&2; exit 3"]\n')
    (tmp_path / "tokens").write_text(f"admin {ADMIN}\nread {READ}\n")
    with drover.Service(str(jobs), str(tmp_path / "state"), listen="127.0.0.1:0",
                        tokens_file=str(tmp_path / "tokens"), reload_interval=0.1) as svc:
        yield svc, tmp_path


def test_service_in_process(served):
    svc, tmp = served
    assert svc.port > 0
    assert [j["key"] for j in svc.jobs()] == ["days", "fail", "long"]
    run_id = svc.trigger("days", params={"i": ["1", "3"]})
    assert wait_for(lambda: svc.job("days")["last_run_id"] == run_id)
    job = svc.job("days")
    assert job["last_result"] == "succeeded" and job["counts"].succeeded == 2 and job["run_id"] is None
    assert 'drover_records_total{drover_job="days"} 2' in svc.metrics()
    records = drover.read_records(str(tmp / "state" / "days" / "output"), partitions=False)
    assert sorted(r["task"] for r in records) == ["t-1", "t-3"]
    with pytest.raises(drover.NotFoundError, match="no job 'nope'"):
        svc.trigger("nope")
    with pytest.raises(drover.ConfigError, match="param override 'x'"):
        svc.trigger("days", params={"x": "1"})
    with pytest.raises(TypeError):
        svc.trigger("days", params={"i": 1})
    svc.trigger("long")
    with pytest.raises(drover.ConflictError, match="is going"):
        svc.trigger("long")
    assert wait_for(lambda: svc.job("long")["counts"].running == 1)
    svc.submit("long", [drover.TaskSpec(id="extra", command=["sh", "-c", "echo '{\"task\":\"extra\"}'"])])
    assert wait_for(lambda: svc.job("long")["counts"].succeeded == 1)
    assert svc.cancel("long") is True
    assert wait_for(lambda: svc.job("long")["last_result"] == "cancelled")


def test_client_against_the_service(served):
    svc, tmp = served
    url = f"http://127.0.0.1:{svc.port}"
    c = drover.Client(url, token=ADMIN)
    assert c.reachable()
    assert [j["key"] for j in c.jobs()] == ["days", "fail", "long"]
    run_id = c.trigger("days", params={"i": "2"})
    assert wait_for(lambda: c.job("days").get("last_run", {}).get("run_id") == run_id)
    runs = c.runs("days")
    assert list(runs["run_id"]) == [run_id] and list(runs["status"]) == ["finished"]
    tasks = c.tasks("days", state="succeeded")
    assert list(tasks["id"]) == ["t-2"]
    assert c.tasks("days", state="dead").empty

    c.trigger("fail")
    assert wait_for(lambda: c.job("fail").get("last_run") is not None)
    bad = c.task("fail", "bad")
    assert bad["state"] == "dead" and bad["attempts"][0]["exit_code"] == 3
    assert "broken" in bad["attempts"][0]["stderr_tail"]
    log = c.attempt_stderr("fail", "bad", 1)
    assert log["text"] == "broken\n" and log["size"] == 7 and log["offset"] == 0
    assert c.attempt_stderr("fail", "bad", 1, bytes=3)["text"] == "en\n"
    with pytest.raises(drover.NotFoundError, match="no attempt 2"):
        c.attempt_stderr("fail", "bad", 2)
    assert "drover_attempts_finished_total" in c.metrics()

    with pytest.raises(drover.NotFoundError):
        c.job("nope")
    with pytest.raises(drover.ConflictError, match="no run is going"):
        c.retry_task("fail", "bad")
    with pytest.raises(drover.Error, match="HTTP 403"):
        drover.Client(url, token=READ).trigger("days")
    with pytest.raises(drover.Error, match="HTTP 401"):
        drover.Client(url).jobs()
    with pytest.raises(drover.Error, match="cannot reach the drover service"):
        drover.Client("http://127.0.0.1:1", timeout=2).jobs()
    c.trigger("long")
    assert c.submit("long", [{"id": "more", "command": ["true"]}]) == 1
    with pytest.raises(drover.ConfigError, match=r"tasks\[0\]\.timeout"):
        c.submit("long", [{"id": "x", "command": ["true"], "timeout": "soon"}])
    assert c.cancel("long") is True


def test_task_events(served):
    svc, tmp = served
    c = drover.Client(f"http://127.0.0.1:{svc.port}", token=ADMIN)
    assert svc.task_events("days") == {"events": [], "lost": 0, "last_seq": 0}
    run_id = svc.trigger("days", params={"i": ["1", "2"]})
    assert wait_for(lambda: svc.task_events("days")["last_seq"] == 6)  # run, 2 x (started, state), run
    got = svc.task_events("days")
    kinds = [(e["kind"], e["task"], e["state"]) for e in got["events"]]
    assert kinds[0] == ("run_started", None, None) and kinds[-1] == ("run_finished", None, "succeeded")
    assert {k for k in kinds if k[0] == "task_state"} == {("task_state", "t-1", "succeeded"),
                                                           ("task_state", "t-2", "succeeded")}
    assert all(e["run_id"] == run_id for e in got["events"])
    assert [e["seq"] for e in svc.task_events("days", after=4)["events"]] == [5, 6]

    c.trigger("fail")
    assert wait_for(lambda: len(c.task_events("fail")) == 4)
    frame = c.task_events("fail")
    assert frame.attrs == {"lost": 0, "last_seq": 4}
    dead = frame[frame["kind"] == "task_state"].iloc[0]
    assert dead["task"] == "bad" and dead["state"] == "dead" and dead["exit_code"] == 3
    assert dead["failure"] == "exit_code" and dead["message"] == "exit code 3"
    assert list(c.task_events("fail", after=3)["seq"]) == [4]
    assert c.task_events("fail", after=4).empty
    with pytest.raises(drover.NotFoundError):
        c.task_events("nope")
    with pytest.raises(drover.NotFoundError):
        svc.task_events("nope")


def test_mark_succeeded_and_hosts(served):
    svc, tmp = served
    jobs = tmp / "jobs"
    (jobs / "mark.toml").write_text(
        'name = "mark"\n[[executors]]\nkind = "local"\nslots = 3\n'
        '[[tasks]]\nid = "bad"\ncommand = ["sh", "-c", "exit 3"]\n'
        '[[tasks]]\nid = "after"\nafter = ["bad"]\ncommand = ["sh", "-c", "echo \'{\\"task\\":\\"after\\"}\'"]\n'
        '[[tasks]]\nid = "long"\ncommand = ["sleep", "30"]\n')
    (jobs / "fleet.toml").write_text(
        'name = "fleet"\n[[executors]]\nkind = "ssh"\nhosts = ["127.0.0.1:1"]\nconnect_timeout = "2s"\n'
        '[[tasks]]\nid = "t"\ncommand = ["true"]\n')
    svc.reload()
    c = drover.Client(f"http://127.0.0.1:{svc.port}", token=ADMIN)

    c.trigger("mark")
    assert wait_for(lambda: svc.job("mark")["counts"].upstream_failed == 1)
    assert c.mark_succeeded("mark", "long") is False  # running
    assert c.mark_succeeded("mark", "bad") is True
    assert wait_for(lambda: svc.job("mark")["counts"].succeeded == 2)
    assert c.task("mark", "bad")["message"] == "marked succeeded"
    assert svc.mark_succeeded("mark", "bad") is False  # succeeded already
    with pytest.raises(drover.NotFoundError):
        c.mark_succeeded("mark", "nope")
    assert c.cancel("mark")

    assert c.hosts("fleet").empty  # no run: no hosts
    svc.trigger("fleet")
    assert wait_for(lambda: [h["state"] for h in svc.hosts("fleet")] == ["down"])
    c.add_host("fleet", "127.0.0.2:1")
    assert wait_for(lambda: len(c.hosts("fleet")) == 2)
    frame = c.hosts("fleet")
    assert list(frame["host"]) == ["127.0.0.1:1", "127.0.0.2:1"] and set(frame["kind"]) == {"ssh"}
    with pytest.raises(drover.ConfigError, match="executor"):
        svc.add_host("fleet", "127.0.0.3:1", executor=2)
    with pytest.raises(drover.NotFoundError, match="no host"):
        c.drain_host("fleet", "127.9.9.9:1")
    svc.drain_host("fleet", "127.0.0.2:1")
    c.drain_host("fleet", "127.0.0.1:1", remove=True)
    assert wait_for(lambda: svc.hosts("fleet") == [])
    svc.cancel("fleet")


def test_shared_pools(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    for name in ("one", "two"):
        (jobs / f"{name}.toml").write_text(
            f'name = "{name}"\n[[executors]]\nkind = "local"\nslots = 3\n'
            f'[[tasks]]\nid = "{name}-{{i}}"\nforeach.i = {{ from = 1, to = 3 }}\npool = "heavy"\n'
            f'command = ["sleep", "0.2"]\n')
    with pytest.raises(drover.ConfigError, match="at least 1"):
        drover.Service(str(jobs), str(tmp_path / "s0"), listen="", pools={"heavy": 0}).start()
    with drover.Service(str(jobs), str(tmp_path / "state"), listen="127.0.0.1:0", pools={"heavy": 2}) as svc:
        assert svc.pools() == [{"name": "heavy", "limit": 2, "in_use": 0, "waiting": 0}]
        svc.trigger("one")
        svc.trigger("two")
        most = 0

        def done():
            nonlocal most
            most = max(most, svc.pools()[0]["in_use"])
            return all(svc.job(k)["last_result"] == "succeeded" for k in ("one", "two"))

        assert wait_for(done)
        assert 1 <= most <= 2
        frame = drover.Client(f"http://127.0.0.1:{svc.port}").pools()
        assert list(frame["name"]) == ["heavy"] and list(frame["limit"]) == [2] and list(frame["in_use"]) == [0] and list(frame["waiting"]) == [0]
        assert 'drover_pool_limit{pool="heavy"} 2' in svc.metrics()
