#pragma once
// Extract: find a file sink's partitions and count what one partition holds. Reads the
// layout of drover::file_sink: <root>/<key=value>/<task-id>.jsonl.gz and rotated chunks
// <task-id>~<n>.jsonl.gz; hidden entries (.drover staging, manifests) are not output.

#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace aggregate {

struct partition_dir {
    std::string name;                ///< "date=2018-01-06"
    std::string value;               ///< "2018-01-06"
    std::filesystem::path path;
};

struct partition_count {
    std::string date;                ///< the partition's value
    std::uint64_t articles = 0;      ///< distinct (oid, aid) records
    std::uint64_t records = 0;       ///< all records (articles + duplicates)
    std::uint64_t files = 0;
    std::uint64_t bad_lines = 0;     ///< not a JSON object with string oid and aid
    std::uint64_t wrong_date = 0;    ///< records whose "date" is not the partition's
};

/// Partition directories named `<key>=<value>` directly under `root`, sorted by name.
/// Throws std::runtime_error when `root` is not a directory or a partition is not `key`.
std::vector<partition_dir> list_partitions(const std::filesystem::path& root, const std::string& key = "date");

/// Reads every *.jsonl.gz file of one partition directory (gzip via zlib).
/// Throws std::runtime_error naming the file on corrupt gzip data.
partition_count count_partition(const std::filesystem::path& dir, const std::string& value);

/// Counts one JSON line into `c` (c.date is the partition's value); `ids` collects the
/// distinct (oid, aid) pairs, and c.articles is ids.size() once every line was counted.
void count_line(partition_count& c, std::set<std::string>& ids, std::string_view line);

/// The JSON record a count task prints, and its inverse (throws on a malformed record).
std::string to_json(const partition_count& c);
partition_count from_json(std::string_view json);

}  // namespace aggregate
