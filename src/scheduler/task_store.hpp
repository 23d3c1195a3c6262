#pragma once
// The scheduler's submitted tasks, compactly: a run of a million tasks keeps a million of
// them queued, and a task_spec costs 352 bytes before its strings.
//
// Each task is one packed blob in an arena (id, command, env, params, after: length-
// prefixed, NUL-terminated strings) plus an index into a table of interned policies
// (retries, timeout, backoff, pool, workdir, control_lines and the task extensions, e.g.
// Docker's image and limits), which tasks of one job nearly always share. Extensions are
// interned by value (their JSON), so equal ones are kept once. The id index is an open-addressing table of task numbers.
// spec(i) rebuilds the task_spec when an attempt starts or an observer asks.

#include <drover/task.hpp>

#include "detail/blob_arena.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace drover::detail {

/// What a task shares with most others of its job.
struct task_policy {
    int retries = 0;
    std::optional<duration> timeout;
    backoff_policy backoff;
    std::string pool;
    std::string workdir;
    bool control_lines = true;
    bool speculate = true;
    task_extensions extensions;
};

class task_store {
public:
    task_store() = default;
    task_store(task_store&&) noexcept = default;
    task_store& operator=(task_store&&) noexcept = default;

    /// A task packed for the store, without touching it: a thread submitting to a running
    /// scheduler encodes; the scheduler's strand only copies the bytes in (add(encoded&&)).
    struct encoded {
        std::string id;
        std::string blob;        ///< the arena bytes
        std::string policy_key;  ///< equal keys, equal policies
        task_policy policy;
    };
    static encoded encode(const task_spec& t);
    /// The task_spec back from an encoded task.
    static task_spec decode(const encoded& e);

    /// Adds a task (the caller validated it) and returns its index. Does not check ids.
    std::uint32_t add(const task_spec& t) { return add(encode(t)); }
    std::uint32_t add(const encoded& e);

    std::size_t size() const noexcept { return blobs_.size(); }
    bool empty() const noexcept { return blobs_.empty(); }

    /// The task's id; the view's data is NUL-terminated.
    std::string_view id(std::uint32_t i) const noexcept;
    const task_policy& policy(std::uint32_t i) const noexcept { return policies_[policy_of_[i]]; }
    /// Tasks with equal policies share one id (dense, from 0).
    std::uint32_t policy_id(std::uint32_t i) const noexcept { return policy_of_[i]; }
    std::size_t policy_count() const noexcept { return policies_.size(); }
    /// The task's `after` entries; each view's data is NUL-terminated.
    std::vector<std::string_view> after(std::uint32_t i) const;
    bool has_after(std::uint32_t i) const noexcept;
    /// The whole task_spec, rebuilt.
    task_spec spec(std::uint32_t i) const;

    /// Forgets the tasks from index `n` on (a run that failed to start gives back what it
    /// added); their arena bytes stay allocated.
    void truncate(std::size_t n);

    /// Index of the task with this id, or -1.
    std::int64_t find(std::string_view id) const noexcept;

    /// Bytes held, for benchmarks: arena, per-task vectors, id table and policies.
    std::size_t memory_bytes() const noexcept;

private:
    const char* blob(std::uint32_t i) const noexcept { return blobs_[i]; }
    std::uint32_t intern(const encoded& e);
    void index_insert(std::uint32_t i);
    void grow_index();

    detail::blob_arena arena_;  // the blobs; they never move once written

    std::vector<const char*> blobs_;
    std::vector<std::uint32_t> policy_of_;
    std::deque<task_policy> policies_;
    std::unordered_map<std::string, std::uint32_t> policy_index_;  // serialized policy -> index
    const std::string* last_key_ = nullptr;  // the last interned key (tasks come in runs of one policy)
    std::uint32_t last_policy_ = 0;

    // Open addressing, linear probing: slot = task index + 1, 0 = empty. Load <= 1/2.
    std::vector<std::uint32_t> index_;
};

}  // namespace drover::detail
