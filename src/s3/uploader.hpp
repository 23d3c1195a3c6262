#pragma once
// Uploads one local file to one S3 key: PutObject up to `part_size` bytes, otherwise a
// multipart upload driven by multipart_fsm with up to `parallel` parts in flight.

#include "s3/api.hpp"

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <filesystem>
#include <string>

namespace drover::s3 {

struct upload_options {
    std::uint64_t part_size = 8ull << 20;  ///< also the largest single PutObject
    unsigned parallel = 4;                 ///< UploadPart requests in flight per object
    bool if_none_match = false;            ///< If-None-Match: * on PutObject
};

/// Uploads `file` to s3://bucket/key; returns the object's ETag. Throws request_error,
/// or std::system_error when the file cannot be read.
boost::asio::awaitable<std::string> upload_file(api& s3, std::string bucket, std::string key,
                                                std::filesystem::path file, upload_options opts);

}  // namespace drover::s3
