#pragma once
// What the job loader remembers of each task it has made and handed on (job_stream): its id
// and its `after` entries, packed, for the checks that need every task (duplicate ids,
// `after` that must name tasks, `--only`). A task costs its id's bytes and its `after`
// entries' plus about 20 bytes; the task_spec itself is gone by then (in the scheduler, or
// written out by `validate`).

#include "detail/blob_arena.hpp"
#include "scheduler/dag.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

class task_catalog {
public:
    /// Adds a task unless one with the same id is in already: returns that one's index
    /// (and adds nothing), or -1 when the task was added (as index size() - 1).
    std::int64_t add(std::string_view id, const std::vector<std::string>& after);

    std::size_t size() const noexcept { return blobs_.size(); }
    /// The id of task `i`; the view's data is NUL-terminated.
    std::string_view id(std::uint32_t i) const noexcept;
    bool has_after(std::uint32_t i) const noexcept;
    /// Task `i`'s `after` entries as written (after placeholders); NUL-terminated views.
    std::vector<std::string_view> after(std::uint32_t i) const;
    /// Index of the task with this id, or -1.
    std::int64_t find(std::string_view id) const noexcept;

    /// The tasks as build_task_graph reads them (valid while this catalog is unchanged).
    task_list list() const;
    /// Bytes held: arena blocks, per-task pointers and the id index.
    std::size_t memory_bytes() const noexcept;
    /// Forgets every task and gives the memory back.
    void clear() noexcept;

private:
    void grow_index();

    // A blob is the id, NUL, the number of `after` entries (one byte, 255 = a 4-byte count
    // follows), and the entries, each NUL-terminated.
    detail::blob_arena arena_;
    std::vector<const char*> blobs_;
    // Open addressing, linear probing: slot = task index + 1, 0 = empty. Load <= 1/2.
    std::vector<std::uint32_t> index_;
};

}  // namespace drover::detail
