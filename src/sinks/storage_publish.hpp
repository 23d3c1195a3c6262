#pragma once
// storage_sink's bookkeeping over a storage's primitives: the manifest protocol that makes a
// re-commit replace instead of add, checkpoint segments, and chunks kept for the next run.
//
// Layout of the sink's spool (the directory storage::start() returns):
//   staging/<run>-<task>-<attempt>/<n>.jsonl.gz   chunks of an attempt in progress
//   pending/<task>/{<n>.jsonl.gz,index}           chunks of a successful attempt whose
//                                                  publish failed; published by the next start()
//   manifests/<task>                              names the task may have published
//
// Manifest rule: the manifest always lists a superset of the task's names that may exist.
// Before putting names it does not list yet, a publish writes old ∪ new; after removing
// the old names it did not write (and the task's rotated chunks and later segments that the
// storage lists in the partitions it wrote), it writes exactly the new list. A crash at any
// point leaves every possibly-published name listed, and the task's next publish removes the
// strays. So a first publish writes the manifest once, a same-size re-publish not at all,
// and a task that never had records has no manifest (absent == empty).
//
// Checkpoint segments (`<task>@<s>...`): a publish of segment s keeps the task's names of
// segments below s and counts them as new; open() of an attempt starting at segment s
// removes the names of segments s and above first (a crash published them after the
// journal's last checkpoint).

#include <drover/storage_sink.hpp>

#include "sinks/stager.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace drover::detail {

struct publish_target {
    storage& where;
    std::filesystem::path spool;
    bool fsync = true;
    std::string what;  // "file sink", for messages
};

/// Names in the task's manifest, sorted, unique; empty when there is none. A line that could
/// leave the storage's root (absolute, "..", hidden components) is a sink_error.
std::vector<std::string> read_manifest(const publish_target& t, const std::string& task);

/// Puts the chunks and replaces the task's earlier output (the manifest rule above). With
/// `segment`, the chunks are that checkpoint segment and the task's earlier segments stay
/// (and the chunk files are removed once put). `rollback`: when the put fails, the names it
/// added are removed again (best effort). Throws what the storage threw, std::system_error
/// for the spool.
committed_output publish(const publish_target& t, const std::string& task, const std::vector<staged_chunk>& chunks,
                         std::optional<std::uint32_t> segment, bool rollback);

/// Removes the task's names of segments `first` and above, then drops them from the manifest.
void take_back_segments(const publish_target& t, const std::string& task, std::uint32_t first);

/// Moves a failed publish's staging directory to pending/<task> with an index. False when it
/// could not (a chunk file is gone, the spool fails): the records are not kept.
bool keep_pending(const publish_target& t, const std::string& task, const std::filesystem::path& staging,
                  const std::vector<staged_chunk>& chunks) noexcept;

/// The chunks kept in pending/<task> (`dir`). Throws sink_error for a damaged index.
std::vector<staged_chunk> read_pending(const std::filesystem::path& dir);

}  // namespace drover::detail
