"""DockerExecutor: options, validation and the error a run reports when no daemon answers,
plus the TaskSpec image/container fields. The real-dockerd fleet tests are the C++ ones
(tests/services/dockerd.*); these need no daemon."""

import socket

import pytest

import drover


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket goes


def test_malformed_host_is_a_config_error_naming_it():
    with pytest.raises(drover.ConfigError, match="docker host 'ftp://127.0.0.1:1'"):
        drover.DockerExecutor(hosts=["ftp://127.0.0.1:1"])


def test_zero_slots_is_a_config_error():
    with pytest.raises(drover.ConfigError, match="slots per host must be >= 1"):
        drover.DockerExecutor(hosts=["tcp://127.0.0.1:2375"], slots_per_host=0)


def test_bad_durations_and_types():
    with pytest.raises(drover.ConfigError):
        drover.DockerExecutor(hosts=["tcp://127.0.0.1:2375"], down_timeout="soon")
    with pytest.raises(drover.ConfigError):
        drover.DockerExecutor(hosts=["tcp://127.0.0.1:2375"], connect_timeout=-1)
    with pytest.raises(TypeError):
        drover.DockerExecutor(hosts="tcp://127.0.0.1:2375", slots_per_host=[1])
    with pytest.raises(TypeError):
        drover.DockerExecutor(["tcp://127.0.0.1:2375"])  # keyword-only


def test_options_and_repr():
    e = drover.DockerExecutor(hosts=["tcp://127.0.0.1:2375", "unix:///tmp/none.sock"], slots_per_host=3,
                              connect_timeout="2s", down_timeout=1.5)
    assert e.slots == 6
    assert e.name == "docker"
    assert repr(e).startswith("DockerExecutor([") and "slots=6" in repr(e)


def test_unreachable_daemon_fails_the_run_naming_the_host(tmp_path):
    port = closed_port()
    host = f"tcp://127.0.0.1:{port}"
    s = drover.Scheduler(state_dir=str(tmp_path / "state"),
                         executors=[drover.DockerExecutor(hosts=[host], connect_timeout=1, down_timeout=1,
                                                          reprobe_initial=0.2, reprobe_max=0.5,
                                                          default_image="busybox")],
                         sink=drover.FileSink(str(tmp_path / "out"), fsync=False))
    s.submit(id="t", command=["true"])
    try:
        summary = s.run()
    except drover.Error as e:
        message = str(e)
    else:
        assert not summary.ok
        message = " ".join(str(t["message"]) for t in summary.tasks)
    assert f"127.0.0.1:{port}" in message, message


def test_task_image_and_container_fields():
    t = drover.TaskSpec("c", ["echo", "hi"], image="busybox:1.36",
                        container={"memory": 64 << 20, "cpus": 0.5, "network": "host", "pull": "missing"})
    assert t.image == "busybox:1.36"
    assert t.container == {"memory": 64 << 20, "cpus": 0.5, "network": "host", "pull": "missing"}
    assert t.to_dict()["container"]["network"] == "host"
    assert "image='busybox:1.36'" in repr(t)
    d = drover.TaskSpec("d", ["true"])
    assert d.image == "" and d.container == {"memory": 0, "cpus": 0.0, "network": "none", "pull": "never"}
    d.container = {"cpus": 2}
    assert d.container["cpus"] == 2.0


def test_container_validation():
    with pytest.raises(drover.ConfigError, match="network must be 'none' or 'host'"):
        drover.TaskSpec("x", ["true"], container={"network": "bridge"})
    with pytest.raises(drover.ConfigError, match="pull must be"):
        drover.TaskSpec("x", ["true"], container={"pull": "always"})
    with pytest.raises(drover.ConfigError, match="unknown key 'memroy'"):
        drover.TaskSpec("x", ["true"], container={"memroy": 1})
    with pytest.raises(drover.ConfigError, match="memory must be >= 0"):
        drover.TaskSpec("x", ["true"], container={"memory": -1})
    with pytest.raises(TypeError):
        drover.TaskSpec("x", ["true"], container={"memory": "1g"})
    with pytest.raises(TypeError):
        drover.TaskSpec("x", ["true"], container="host")


def test_submit_accepts_image_and_container(tmp_path):
    s = drover.Scheduler(state_dir=str(tmp_path / "state"))
    s.submit(id="a", command=["true"], image="busybox", container={"network": "host"})


def test_reuse_is_checked():
    drover.DockerExecutor(hosts=["tcp://127.0.0.1:1"], reuse="slot")
    drover.DockerExecutor(hosts=["tcp://127.0.0.1:1"], reuse="none")
    with pytest.raises(drover.ConfigError, match='reuse must be "none" or "slot", got "warm"'):
        drover.DockerExecutor(hosts=["tcp://127.0.0.1:1"], reuse="warm")
