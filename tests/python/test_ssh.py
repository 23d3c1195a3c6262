"""SshExecutor's keyword arguments reach OpenSSH: tasks run on a real sshd on 127.0.0.1."""

import os
import shutil
import tempfile

import pytest

import drover
from sshd import Sshd, available


@pytest.fixture
def state_dir():
    # Short: ssh's control sockets live under it, and Unix socket paths are limited to 107 bytes.
    d = tempfile.mkdtemp(prefix="drs-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def sshd(tmp_path):
    if not available():
        if os.environ.get("DROVER_REQUIRE_SERVICES") == "1":
            pytest.fail("sshd, ssh or ssh-keygen is missing and DROVER_REQUIRE_SERVICES=1")
        pytest.skip("sshd, ssh or ssh-keygen is missing (Debian: openssh-server, openssh-client)")
    server = Sshd(tmp_path / "sshd")
    try:
        yield server
    finally:
        server.stop()


def test_tasks_run_over_ssh_with_env_and_records(sshd, state_dir, tmp_path):
    ex = drover.SshExecutor([sshd.host], slots_per_host=2, **sshd.executor_options())
    assert ex.name == "ssh" and ex.slots == 2
    s = drover.Scheduler(state_dir=state_dir, executors=[ex],
                         sink=drover.FileSink(str(tmp_path / "out"), partition="date={date}", fsync=False))
    for d in ("2018-01-01", "2018-01-02", "2018-01-03"):
        s.submit(id=f"day-{d}", command=["sh", "-c", 'printf \'{"date":"%s","via":"%s"}\\n\' "$DAY" "$VIA"'],
                 env={"DAY": d, "VIA": "ssh"}, params={"date": d}, timeout="60s")
    events = []
    summary = s.run(on_executor_event=lambda ex, msg: events.append(msg))
    assert summary.ok, (summary.tasks[0]["message"], events)
    assert {t["executor"] for t in summary.tasks} == {"ssh"}
    assert ex.attempts_per_host() == [(sshd.host, 3)]
    df = drover.read_output(str(tmp_path / "out"))
    assert sorted(df["date"]) == ["2018-01-01", "2018-01-02", "2018-01-03"] and set(df["via"]) == {"ssh"}


def test_wrong_identity_is_reported_and_tasks_die(sshd, state_dir):
    opts = sshd.executor_options()
    opts["identity"] = str(sshd.dir / "hostkey")  # a key the server does not accept
    events = []
    s = drover.Scheduler(state_dir=state_dir, executors=[drover.SshExecutor([sshd.host], **opts)])
    s.submit(id="a", command=["true"])
    summary = s.run(on_executor_event=lambda ex, msg: events.append((ex, msg)))
    assert not summary.ok and summary.tasks[0]["state"] == "dead"
    assert any(ex == "ssh" and sshd.host in msg and "Permission denied (publickey)" in msg for ex, msg in events), events
    assert "Permission denied (publickey)" in summary.tasks[0]["message"]


def test_hosts_join_and_leave_a_running_job(sshd, state_dir, tmp_path):
    # One sshd reached under two names: two hosts for the pool.
    other = sshd.host.split("@", 1)[1]
    hosts_file = tmp_path / "fleet"
    hosts_file.write_text(f"# spot fleet\n{sshd.host}\n")
    ex = drover.SshExecutor(hosts_file=str(hosts_file), slots_per_host=2, **sshd.executor_options())
    assert isinstance(ex, drover.HostPoolExecutor)
    with pytest.raises(drover.ConfigError, match="must not start with '-'"):
        ex.add_host("-oProxyCommand=x")
    s = drover.Scheduler(state_dir=state_dir, executors=[ex])
    for i in range(30):
        s.submit(id=f"t{i}", command=["sh", "-c", f"sleep 0.1; echo '{{\"i\":{i}}}'"])
    changes, removed = [], []

    def on_progress(p):
        if p.succeeded >= 4 and not removed:
            ex.add_host(other)
            removed.append(True)
        if removed and len(removed) == 1 and any(h["spec"] == other and h["state"] == "up" for h in ex.hosts()):
            ex.remove_host(sshd.host)
            removed.append(True)

    summary = s.run(on_progress=on_progress, on_host_changed=lambda e, h, left: changes.append((e, h, left)))
    assert summary.ok, changes
    assert len(removed) == 2
    per_host = dict(ex.attempts_per_host())
    assert per_host[sshd.host] > 0 and per_host[other] > 0
    assert any(e == "ssh" and h["spec"] == other and h["state"] == "up" and not left for e, h, left in changes)
    assert any(h["spec"] == sshd.host and left for e, h, left in changes)
    first = changes[0][1]
    assert set(first) == {"spec", "state", "running", "started", "since", "reason"}
    # After the run: the pinned host stays for the next one; the file's host is read again then.
    assert [h["spec"] for h in ex.hosts()] == [other]
