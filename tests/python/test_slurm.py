"""SlurmExecutor from Python: tasks run as jobs of a real single-node Slurm cluster
(tests/services/slurm-cluster.sh), with per-task settings from TaskSpec(slurm=...)."""

import os
import subprocess
import tempfile
import shutil

import pytest

import drover

SCRIPT = os.path.join(os.path.dirname(__file__), "..", "services", "slurm-cluster.sh")


def available():
    return os.geteuid() == 0 and all(os.access(p, os.X_OK) for p in
                                     ("/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch"))


@pytest.fixture
def cluster():
    if not available():
        if os.environ.get("DROVER_REQUIRE_SERVICES") == "1":
            pytest.fail("Slurm is missing (slurm-wlm, munge) and DROVER_REQUIRE_SERVICES=1")
        pytest.skip("Slurm is missing (Debian: slurm-wlm, munge) or not root")
    d = tempfile.mkdtemp(prefix="drslurm-")
    out = subprocess.run([SCRIPT, "start", d], capture_output=True, text=True)
    if out.returncode != 0:
        shutil.rmtree(d, ignore_errors=True)
        if os.environ.get("DROVER_REQUIRE_SERVICES") == "1":
            pytest.fail("the Slurm cluster did not start: " + out.stdout + out.stderr)
        pytest.skip("the Slurm cluster did not start: " + out.stdout + out.stderr)
    old = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = os.path.join(d, "slurm.conf")
    try:
        yield d
    finally:
        subprocess.run([SCRIPT, "stop", d], capture_output=True)
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old
        shutil.rmtree(d, ignore_errors=True)


def test_tasks_run_as_slurm_jobs_with_their_settings(cluster, tmp_path):
    ex = drover.SlurmExecutor(slots=8, poll_interval=0.2, time_limit="10m", sbatch_args=["--nice=1"])
    assert ex.name == "slurm" and ex.slots == 8
    s = drover.Scheduler(state_dir=str(tmp_path / "state"), executors=[ex],
                         sink=drover.FileSink(str(tmp_path / "out"), fsync=False))
    script = 'printf \'{"i":%s,"p":"%s"}\\n\' "$I" "$SLURM_JOB_PARTITION"'
    for i in range(5):
        s.submit(id=f"t-{i}", command=["sh", "-c", script], env={"I": str(i)})
    s.submit(drover.TaskSpec("small", ["sh", "-c", script], env={"I": "9"}, slurm={"partition": "small", "cpus": 1}))
    summary = s.run()
    assert summary.ok, summary
    records = sorted(drover.read_output(str(tmp_path / "out"))["i"].tolist())
    assert records == [0, 1, 2, 3, 4, 9]
    parts = drover.read_output(str(tmp_path / "out")).set_index("i")["p"].to_dict()
    assert parts[9] == "small" and parts[0] == "main"


def test_slurm_settings_are_checked():
    t = drover.TaskSpec("a", ["true"], slurm={"partition": "gpu", "time_limit": "2h", "memory": 1 << 30})
    assert t.slurm["partition"] == "gpu"
    assert t.slurm["time_limit"] == 7200.0
    assert t.slurm["memory"] == 1 << 30
    assert t.to_dict()["slurm"]["partition"] == "gpu"
    with pytest.raises(drover.ConfigError, match="set by drover"):
        drover.TaskSpec("a", ["true"], slurm={"sbatch_args": ["--output=/tmp/x"]})
    with pytest.raises(drover.ConfigError, match="unknown key 'nodes'"):
        drover.TaskSpec("a", ["true"], slurm={"nodes": 2})
    with pytest.raises(TypeError):
        drover.TaskSpec("a", ["true"], slurm={"cpus": "four"})
    with pytest.raises(TypeError):
        drover.TaskSpec("a", ["true"], slurm="long")
    with pytest.raises(drover.ConfigError, match="set by drover"):
        drover.SlurmExecutor(sbatch_args=["--array=1-5"])


def test_a_partition_the_cluster_refuses_names_the_key(cluster, tmp_path):
    ex = drover.SlurmExecutor(partition="nope", poll_interval=0.2)
    s = drover.Scheduler(state_dir=str(tmp_path / "state"), executors=[ex],
                         sink=drover.FileSink(str(tmp_path / "out"), fsync=False))
    s.submit(id="a", command=["true"])
    summary = s.run()
    assert not summary.ok
    message = summary.tasks[0]["message"]
    assert "partition (--partition=nope) is refused by sbatch" in message
    assert "invalid partition" in message
