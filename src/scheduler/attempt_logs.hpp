#pragma once
// What an attempt leaves in runs/<id>/, bounded (scheduler_options::limits): its stderr log
// and its lines in bad-records.jsonl. Each keeps the start as it comes and the end in memory
// (at most 1 MiB), and says how much of the middle it dropped, so a task that floods stderr
// or prints garbage cannot fill the disk.

#include <drover/scheduler.hpp>

#include "scheduler/run_files.hpp"

#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <string_view>

namespace drover::detail {

/// How a cap splits: the last `tail` bytes are kept in memory, the first `head` written.
struct head_tail {
    std::uint64_t head;
    std::uint64_t tail;
};
/// tail = min(cap / 2, 1 MiB), head = cap - tail; cap 0 = no limit (all head).
head_tail split_cap(std::uint64_t cap) noexcept;

/// The attempt's stderr log file (run_files::stderr_log), created on the first byte: most
/// attempts print nothing on stderr, and then not even its path is built.
class stderr_log {
public:
    /// `task_id` must outlive the log.
    stderr_log(const run_files& files, std::string_view task_id, int attempt, std::uint64_t cap);
    ~stderr_log();
    stderr_log(const stderr_log&) = delete;
    stderr_log& operator=(const stderr_log&) = delete;

    /// Never fails: a log that cannot be written (full disk) must not fail the task.
    void write(std::string_view bytes) noexcept;
    /// Appends "[drover: N bytes of stderr not kept]" and the tail when bytes were dropped.
    void close() noexcept;
    std::uint64_t dropped() const noexcept { return dropped_; }

private:
    void put(std::string_view bytes) noexcept;
    void keep_tail(std::string_view bytes);

    const run_files& files_;
    std::string_view task_id_;
    int attempt_;
    int fd_ = -1;
    bool unwritable_ = false, closed_ = false;
    head_tail split_;
    std::uint64_t head_written_ = 0;
    std::uint64_t dropped_ = 0;
    std::string ring_;       // the last bytes, oldest at ring_pos_ once full
    std::size_t ring_pos_ = 0;
};

/// One attempt's lines in bad-records.jsonl.
class bad_record_log {
public:
    bad_record_log(run_files& files, std::string task_id, int attempt);

    /// Throws when a line cannot be written (the attempt then fails: bad lines must not vanish
    /// unless the cap says so).
    void add(std::uint64_t line_no, std::string_view error, std::string_view text, std::uint64_t length);
    /// Writes the "dropped" line and the kept tail. Throws like add().
    void finish();
    std::uint64_t count() const noexcept { return count_; }

private:
    void drop(std::uint64_t line_no, std::uint64_t bytes);

    run_files& files_;
    std::string task_;
    int attempt_;
    head_tail split_;
    std::uint64_t count_ = 0, head_written_ = 0;
    bool head_full_ = false, finished_ = false;
    std::deque<std::pair<std::uint64_t, std::string>> tail_;  // (line number, JSON line)
    std::uint64_t tail_bytes_ = 0;
    std::uint64_t dropped_ = 0, dropped_bytes_ = 0, first_dropped_ = 0, last_dropped_ = 0;
};

}  // namespace drover::detail
