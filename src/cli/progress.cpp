#include "cli/progress.hpp"

#include "detail/utf8.hpp"

#include <fmt/format.h>

#include <sys/ioctl.h>
#include <unistd.h>

namespace drover::cli {

namespace {
int terminal_width(std::FILE* f) {
    winsize ws{};
    if (::ioctl(::fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20) return ws.ws_col;
    return 80;
}
}  // namespace

std::string human_duration(duration d) {
    auto ms = d.count();
    if (ms < 60'000) return fmt::format("{:.1f}s", static_cast<double>(ms) / 1000.0);
    auto s = ms / 1000;
    if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
    return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

std::size_t tasks_done(const progress& p) { return p.succeeded + p.dead + p.upstream_failed; }

double tasks_per_second(const progress& p) {
    double secs = static_cast<double>(p.elapsed.count()) / 1000.0;
    return secs > 0 ? static_cast<double>(p.ran()) / secs : 0.0;
}

// "12/20" counts what reached an end (succeeded, resumed, dead, upstream-failed), never the
// skipped tasks of a cancel or halt nor the tasks cancelled one by one. Then each kind on
// its own: "done" is what this run ran and succeeded; resumed, upstream-failed, skipped and
// cancelled show once there are some. The rate is over the tasks this run ran (progress::ran).
std::string progress_reporter::line(const progress& p) const {
    std::size_t finished = tasks_done(p);
    double rate = tasks_per_second(p);
    std::size_t left = p.total - std::min(p.total, finished + p.skipped + p.cancelled);
    std::string eta = "--";
    if (rate > 0 && left > 0) eta = human_duration(duration(static_cast<long>(static_cast<double>(left) / rate * 1000.0)));
    auto some = [](std::string_view what, std::size_t n) {
        return n ? fmt::format("  {} {}", what, n) : std::string();
    };
    // Of the running tasks, those whose output commits while their slots run other tasks.
    std::string committing = p.committing ? fmt::format(" ({} committing)", p.committing) : std::string();
    return fmt::format("{}/{}  done {}{}  running {}{}  retrying {}  dead {}{}{}{}  {:.1f}/s  ETA {}", finished, p.total,
                       p.succeeded - std::min(p.succeeded, p.resumed), some("resumed", p.resumed), p.running,
                       committing, p.retry_wait, p.dead, some("upstream-failed", p.upstream_failed), some("skipped", p.skipped),
                       some("cancelled", p.cancelled), rate, eta);
}

void progress_reporter::on_task_finished(const task_spec& t, const attempt_outcome& o, task_state next) {
    if (o_.quiet || next == task_state::succeeded || next == task_state::skipped) return;
    clear_line();
    // Messages carry what executors and tasks said: no control characters to the terminal.
    auto message = detail::terminal_safe(o.message);
    if (next == task_state::retry_wait)
        fmt::print(o_.out, "retry  {} attempt {} failed: {}\n", t.id, o.attempt, message);
    else if (next == task_state::upstream_failed)
        fmt::print(o_.out, "not run {}: {}\n", t.id, message);
    else if (next == task_state::cancelled)
        fmt::print(o_.out, "cancelled {}\n", t.id);
    else if (next == task_state::ready)
        fmt::print(o_.out, "lost   {} attempt {}: {} (queued again)\n", t.id, o.attempt, message);
    else
        fmt::print(o_.out, "dead   {} after {} attempt(s): {}\n", t.id, o.attempt, message);
    std::fflush(o_.out);
}

void progress_reporter::on_progress(const progress& p) {
    if (o_.quiet) return;
    if (o_.terminal) {
        int width = terminal_width(o_.out);
        std::string text = line(p);
        int bar = std::max(10, width - static_cast<int>(text.size()) - 4);
        int filled = p.total ? static_cast<int>(static_cast<double>(bar) * static_cast<double>(tasks_done(p)) /
                                                static_cast<double>(p.total))
                             : bar;
        std::string out = "\r[" + std::string(filled, '#') + std::string(bar - filled, '-') + "] " + text;
        if (static_cast<int>(out.size()) > width) out.resize(width);
        fmt::print(o_.out, "{}\x1b[K", out);
        std::fflush(o_.out);
        line_shown_ = true;
        return;
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_plain_ < std::chrono::seconds(5) && p.finished() < p.total) return;
    last_plain_ = now;
    fmt::print(o_.out, "progress {}\n", line(p));
    std::fflush(o_.out);
}

void progress_reporter::on_executor_event(std::string_view executor, std::string_view message) {
    // Host trouble is worth seeing even with --quiet: it explains retries and slow runs.
    clear_line();
    fmt::print(o_.out, "{}: {}\n", detail::terminal_safe(executor), detail::terminal_safe(message));
    std::fflush(o_.out);
}

void progress_reporter::on_run_finished(const run_summary&) { clear_line(); }

void progress_reporter::clear_line() {
    if (!line_shown_) return;
    fmt::print(o_.out, "\r\x1b[K");
    std::fflush(o_.out);
    line_shown_ = false;
}

}  // namespace drover::cli
