#pragma once
// The CLI's view of a run, fed by the scheduler's observer hooks: a live progress line
// on a terminal, plain log lines otherwise.

#include <drover/observer.hpp>

#include <chrono>
#include <cstdio>

namespace drover::cli {

struct progress_options {
    bool terminal = false;   ///< redraw one line in place
    bool quiet = false;      ///< print nothing while running
    std::FILE* out = stderr;
};

class progress_reporter final : public observer {
public:
    explicit progress_reporter(progress_options o) : o_(o) {}

    void on_task_finished(const task_spec& t, const attempt_outcome& o, task_state next) override;
    void on_progress(const progress& p) override;
    void on_executor_event(std::string_view executor, std::string_view message) override;
    void on_run_finished(const run_summary& s) override;
    /// Clears the live line so other output starts on a clean line.
    void clear_line();

private:
    std::string line(const progress& p) const;

    progress_options o_;
    bool line_shown_ = false;
    std::chrono::steady_clock::time_point last_plain_{};
};

/// Formats "1h02m", "3m05s", "12.3s".
std::string human_duration(duration d);

/// Tasks that reached an end: succeeded (resumed ones included), dead, upstream-failed;
/// not the skipped ones of a cancel or halt.
std::size_t tasks_done(const progress& p);
/// Tasks this run ran to an end per second of it (progress::ran: not the resumed ones,
/// nor the upstream-failed ones, which never run).
double tasks_per_second(const progress& p);

}  // namespace drover::cli
