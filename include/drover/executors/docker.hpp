#pragma once
/// @file
/// Runs attempts as containers on a fleet of Docker daemons, over the Engine API.

#include <drover/executor.hpp>
#include <drover/executors/docker_task.hpp>
#include <drover/executors/host_pool.hpp>
#include <drover/export.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace drover {

/// TLS for tcp:// daemons (mutual TLS, as `dockerd --tlsverify` expects).
struct DROVER_API docker_tls_options {
    bool enabled = false;     ///< TLS on every tcp:// host (https:// hosts always use TLS)
    std::string ca_file{};    ///< PEM CA that signed the daemons' certificates; empty = system CAs
    std::string cert_file{};  ///< PEM client certificate; empty = none
    std::string key_file{};   ///< PEM key of cert_file
    bool verify = true;       ///< verify the daemon's certificate and address
};

/// What a task runs in.
enum class container_reuse {
    /// A new container per attempt (created, started, removed): nothing is shared.
    none,
    /// Warm containers: one long-lived container per slot (and image and container settings),
    /// each task an exec in it with its own env and workdir. Tasks of one slot share the
    /// container's filesystem; a task that fails, times out or is cancelled gets its container
    /// removed (its whole process tree with it) and the next task a fresh one. The image needs
    /// `sh` and `setsid` (busybox, alpine, debian, ...). See docs/executors.md.
    slot,
};

/// `hosts` (and the lines of hosts_file and hosts_command): daemons,
/// "unix:///var/run/docker.sock", "tcp://127.0.0.1:2375", "https://host:2376". No hosts and no
/// host source = from the environment (see docker_options_from_env), as the docker CLI does.
struct DROVER_API docker_executor_options : host_pool_options {
    docker_tls_options tls{};
    std::string default_image{};             ///< for tasks without an image; empty = such tasks fail
    duration connect_timeout{10000};         ///< TCP connect plus TLS handshake
    duration request_timeout{60000};         ///< create, start, inspect, remove, ping (not logs or wait)
    duration ping_interval{5000};            ///< health probe (GET /_ping) of every host that is up
    std::size_t max_line_bytes = 16u << 20;  ///< longer stdout lines become bad records
    bool reap = true;                        ///< remove leftover containers of dead runs (see docs)
    container_reuse reuse = container_reuse::none;
};

/// Fills hosts and TLS the way the docker CLI does when no host is configured:
/// DOCKER_HOST (default unix:///var/run/docker.sock), DOCKER_TLS_VERIFY (non-empty = TLS
/// with verification) and DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem; default ~/.docker).
/// Options that already name hosts, or a hosts_file or hosts_command, are returned unchanged.
DROVER_API docker_executor_options docker_options_from_env(docker_executor_options o);

/// Per attempt: create a container named drover-<run>-<task>-<attempt> (labels drover.run,
/// drover.task, drover.attempt, drover.state), start it, follow its logs (stdout lines are
/// records, stderr goes to the attempt log), wait, inspect (exit code, OOMKilled), remove.
/// Timeout and cancel remove the container by force (kill + remove). Tasks pick their image,
/// limits, network and pull policy with their docker_task_options extension. With
/// reuse = container_reuse::slot, attempts run as execs in warm containers instead
/// (drover-<run>-warm-<n>, label drover.warm), removed when the run ends.
///
/// Health (host_pool_executor): every host is pinged when it joins and every ping_interval; a
/// host that fails is marked down, its attempts end with failure_class::executor_lost (the
/// scheduler retries them elsewhere without spending retries) and it is re-probed with
/// backoff until it answers again. TLS and protocol failures reject a host until it leaves the
/// list and joins again. When no host has been usable for down_timeout, failed() says so.
///
/// Reaping: at start and when a host (re)joins, containers labelled with this state
/// directory whose run is not live (no process holds that run's lock file under
/// <state_dir>/docker/) are removed, and so are containers of this run that are not one of
/// its running attempts. See docs/executors.md.
class DROVER_API docker_executor final : public host_pool_executor {
public:
    explicit docker_executor(docker_executor_options opts);

    std::string name() const override { return "docker"; }
    std::vector<const task_extension_type*> task_extension_types() const override {
        return {&task_extension_type_of<docker_task_options>()};
    }

private:
    struct impl;
};

}  // namespace drover
