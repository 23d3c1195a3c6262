#include "cli/report.hpp"

#include "cli/progress.hpp"

#include "detail/utf8.hpp"

#include <fmt/format.h>

namespace drover::cli {

std::string summary_text(const std::string& job_name, const run_summary& s) {
    using detail::terminal_safe;  // messages, stderr lines and paths may hold control characters
    const auto& c = s.counts;
    std::string verdict = s.cancelled ? "cancelled" : s.halted ? "halted" : s.ok() ? "ok" : "failed";
    std::string out = fmt::format("drover: {} {}: {} succeeded, {} dead, {} skipped of {} tasks in {} ({:.1f} tasks/s)\n",
                                  job_name, verdict, c.succeeded, c.dead, c.skipped, c.total,
                                  human_duration(c.elapsed), tasks_per_second(c));
    if (c.upstream_failed) out += fmt::format("  upstream failed: {} task(s) not run\n", c.upstream_failed);
    if (c.cancelled) out += fmt::format("  cancelled: {} task(s) cancelled one by one\n", c.cancelled);
    if (c.resumed) out += fmt::format("  resumed: {} task(s) succeeded in earlier runs, not run again\n", c.resumed);
    out += fmt::format("  records: {} committed, {} bad\n", c.records, c.bad_records);
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
