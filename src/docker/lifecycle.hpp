#pragma once
// One attempt's container, as a state machine without I/O:
//
//   [pull] -> create -> start -> logs (follow) -> inspect [-> wait -> inspect] -> rest -> remove -> done
//
// (wait only when inspect still says "running" after the log stream ended.) `rest` reads the
// whole log once more after the container stopped: Docker 20.10 can end a follow stream before
// the container's last, unterminated line reached it; the driver skips what it already has.
// The driver (src/executors/docker.cpp) sends the request that each action names, streams
// the logs itself, and reports every answer back. A cancel (timeout or run cancelled) goes
// straight to remove (force=1 kills the container); a create that is still in flight is
// let finish first so the container it makes is removed too. A transport failure means the
// daemon is unreachable: the attempt ends as executor_lost without a remove (the reaper
// removes the container when the host is back).
//
// Warm (docker_executor_options::reuse = slot), in a slot's long-lived container:
//
//   [[pull] -> create -> start] -> exec_create -> exec_start (stream) -> exec_inspect -> done
//
// (create and start only when the slot has no container yet.) A success keeps the container
// for the slot's next task (keep_container()); a failure, timeout or cancel removes it, so
// the next task gets a fresh one and a broken task's state does not leak.

#include <drover/executor.hpp>

#include "docker/api.hpp"

#include <boost/beast/http/verb.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace drover::docker {

enum class step { pull, create, start, logs, wait, inspect, rest, exec_create, exec_start, exec_inspect, remove, done };
std::string_view to_string(step) noexcept;

struct action {
    enum kind {
        send,    ///< send `method target body` (abort the request in flight first when abort_current)
        wait,    ///< nothing to do now: keep waiting for the request in flight
        finish,  ///< the attempt is over: complete it with result()
    } what = wait;
    step at = step::create;
    boost::beast::http::verb method = boost::beast::http::verb::get;
    std::string target;
    std::string body;
    bool abort_current = false;
    bool streamed = false;  ///< logs, exec_start and pull: the driver reads the body as it comes
    bool unbounded = false; ///< logs, exec_start and wait last as long as the task: no request timeout
};

/// A warm attempt: the slot's container (empty id: create and start it first) and the exec.
struct warm_exec {
    std::string container_id;
    std::string exec_body;  ///< exec_create_body(task)
};

class lifecycle {
public:
    /// `host` names the daemon in messages ("tcp://127.0.0.1:2375").
    lifecycle(std::string host, std::string name, std::string image, std::string create_body, pull_policy pull,
              std::optional<warm_exec> warm = std::nullopt);

    action begin();
    /// The answer to the request of step `s` (ignored unless `s` is the current step).
    action on_response(step s, unsigned status, std::string_view body);
    /// The logs, rest or exec_start stream ended (its status; stream_error when the frames
    /// were corrupt).
    action on_logs_done(unsigned status, std::string_view body, std::string stream_error);
    /// The request of step `s` failed below HTTP (connection refused or reset, timeout, TLS).
    action on_transport_error(step s, std::string error);
    /// Timeout or cancel.
    action on_cancel();

    step current() const noexcept { return step_; }
    bool cancelled() const noexcept { return cancelled_; }
    const std::string& container_id() const noexcept { return id_; }
    const execution_result& result() const noexcept { return result_; }
    /// True when the attempt ended because the daemon could not be reached.
    bool daemon_lost() const noexcept { return lost_; }
    /// Warm, done: the container is up and clean for the slot's next task.
    bool keep_container() const noexcept {
        return warm_ && step_ == step::done && !removing_ && !lost_ && !cancelled_ && !id_.empty() &&
               result_.failure == failure_class::none;
    }

private:
    action request(step s);
    action fail_then_remove(failure_class f, std::string message);
    action finish();

    action on_exec_response(step s, unsigned status, std::string_view body);

    std::string host_, name_, image_, create_body_;
    pull_policy pull_;
    std::optional<warm_exec> warm_;
    std::string exec_id_;
    int inspections_ = 0;
    bool removing_ = false;
    bool pulled_ = false;
    bool waited_ = false;
    bool cancelled_ = false;
    bool lost_ = false;
    step step_ = step::create;
    std::string id_;
    execution_result result_;
    bool have_result_ = false;
};

}  // namespace drover::docker
