#include "cli/status.hpp"

#include "cli/progress.hpp"

#include "detail/utf8.hpp"
#include "detail/unix_time.hpp"

#include <fmt/format.h>

#include <chrono>
#include <ctime>

namespace drover::cli {

namespace {

std::string utc_time(std::int64_t ms) {
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
    return buf;
}

}  // namespace

// Everything here comes from the journal, a file anyone who can write the state directory
// can change: no control characters reach the terminal (detail::terminal_safe).
std::string status_text(const journal_status& s) {
    using detail::terminal_safe;
    std::string out = fmt::format("drover: job '{}' in {} — {}\n", terminal_safe(s.job_name),
                                  terminal_safe(s.state_dir.string()),
                                  s.live ? "a run is in progress" : "no run in progress");
    if (s.last_run)
        out += fmt::format("  last run: {} {}, started {}{} ({} run(s) in the journal)\n",
                           terminal_safe(s.last_run->run_id), terminal_safe(s.last_run->status),
                           utc_time(s.last_run->started_ms),
                           s.last_run->finished_ms ? ", ended " + utc_time(s.last_run->finished_ms) : std::string(),
                           s.runs);
    out += fmt::format("  tasks: {}", s.total);
    for (const char* k : {"succeeded", "running", "pending", "retry_wait", "dead", "upstream_failed", "skipped"}) {
        auto it = s.counts.find(k);
        out += fmt::format(", {} {}", it == s.counts.end() ? 0 : it->second, k);
    }
    if (auto it = s.counts.find("cancelled"); it != s.counts.end() && it->second > 0)
        out += fmt::format(", {} cancelled", it->second);
    out += "\n";
    if (!s.running.empty()) {
        out += "  running:\n";
        auto now = detail::unix_now_ms();
        for (const auto& a : s.running)
            out += fmt::format("    {} attempt {} on {}, for {}\n", terminal_safe(a.task_id), a.attempt,
                               terminal_safe(a.executor),
                               human_duration(duration(std::max<std::int64_t>(0, now - a.started_ms))));
    }
    if (!s.hosts.empty()) {
        out += s.live ? "  hosts:\n" : "  hosts (when the last run ended):\n";
        for (const auto& h : s.hosts)
            out += fmt::format("    {} {}: {}{}{}\n", terminal_safe(h.executor), terminal_safe(h.spec),
                               terminal_safe(h.state), h.since_ms ? " since " + utc_time(h.since_ms) : std::string(),
                               h.reason.empty() ? std::string() : ": " + terminal_safe(h.reason));
    }
    if (!s.dead.empty()) {
        out += "  not succeeded:\n";
        std::size_t shown = 0;
        for (const auto& d : s.dead) {
            if (++shown > 20) {
                out += fmt::format("    ... and {} more (--json lists all)\n", s.dead.size() - 20);
                break;
            }
            out += fmt::format("    {} ({}): {}{}\n", terminal_safe(d.task_id), terminal_safe(d.state),
                               terminal_safe(d.message.empty() ? d.failure : d.message),
                               d.state == "dead" ? fmt::format(" after {} attempt(s)", d.attempts) : std::string());
        }
    }
    return out;
}

}  // namespace drover::cli
