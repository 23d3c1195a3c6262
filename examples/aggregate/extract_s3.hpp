#pragma once
// Extract from S3: the same partitions and counts as extract.hpp, read from what drover's
// S3 sink wrote (`s3://bucket/prefix/<key=value>/<task-id>.jsonl.gz`) with drover::s3_reader.
// Endpoint, region and credentials come from the options (empty = the AWS environment chain).

#include "extract.hpp"

#include <drover/sinks/s3.hpp>

namespace aggregate {

/// True for "s3://..." inputs.
bool is_s3_url(const std::string& input);

/// Partitions `<key>=<value>` directly under opts.url, sorted by name; `path` holds the
/// partition's own s3:// URL. Throws std::runtime_error when an object is not in a `key=`
/// partition (hidden `.`-names are skipped) or the store answers with an error.
std::vector<partition_dir> list_s3_partitions(const drover::s3_sink_options& opts, const std::string& key = "date");

/// Reads every *.jsonl.gz object of one partition (opts.url is the partition's URL).
partition_count count_s3_partition(const drover::s3_sink_options& opts, const std::string& value);

}  // namespace aggregate
