#pragma once
// What the service's API shows of a job's journal, read-only (safe while its run writes):
// its runs, its tasks by state, one task's attempts with the tails of their stderr logs.

#include <drover/service.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace drover::detail {

/// What is done to a stderr log's text before it is shown (the service redacts secrets): the
/// text and where it was cut out of the log (in a line at the front, before the log's end).
using stderr_filter = std::function<std::string(std::string text, redact_cuts cuts)>;

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
/// `filter` goes over every tail and over the task's and its attempts' messages.
std::optional<boost::json::object> task_json(const std::filesystem::path& state_dir, const std::string& task,
                                             const stderr_filter& filter = {});
/// {"task", "run_id", "attempt", "size", "offset", "text"}: the last `max_bytes` of an attempt's
/// stderr log, from the first line that starts in them (`size`: the whole log's, `offset`:
/// where `text` starts; inside a line only when no other starts in them), of `run` or else of the
/// newest run with that attempt; nullopt when the journal has no such attempt. A log that is
/// missing (pruned, or the attempt kept none) reads as empty.
std::optional<boost::json::object> attempt_stderr_json(const std::filesystem::path& state_dir, const std::string& task,
                                                       std::int64_t attempt, const std::optional<std::string>& run,
                                                       std::size_t max_bytes, const stderr_filter& filter = {});

}  // namespace drover::detail
