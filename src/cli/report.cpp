#include "cli/report.hpp"

#include "cli/progress.hpp"

#include "detail/utf8.hpp"

#include <fmt/format.h>

namespace drover::cli {

std::string summary_text(const std::string& job_name, const run_summary& s) {
    using detail::terminal_safe;  // messages, stderr lines and paths may hold control characters
    const auto& c = s.counts;
    std::string verdict = s.cancelled ? "cancelled" : s.halted ? "halted" : s.ok() ? "ok" : "failed";
    // "succeeded" counts resumed tasks too (as --json does); the line after it splits the
    // tasks by how they ended: done (run now and succeeded), resumed (succeeded in an earlier
    // run), dead, upstream-failed, skipped. The rate is over the tasks this run ran.
    std::string out = fmt::format("drover: {} {}: {} succeeded, {} dead, {} skipped of {} tasks in {} ({:.1f} tasks/s)\n",
                                  job_name, verdict, c.succeeded, c.dead, c.skipped, c.total,
                                  human_duration(c.elapsed), tasks_per_second(c));
    std::size_t done = c.succeeded - std::min(c.succeeded, c.resumed);
    std::size_t dead_now = c.dead - std::min(c.dead, c.resumed_dead);
    out += fmt::format("  tasks:   {} done, {} resumed, {} dead{}, {} upstream-failed, {} skipped{}\n", done, c.resumed,
                       dead_now, c.resumed_dead ? fmt::format(", {} dead in earlier runs", c.resumed_dead) : "",
                       c.upstream_failed, c.skipped, c.cancelled ? fmt::format(", {} cancelled", c.cancelled) : "");
    out += fmt::format("  records: {} committed, {} bad\n", c.records, c.bad_records);
    if (c.backups) out += fmt::format("  backups: {} straggler attempt(s) backed up (speculation)\n", c.backups);
    out += fmt::format("  output:  {}\n", terminal_safe(s.output));
    out += fmt::format("  run dir: {}\n", terminal_safe(s.run_dir.string()));
    if (c.bad_records) out += fmt::format("  bad records: {}\n", terminal_safe((s.run_dir / "bad-records.jsonl").string()));
    if (c.dead) {
        std::error_code ec;  // tasks dead in an earlier run (resume) have their dead letter there
        if (std::filesystem::exists(s.run_dir / "dead-letter.jsonl", ec))
            out += fmt::format("  dead letters: {}\n", terminal_safe((s.run_dir / "dead-letter.jsonl").string()));
        int shown = 0;
        for (const auto& t : s.tasks) {
            if (t.state != task_state::dead) continue;
            if (++shown > 10) {
                out += fmt::format("    ... and {} more\n", c.dead - 10);
                break;
            }
            out += fmt::format("    {}: {} after {} attempt(s)\n", t.id, terminal_safe(t.last.message), t.attempts);
            if (!t.last.stderr_tail.empty())
                out += fmt::format("      stderr: {}\n", terminal_safe(t.last.stderr_tail.back()));
        }
    }
    if (s.halted) out += fmt::format("  halted: {}\n", terminal_safe(s.halt_reason));
    return out;
}

}  // namespace drover::cli
