#pragma once
// "s3://bucket/prefix" and the api options an s3_sink_options resolves to.

#include <drover/sinks/s3.hpp>

#include "s3/api.hpp"

#include <string>

namespace drover::s3 {

struct bucket_prefix {
    std::string bucket;
    std::string prefix;  ///< no leading or trailing '/'; may be empty
};

/// Parses "s3://bucket[/prefix]"; throws config_error naming what is wrong.
bucket_prefix parse_s3_url(std::string_view url);

/// `prefix/rel`, or `rel` when the prefix is empty.
std::string join_key(const std::string& prefix, const std::string& rel);

/// Resolves credentials, region and endpoint (options first, then the AWS chain) and the
/// retry settings. Throws config_error.
api_options make_api_options(const s3_sink_options& o);

}  // namespace drover::s3
