#pragma once
/// @file
/// A sink that owns the bookkeeping, over a storage that only stores.
///
/// storage_sink stages an attempt's records as gzip JSON-lines chunks (partitioned and
/// rotated), and on commit publishes them exactly once per task: it keeps a manifest of the
/// names each task may have published, so a re-commit replaces the task's earlier output
/// instead of adding to it, checkpoint segments keep the segments before them, chunks of a
/// successful attempt whose publish failed are kept for the next run, and commits and
/// checkpoints run on the sink's own threads, never on the scheduler's strand.
///
/// A storage is left with its primitives: put staged files under names, remove names, and
/// (optionally) list names. The file and S3 sinks are storage_sinks; docs/extending.md
/// ("Writing a storage") has the contract and examples/sqlite_storage a complete one.
///
/// Names are '/'-separated and relative: `<partition>/<task>.jsonl.gz`, `<task>~<n>.jsonl.gz`
/// for rotated chunks, `<task>@<segment>[~<n>].jsonl.gz` for checkpoint segments. Every path
/// component is non-empty and does not start with '.'.

#include <drover/export.hpp>
#include <drover/sink.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace drover {

/// What storage_sink does with records (the storage-independent settings of the file and
/// S3 sinks; docs/sinks.md).
struct DROVER_API storage_sink_options {
    /// Partition directory template, as file_sink_options::partition.
    std::string partition{};
    /// IANA zone for formatted placeholders, as file_sink_options::timezone.
    std::string timezone = "UTC";
    bad_value_policy bad_values = bad_value_policy::missing_partition;
    std::uint64_t max_records = 0;                 ///< rotate after this many records per chunk; 0 = never
    std::uint64_t max_bytes = 0;                   ///< rotate after this many uncompressed bytes; 0 = never
    std::chrono::milliseconds rotate_interval{0};  ///< checkpoints: publish at most this often
    std::uint64_t flush_records = 0;               ///< checkpoints: or after this many records
    int compression_level = 6;                     ///< zlib level 0..9
    bool fsync = true;                             ///< staged chunks and manifests are fsynced
    unsigned publish_threads = 4;                  ///< commits and checkpoints in flight at once
};

/// A staged chunk to publish: a closed gzip file the sink owns, and the name it goes under.
struct DROVER_API staged_object {
    std::string name{};
    std::filesystem::path file{};
    std::uint64_t bytes = 0;  ///< the file's size (compressed)
};

/// Where a storage_sink's chunks are kept: a directory, a bucket, a database table.
///
/// Threads: start() and stop() are called by whoever starts and stops the sink (the thread
/// that runs the scheduler). put(), remove() and list() are called from the sink's publish
/// threads, for different tasks at once (never two calls for one task at once), and also
/// from start() (chunks an earlier run left) and from sink::open() (segments a crash left),
/// so they must be safe to call concurrently. Errors: throw; sink_unavailable when no later
/// call can succeed either (bad credentials, no such bucket) — the run then halts — and any
/// other exception when this one failed (the attempt fails and is retried).
class DROVER_API storage {
public:
    virtual ~storage() = default;
    /// A short name for messages: "file", "s3".
    virtual std::string name() const = 0;
    /// Where the chunks go, for people: "out/news", "s3://bucket/prefix".
    virtual std::string describe() const = 0;
    /// Once per run, before any other call: take locks, make directories, connect. Returns
    /// the local directory where the sink keeps staging, manifests and chunks kept for the next
    /// run (made if missing); it must outlive the run and belong to this storage alone. A
    /// storage that renames staged files into place returns one on the same file system.
    virtual std::filesystem::path start(const sink_context& ctx) = 0;
    /// Once after the run; releases what start() took. Also called after a failed start().
    virtual void stop() noexcept {}
    /// Makes each object visible under its name, replacing what was there: readers see the
    /// old content or the whole new one, never a part. Everything put is durable when put()
    /// returns. The files stay the sink's: copy or hard-link them, do not move them.
    virtual void put(const std::vector<staged_object>& objects) = 0;
    /// Removes the names, durably; a name that is not there is no error.
    virtual void remove(const std::vector<std::string>& names) = 0;
    /// The names that start with `prefix`. The sink removes a task's rotated chunks and
    /// segments it finds there that no manifest lists (a state directory that was lost). The
    /// default lists nothing: the manifests are trusted.
    virtual std::vector<std::string> list(std::string_view prefix);
    /// What committed_output::locations says for a name: a path, a URL.
    virtual std::string location(std::string_view name) const = 0;
};

/// The sink over a storage. Its sink operations are final: staging, rotation, partitions,
/// manifests and exactly-once replacement are the same for every storage.
class DROVER_API storage_sink : public sink {
public:
    /// Throws config_error for bad options (compression level, partition template, time zone).
    storage_sink(std::shared_ptr<storage> where, storage_sink_options opts);
    template <class S>
        requires std::is_base_of_v<storage, S>
    storage_sink(S where, storage_sink_options opts)
        : storage_sink(std::make_shared<S>(std::move(where)), std::move(opts)) {}
    ~storage_sink() override;
    storage_sink(storage_sink&&) noexcept;
    storage_sink& operator=(storage_sink&&) noexcept;

    std::string describe() const final;
    void start(const sink_context& ctx) final;
    void stop() noexcept final;
    std::unique_ptr<sink_writer> open(const sink_attempt& a) final;

    const storage_sink_options& sink_options() const noexcept { return opts_; }
    /// The storage (for its own settings); null after a move.
    const std::shared_ptr<storage>& store() const noexcept { return storage_; }

    struct state;  ///< internal

private:
    std::shared_ptr<storage> storage_;
    storage_sink_options opts_;
    std::shared_ptr<state> state_;
};

}  // namespace drover
