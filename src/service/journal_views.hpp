#pragma once
// What the service's API shows of a job's journal, read-only (safe while its run writes):
// its runs, its tasks by state, one task's attempts with the tails of their stderr logs.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

namespace drover::detail {

/// read_journal_status as JSON; null when the job has no journal yet.
boost::json::value journal_status_json(const std::filesystem::path& state_dir);
/// The newest `limit` runs, newest first.
boost::json::array runs_json(const std::filesystem::path& state_dir, std::size_t limit);
/// One run; nullopt when the journal has no such run.
std::optional<boost::json::object> run_json(const std::filesystem::path& state_dir, const std::string& run_id);
/// {"attempts": [...], "truncated": bool}: a run's attempts in start order (task, attempt,
/// executor and host, start, end, failure), at most `limit`: what the dashboard's timeline
/// draws; nullopt when the journal has no such run.
std::optional<boost::json::object> run_attempts_json(const std::filesystem::path& state_dir, const std::string& run_id,
                                                     std::size_t limit);
/// {"total": N, "tasks": [...]}: tasks in id order, only those in `state` when given.
/// Every value is allocated from `storage` (an arena, when the caller serializes and drops it).
boost::json::object tasks_json(const std::filesystem::path& state_dir, const std::optional<std::string>& state,
                               std::size_t limit, std::size_t offset, boost::json::storage_ptr storage = {});
/// The task with its attempts (newest run first) and each attempt's stderr tail (the last
/// 4 KiB of runs/<run>/logs/<task>.<n>.stderr); nullopt when the journal has no such task.
std::optional<boost::json::object> task_json(const std::filesystem::path& state_dir, const std::string& task);
/// {"task", "run_id", "attempt", "size", "offset", "text"}: the last `max_bytes` of an attempt's
/// stderr log (`size`: the whole log's, `offset`: where `text` starts), of `run` or else of the
/// newest run with that attempt; nullopt when the journal has no such attempt. A log that is
/// missing (pruned, or the attempt kept none) reads as empty.
std::optional<boost::json::object> attempt_stderr_json(const std::filesystem::path& state_dir, const std::string& task,
                                                       std::int64_t attempt, const std::optional<std::string>& run,
                                                       std::size_t max_bytes);

}  // namespace drover::detail
