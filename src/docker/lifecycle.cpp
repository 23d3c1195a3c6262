#include "docker/lifecycle.hpp"

#include <fmt/format.h>

namespace drover::docker {

using boost::beast::http::verb;

std::string_view to_string(step s) noexcept {
    switch (s) {
        case step::pull: return "pull";
        case step::create: return "create";
        case step::start: return "start";
        case step::logs: return "logs";
        case step::rest: return "rest";
        case step::wait: return "wait";
        case step::inspect: return "inspect";
        case step::exec_create: return "exec create";
        case step::exec_start: return "exec start";
        case step::exec_inspect: return "exec inspect";
        case step::remove: return "remove";
        case step::done: return "done";
    }
    return "?";
}

lifecycle::lifecycle(std::string host, std::string name, std::string image, std::string create_body, pull_policy pull,
                     std::optional<warm_exec> warm)
    : host_(std::move(host)), name_(std::move(name)), image_(std::move(image)), create_body_(std::move(create_body)),
      pull_(pull), warm_(std::move(warm)) {
    if (warm_) id_ = warm_->container_id;
}

action lifecycle::request(step s) {
    step_ = s;
    action a;
    a.what = action::send;
    a.at = s;
    switch (s) {
        case step::pull:
            a.method = verb::post;
            a.target = pull_target(image_);
            a.streamed = true;
            a.unbounded = true;
            break;
        case step::create:
            a.method = verb::post;
            a.target = create_target(name_);
            a.body = create_body_;
            break;
        case step::start: a.method = verb::post; a.target = start_target(id_); break;
        case step::logs:
            a.target = logs_target(id_);
            a.streamed = true;
            a.unbounded = true;
            break;
        case step::rest:
            a.target = logs_all_target(id_);
            a.streamed = true;
            a.unbounded = true;
            break;
        case step::wait:
            a.method = verb::post;
            a.target = wait_target(id_);
            a.unbounded = true;
            break;
        case step::inspect: a.target = inspect_target(id_); break;
        case step::exec_create:
            a.method = verb::post;
            a.target = exec_create_target(id_);
            a.body = warm_->exec_body;
            break;
        case step::exec_start:
            a.method = verb::post;
            a.target = exec_start_target(exec_id_);
            a.body = std::string(exec_start_body);
            a.streamed = true;
            a.unbounded = true;
            break;
        case step::exec_inspect: a.target = exec_inspect_target(exec_id_); break;
        case step::remove:
            removing_ = true;
            a.method = verb::delete_;
            a.target = remove_target(id_);
            break;
        case step::done: return finish();
    }
    return a;
}

action lifecycle::begin() { return request(warm_ && !id_.empty() ? step::exec_create : step::create); }

action lifecycle::finish() {
    step_ = step::done;
    if (cancelled_ && !lost_) {
        result_ = {};
        result_.failure = failure_class::cancelled;
        result_.message = "cancelled";
    }
    action a;
    a.what = action::finish;
    a.at = step::done;
    return a;
}

action lifecycle::fail_then_remove(failure_class f, std::string message) {
    if (!have_result_) {
        result_.failure = f;
        result_.message = std::move(message);
        have_result_ = true;
    }
    if (id_.empty()) return finish();
    return request(step::remove);
}

action lifecycle::on_response(step s, unsigned status, std::string_view body) {
    if (s != step_ || step_ == step::done) return {};
    try {
        switch (s) {
            case step::pull: {
                if (status != 200)
                    return fail_then_remove(failure_class::image_missing,
                                            fmt::format("image {} missing on {} and the pull failed: {}", image_, host_,
                                                        error_message(status, body)));
                if (auto e = pull_error(body))
                    return fail_then_remove(failure_class::image_missing,
                                            fmt::format("image {} missing on {} and the pull failed: {}", image_, host_, *e));
                pulled_ = true;
                if (cancelled_) return finish();
                return request(step::create);
            }
            case step::create: {
                if (status == 201) {
                    id_ = parse_create(body);
                    if (cancelled_) return request(step::remove);
                    return request(step::start);
                }
                if (cancelled_) return finish();
                if (status == 404 && pull_ == pull_policy::missing && !pulled_) return request(step::pull);
                if (status == 404)
                    return fail_then_remove(failure_class::image_missing,
                                            fmt::format("image {} not found on {}: {}", image_, host_,
                                                        error_message(status, body)));
                return fail_then_remove(failure_class::spawn_error, fmt::format("cannot create container on {}: {}",
                                                                                host_, error_message(status, body)));
            }
            case step::start:
                if (status == 204 || status == 304) return request(warm_ ? step::exec_create : step::logs);
                return fail_then_remove(failure_class::spawn_error, fmt::format("cannot start container on {}: {}",
                                                                                host_, error_message(status, body)));
            case step::logs:
            case step::rest: return on_logs_done(status, body, {});
            case step::wait:
                if (status != 200)
                    return fail_then_remove(failure_class::spawn_error, fmt::format("cannot wait for container on {}: {}",
                                                                                    host_, error_message(status, body)));
                parse_wait(body);  // validates; the exit code comes from inspect along with OOMKilled
                waited_ = true;
                return request(step::inspect);
            case step::inspect: {
                if (status != 200)
                    return fail_then_remove(failure_class::spawn_error, fmt::format("cannot inspect container on {}: {}",
                                                                                    host_, error_message(status, body)));
                auto st = parse_inspect(body);
                // The log stream ends when the container stops, so it has usually stopped
                // by now; wait only in the rare case the daemon has not recorded that yet.
                if (st.running && !waited_) return request(step::wait);
                if (!have_result_) {
                    result_.exit_code = static_cast<int>(st.exit_code);
                    if (st.oom_killed) {
                        result_.failure = failure_class::oom_killed;
                        result_.message = fmt::format("OOM killed on {} (over its memory limit; exit code {})", host_,
                                                      st.exit_code);
                    } else if (!st.error.empty() && st.exit_code != 0) {
                        result_.failure = failure_class::spawn_error;
                        result_.message = fmt::format("container failed on {}: {}", host_, st.error);
                    } else if (st.exit_code != 0) {
                        result_.failure = failure_class::exit_code;
                        result_.message = fmt::format("exit code {} on {}", st.exit_code, host_);
                    }
                    have_result_ = true;
                }
                return request(step::rest);
            }
            case step::exec_create:
            case step::exec_start:
            case step::exec_inspect: return on_exec_response(s, status, body);
            case step::remove:
                // 404: already gone. Anything else leaves a container behind for the reaper;
                // the attempt's own result stands.
                return finish();
            case step::done: return {};
        }
    } catch (const protocol_error& e) {
        return fail_then_remove(failure_class::spawn_error, fmt::format("{}: {}", host_, e.what()));
    }
    return {};
}

action lifecycle::on_exec_response(step s, unsigned status, std::string_view body) {
    switch (s) {
        case step::exec_create:
            if (status == 201) {
                exec_id_ = parse_exec_create(body);
                return request(step::exec_start);
            }
            // The slot's container is gone or stopped (removed by hand, killed, the daemon
            // restarted): not the task's fault. Requeued without spending a retry.
            if (status == 404 || status == 409)
                return fail_then_remove(failure_class::executor_lost,
                                        fmt::format("warm container {} on {} is gone: {}", name_, host_,
                                                    error_message(status, body)));
            return fail_then_remove(failure_class::spawn_error,
                                    fmt::format("cannot exec in container {} on {}: {}", name_, host_,
                                                error_message(status, body)));
        case step::exec_start: return on_logs_done(status, body, {});
        case step::exec_inspect: {
            if (status != 200)
                return fail_then_remove(failure_class::spawn_error, fmt::format("cannot inspect exec on {}: {}", host_,
                                                                                error_message(status, body)));
            auto st = parse_exec_inspect(body);
            // The stream ends when the process exits; the daemon may record it a moment later.
            if (st.running) {
                if (++inspections_ < 100) return request(step::exec_inspect);
                return fail_then_remove(failure_class::spawn_error,
                                        fmt::format("exec on {} still running after its output ended", host_));
            }
            result_.exit_code = static_cast<int>(st.exit_code);
            if (st.exit_code == 0) {
                have_result_ = true;
                return finish();  // the container stays for the next task
            }
            // Docker records OOMKilled for a container's main process only: an exec killed for
            // the memory limit is a SIGKILL like any other.
            return fail_then_remove(failure_class::exit_code,
                                    st.exit_code == 137
                                        ? fmt::format("exit code 137 on {}: killed (SIGKILL; over the container's "
                                                      "memory limit?)", host_)
                                        : fmt::format("exit code {} on {}", st.exit_code, host_));
        }
        default: return {};
    }
}

action lifecycle::on_logs_done(unsigned status, std::string_view body, std::string stream_error) {
    if (step_ == step::exec_start) {
        if (!stream_error.empty())
            return fail_then_remove(failure_class::spawn_error,
                                    fmt::format("corrupt exec stream from {}: {}", host_, stream_error));
        if (status != 200 && status != 101)
            return fail_then_remove(failure_class::spawn_error,
                                    fmt::format("cannot start exec on {}: {}", host_, error_message(status, body)));
        return request(step::exec_inspect);
    }
    if (step_ == step::rest) {
        // Output may be missing: whatever inspect said, the attempt cannot count as a success.
        if (!stream_error.empty() || status != 200) {
            have_result_ = false;
            result_ = {};
            return fail_then_remove(failure_class::spawn_error,
                                    !stream_error.empty()
                                        ? fmt::format("corrupt log stream from {}: {}", host_, stream_error)
                                        : fmt::format("cannot read container logs on {}: {}", host_,
                                                      error_message(status, body)));
        }
        return request(step::remove);
    }
    if (step_ != step::logs) return {};
    if (!stream_error.empty())
        return fail_then_remove(failure_class::spawn_error,
                                fmt::format("corrupt log stream from {}: {}", host_, stream_error));
    if (status != 200)
        return fail_then_remove(failure_class::spawn_error,
                                fmt::format("cannot read container logs on {}: {}", host_, error_message(status, body)));
    return request(step::inspect);
}

action lifecycle::on_transport_error(step s, std::string error) {
    if (s != step_ || step_ == step::done) return {};
    lost_ = !cancelled_;
    if (!have_result_ || lost_) {
        result_ = {};
        result_.failure = failure_class::executor_lost;
        result_.message = fmt::format("Docker daemon unreachable during {}: {}", to_string(s), std::move(error));
        have_result_ = true;
    }
    return finish();
}

action lifecycle::on_cancel() {
    if (cancelled_ || step_ == step::done) return {};
    cancelled_ = true;
    switch (step_) {
        case step::create:
        case step::pull:
        case step::remove: return {};  // its answer decides what to remove
        default: {
            auto a = request(step::remove);
            a.abort_current = true;
            return a;
        }
    }
}

}  // namespace drover::docker
