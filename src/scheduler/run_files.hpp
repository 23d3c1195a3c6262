#pragma once
// The files of one run under <state_dir>/runs/<run-id>/: attempt logs, dead letters,
// bad records and the final summary. Append-only JSON lines, written as whole lines.

#include <drover/executors/host_pool.hpp>
#include <drover/scheduler.hpp>
#include <drover/summary.hpp>

#include "detail/fs.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drover::detail {

class run_files {
public:
    /// Creates the run directory and points <state_dir>/runs/latest at it.
    run_files(const std::filesystem::path& state_dir, std::string run_id, attempt_limits limits = {});
    run_files(const run_files&) = delete;
    run_files& operator=(const run_files&) = delete;

    const std::filesystem::path& dir() const noexcept { return dir_; }
    const attempt_limits& limits() const noexcept { return limits_; }
    std::filesystem::path stderr_log(std::string_view task_id, int attempt) const;

    void dead_letter(const task_result& r);
    /// `text` is the line (or its head when `length` > text.size()).
    void bad_record(std::string_view task_id, int attempt, std::uint64_t line_no, std::string_view error,
                    std::string_view text, std::uint64_t length);
    /// The line bad_record() writes, for bad_record_log (attempt_logs.hpp), which keeps
    /// an attempt's lines within limits().bad_record_bytes.
    std::string bad_record_line(std::string_view task_id, int attempt, std::uint64_t line_no, std::string_view error,
                                std::string_view text, std::uint64_t length) const;
    /// {"task","attempt","dropped","dropped_bytes","first_line","last_line"}: the bad records
    /// of an attempt that were counted but not kept.
    std::string bad_records_dropped_line(std::string_view task_id, int attempt, std::uint64_t dropped,
                                         std::uint64_t bytes, std::uint64_t first_line, std::uint64_t last_line) const;
    void append_bad(const std::string& line);
    void write_summary(const run_summary& s);
    /// hosts.json: the hosts of the run's fleet executors as they last changed (`drover
    /// status` shows them). `h` left = it is taken out.
    void host_changed(std::string_view executor, const host_info& h, bool left);

private:
    void append(unique_fd& fd, const char* name, const std::string& line);

    std::filesystem::path dir_;
    attempt_limits limits_;
    std::vector<std::pair<std::string, host_info>> hosts_;  // (executor, host), in joining order
    unique_fd dead_fd_;
    unique_fd bad_fd_;
};

/// "20261122T043512Z-3fa9": sortable and unique enough for one state directory.
std::string new_run_id();


}  // namespace drover::detail
