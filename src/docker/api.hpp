#pragma once
// The Docker Engine API v1.41 as drover uses it: request targets and bodies, and parsers for
// the daemon's JSON answers. No I/O here: everything is testable with canned responses, and
// every parser turns malformed or hostile input into a protocol_error that says what was wrong.

#include <drover/executors/docker_task.hpp>
#include <drover/task.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace drover::docker {

inline constexpr std::string_view api_prefix = "/v1.41";

/// A daemon answered something drover cannot understand.
struct protocol_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Percent-encodes everything but unreserved characters (RFC 3986).
std::string url_encode(std::string_view s);

/// "drover-<run>-<task>-<attempt>", with characters Docker does not allow in names ('=')
/// replaced by '_'. Docker names match [a-zA-Z0-9][a-zA-Z0-9_.-]*.
std::string container_name(std::string_view run_id, std::string_view task_id, int attempt);

/// Labels every drover container carries.
struct container_labels {
    std::string run;     ///< drover.run
    std::string task;    ///< drover.task
    int attempt = 0;     ///< drover.attempt
    std::string state;   ///< drover.state: identifies the scheduler's state directory (for reaping)
};

/// The body of POST /containers/create: Cmd, Env, WorkingDir, labels, no TTY and no stdin,
/// HostConfig with NetworkMode none|host, Memory (and MemorySwap = Memory: no swap on top),
/// NanoCpus and the json-file log driver (so logs can be followed).
std::string create_body(const task_spec& t, const std::string& image, const container_labels& l);

/// Warm containers (docker_executor_options::reuse): a slot's long-lived container, with
/// create_body's image and HostConfig, no task env, and a command that only waits until the
/// container is removed; labelled drover.warm=1 (drover.task empty).
std::string warm_create_body(const task_spec& t, const std::string& image, const container_labels& l);
/// "drover-<run>-warm-<n>".
std::string warm_container_name(std::string_view run_id, std::uint64_t n);
/// Tasks whose keys are equal can run in the same warm container: the image and the
/// container settings (network, memory, cpus).
std::string warm_key(const task_spec& t, const std::string& image);
/// The body of POST /containers/{id}/exec: the task's command with its env and workdir,
/// run by `sh` in a session of its own; whatever the task leaves in that session is killed
/// when it ends. stdout and stderr attached, no TTY, no stdin.
std::string exec_create_body(const task_spec& t);
std::string exec_create_target(std::string_view container_id);
std::string exec_start_target(std::string_view exec_id);  ///< body: exec_start_body
inline constexpr std::string_view exec_start_body = R"({"Detach":false,"Tty":false})";
std::string exec_inspect_target(std::string_view exec_id);
/// POST /containers/{id}/exec answered 201: the exec's Id.
std::string parse_exec_create(std::string_view body);
struct exec_state {
    bool running = false;
    std::int64_t exit_code = -1;
};
exec_state parse_exec_inspect(std::string_view body);

/// "/v1.41/containers/create?name=..." etc.
std::string create_target(std::string_view name);
std::string start_target(std::string_view id);
std::string logs_target(std::string_view id);   ///< follow=1, stdout and stderr
std::string logs_all_target(std::string_view id);  ///< the whole log once (no follow), stdout and stderr
std::string wait_target(std::string_view id);   ///< condition=not-running
std::string inspect_target(std::string_view id);
std::string remove_target(std::string_view id); ///< force=1 (kills a running container), v=1
std::string pull_target(std::string_view image);  ///< POST /images/create?fromImage=..&tag=..
/// GET /containers/json?all=1 filtered by one label ("drover.state=abc" or just "drover.run").
std::string list_target(std::string_view label_filter);

/// The daemon's own error text from an error body ({"message": "..."}), else the body itself
/// (trimmed and clipped); "HTTP <status>" when there is nothing.
std::string error_message(unsigned status, std::string_view body);

/// POST /containers/create answered 201: the new container's Id.
std::string parse_create(std::string_view body);

struct wait_result {
    std::int64_t status_code = -1;
    std::string error;  ///< Error.Message, when the daemon could not wait
};
wait_result parse_wait(std::string_view body);

struct container_state {
    bool running = false;
    std::int64_t exit_code = -1;
    bool oom_killed = false;
    std::string error;  ///< State.Error (e.g. the executable was not found)
};
container_state parse_inspect(std::string_view body);

struct container_summary {
    std::string id;
    std::string name;                            ///< without the leading '/'
    std::string state;                           ///< "running", "exited", "created", ...
    std::map<std::string, std::string> labels;
};
std::vector<container_summary> parse_list(std::string_view body);

/// POST /images/create streams JSON progress objects; the first {"error": ...} or
/// {"errorDetail": {"message": ...}} in it, if any.
std::optional<std::string> pull_error(std::string_view body);

}  // namespace drover::docker
