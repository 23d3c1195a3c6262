#pragma once
/// @file
/// Gzip JSON-lines files on a local (or mounted) file system.

#include <drover/export.hpp>
#include <drover/sink.hpp>
#include <drover/storage_sink.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace drover {

struct DROVER_API file_sink_options {
    std::filesystem::path root{};        ///< output directory (created if missing)
    /// Partition directory template: task params by name (`date={date}`) and record
    /// fields as `{record.<field>}`; `{name|FORMAT}` formats a time, e.g.
    /// `dt={record.ts|%Y-%m-%d}/hour={record.ts|%H}` (docs/sinks.md). Empty = no partition
    /// directories.
    std::string partition{};
    /// IANA time zone name for formatted placeholders ("Asia/Seoul"); "UTC" by default, ""
    /// the machine's local zone. An unknown name is a config_error at construction.
    std::string timezone = "UTC";
    /// Records with a bad partition value (missing field, not a time): published under
    /// `__missing__`, or refused as bad records of the attempt.
    bad_value_policy bad_values = bad_value_policy::missing_partition;
    std::uint64_t max_records = 0;       ///< rotate after this many records per file; 0 = never
    std::uint64_t max_bytes = 0;         ///< rotate after this many uncompressed bytes; 0 = never
    /// Checkpointing tasks (docs/sinks.md, "Checkpoints"): publish the records up to the last
    /// checkpoint once this long has passed since the last publish; 0 = not by time.
    std::chrono::milliseconds rotate_interval{0};
    /// ... or once this many records were written since the last publish; 0 = not by count.
    /// With both 0, a checkpoint publishes when a second has passed since the last publish.
    std::uint64_t flush_records = 0;
    int compression_level = 6;           ///< zlib level 0..9
    bool fsync = true;                   ///< fsync files and directories on commit
};

/// Writes `<root>/<partition>/<task-id>.jsonl.gz`, then `<task-id>~1.jsonl.gz`, ... when
/// rotating (`~` cannot occur in task ids, so chunks of task `a` never collide with task
/// `a-1`). A relative root is made absolute at construction. A storage_sink over the
/// directory: attempts stage under `<root>/.drover/staging/`; a commit (on the sink's own
/// threads) fsyncs and renames into place, and removes chunks a previous commit of the same
/// task left that this one did not write (tracked in `<root>/.drover/manifests/`); the chunks
/// of a commit that failed are kept in `<root>/.drover/pending/` for the next run. One run
/// per root at a time: start() takes a lock on the root.
class DROVER_API file_sink final : public storage_sink {
public:
    /// Throws config_error for bad options.
    explicit file_sink(file_sink_options opts);

    const file_sink_options& options() const noexcept { return opts_; }

private:
    file_sink_options opts_;
};

}  // namespace drover
