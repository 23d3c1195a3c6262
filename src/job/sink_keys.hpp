#pragma once
// Job-file keys of the sink: `[sink] kind = "file"` or `kind = "s3"`.

#include <drover/job_file.hpp>

#include <toml++/toml.h>

#include <string>

namespace drover::detail {

/// Reads the `[sink]` table into `cfg`, with every check the sinks' constructors make
/// (partition template, S3 url and endpoint), so `drover validate` and `drover run` refuse
/// the same things with the same "file:line:column: key: problem". Returns the
/// `partition` node, or nullptr when there is none.
const toml::node* parse_sink(const std::string& file, const toml::node& n, sink_config& cfg);

}  // namespace drover::detail
