#pragma once
// Staging shared by the file and S3 sinks: records of one attempt go to gzip JSON-lines
// chunks in a staging directory, one open chunk per partition, rotated by records and
// uncompressed bytes. finish() closes every chunk and says where each belongs:
// `<partition>/<task>.jsonl.gz`, `<partition>/<task>~1.jsonl.gz`, ...
//
// Errors throw std::system_error naming the path (see detail/fs.hpp).

#include <drover/sink.hpp>

#include "sinks/partition.hpp"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace drover::detail {

/// `<task>.jsonl.gz` for index 0, `<task>~<index>.jsonl.gz` after ("~" cannot occur in
/// task ids, so chunk n of task "a" never collides with task "a-1").
std::string chunk_name(std::string_view task, std::uint32_t index);
/// Chunks of checkpoint segment `segment`: `<task>@<segment>.jsonl.gz`, then
/// `<task>@<segment>~<index>.jsonl.gz` ("@" cannot occur in task ids either).
std::string segment_chunk_name(std::string_view task, std::uint32_t segment, std::uint32_t index);
/// The segment of a chunk name of `task` (the last path component of `rel`); empty for
/// any other name, a plain chunk name included.
std::optional<std::uint32_t> segment_of(std::string_view rel, std::string_view task);

struct stager_options {
    std::filesystem::path dir;  ///< this attempt's staging directory (made on first record)
    std::string task_id;
    int level = 6;
    std::uint64_t max_records = 0;
    std::uint64_t max_bytes = 0;
    bool fsync = true;
};

struct staged_chunk {
    std::string dir;     ///< partition, relative, "" = none
    std::uint32_t index;
    std::string rel;     ///< final name relative to the root: dir/chunk_name
    std::filesystem::path file;
    std::uint64_t records;
    std::uint64_t bytes;  ///< compressed
};

class chunk_stager {
public:
    chunk_stager(stager_options opts, partition_template bound);
    ~chunk_stager();
    chunk_stager(const chunk_stager&) = delete;
    chunk_stager& operator=(const chunk_stager&) = delete;

    void write(const record& r);
    /// Closes open chunks; returns every chunk sorted by (partition, index), named as
    /// plain chunks, or as chunks of checkpoint segment `segment`.
    std::vector<staged_chunk> finish(std::optional<std::uint32_t> segment = std::nullopt);
    /// finish() for a checkpoint: the chunks of segment `segment`; the stager goes on with
    /// new chunks (indices from 0 again) for the next segment.
    std::vector<staged_chunk> cut(std::uint32_t segment);
    /// Closes open chunks without finishing them and removes the staging directory.
    void discard() noexcept;
    bool created() const noexcept { return created_; }
    const std::filesystem::path& dir() const noexcept { return opts_.dir; }

private:
    struct chunk;
    struct partition_state;
    partition_state& partition(std::string dir);
    chunk& open_chunk(partition_state& p);
    void make_dir();
    void finish_chunk(chunk& c);

    stager_options opts_;
    partition_template tpl_;
    partition_state* fixed_ = nullptr;
    std::unordered_map<std::string, std::unique_ptr<partition_state>> parts_;
    std::vector<std::unique_ptr<chunk>> open_;
    std::vector<staged_chunk> done_;
    std::uint64_t tick_ = 0;
    std::uint64_t seq_ = 0;
    bool created_ = false;
};

}  // namespace drover::detail
