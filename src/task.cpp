#include <drover/outcome.hpp>
#include <drover/task.hpp>

namespace drover {

bool valid_task_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 200 || id.front() == '.' || id.front() == '-') return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-' || c == '=';
        if (!ok) return false;
    }
    return true;
}

std::string_view to_string(failure_class f) noexcept {
    switch (f) {
        case failure_class::none: return "none";
        case failure_class::exit_code: return "exit_code";
        case failure_class::signal: return "signal";
        case failure_class::timeout: return "timeout";
        case failure_class::spawn_error: return "spawn_error";
        case failure_class::executor_lost: return "executor_lost";
        case failure_class::output_error: return "output_error";
        case failure_class::sink_unavailable: return "sink_unavailable";
        case failure_class::cancelled: return "cancelled";
        case failure_class::oom_killed: return "oom_killed";
        case failure_class::image_missing: return "image_missing";
        case failure_class::control_error: return "control_error";
    }
    return "unknown";
}

std::string_view to_string(task_state s) noexcept {
    switch (s) {
        case task_state::pending: return "pending";
        case task_state::ready: return "ready";
        case task_state::running: return "running";
        case task_state::retry_wait: return "retry_wait";
        case task_state::succeeded: return "succeeded";
        case task_state::dead: return "dead";
        case task_state::skipped: return "skipped";
        case task_state::upstream_failed: return "upstream_failed";
        case task_state::cancelled: return "cancelled";
    }
    return "unknown";
}

}  // namespace drover
