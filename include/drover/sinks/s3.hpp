#pragma once
/// @file
/// Gzip JSON-lines objects in S3 (or MinIO, Ceph, R2, s3rver...), and a reader for them.

#include <drover/export.hpp>
#include <drover/sink.hpp>
#include <drover/storage_sink.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

/// Static credentials. Secret: never logged, never part of an error message.
struct DROVER_API s3_credentials {
    std::string access_key_id{};
    std::string secret_access_key{};
    std::string session_token{};  ///< empty = none
};

struct DROVER_API s3_sink_options {
    /// "s3://bucket/prefix" (prefix optional). Objects are
    /// `<prefix>/<partition>/<task-id>.jsonl.gz`, then `<task-id>~1.jsonl.gz`, ... when rotating.
    std::string url{};
    /// "http://127.0.0.1:4568", "https://minio.example:9000"; empty = AWS_ENDPOINT_URL_S3,
    /// AWS_ENDPOINT_URL, the profile's endpoint_url, else https://s3.<region>.amazonaws.com.
    std::string endpoint{};
    /// Empty = AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else "us-east-1".
    std::string region{};
    /// Path-style addressing (`host/bucket/key`) instead of virtual-hosted (`bucket.host/key`).
    /// Always used for IP-address and localhost endpoints.
    bool path_style = false;
    /// PEM CA bundle that signs an https endpoint's certificate (a private MinIO, ...);
    /// empty = $AWS_CA_BUNDLE, else the system's trusted CAs.
    std::string ca_file{};
    /// Profile in ~/.aws/credentials and ~/.aws/config; empty = the environment's keys, else
    /// $AWS_PROFILE, else "default". Credentials come from the AWS chain in botocore's order:
    /// the environment, an assume-role profile (STS), web identity, the profile's keys,
    /// credential_process, container credentials, the EC2 instance metadata service;
    /// temporary ones are refreshed before they expire (docs/sinks.md, "Credentials").
    std::string profile{};
    /// Explicit credentials; when set the chain is not consulted for keys.
    std::optional<s3_credentials> credentials{};

    std::string partition{};             ///< as file_sink_options::partition
    std::string timezone = "UTC";        ///< as file_sink_options::timezone
    bad_value_policy bad_values = bad_value_policy::missing_partition;  ///< as file_sink_options::bad_values
    std::uint64_t max_records = 0;       ///< rotate after this many records per object; 0 = never
    std::uint64_t max_bytes = 0;         ///< rotate after this many uncompressed bytes; 0 = never
    std::chrono::milliseconds rotate_interval{0};  ///< as file_sink_options::rotate_interval
    std::uint64_t flush_records = 0;     ///< as file_sink_options::flush_records
    int compression_level = 6;           ///< zlib level 0..9

    std::uint64_t part_size = 8ull << 20;  ///< multipart part size (>= 5 MiB) and largest PutObject
    unsigned parallel_parts = 4;           ///< UploadPart requests in flight per object
    int max_attempts = 8;                  ///< tries per request (retryable errors only)
    std::chrono::milliseconds retry_base{100};  ///< first backoff ceiling; doubles up to 10 s
    std::chrono::milliseconds request_timeout{120'000};
    bool if_none_match = false;            ///< PutObject with If-None-Match: * (no overwrite)
    bool fsync = true;                     ///< fsync spooled chunks before upload
};

/// Stages records in a spool under the state directory (`<state_dir>/s3-spool/`), uploads
/// on commit without blocking the scheduler, and replaces the task's earlier objects:
/// objects a previous commit of the same task published that this commit did not write are
/// deleted (tracked in `s3-spool/manifests/`, and found by listing the partitions it
/// wrote). A commit that fails keeps its chunks in `s3-spool/pending/<task>/`; the next
/// start() with the same state directory uploads them. A storage_sink over the bucket; see
/// docs/sinks.md for the full contract.
class DROVER_API s3_sink final : public storage_sink {
public:
    /// Throws config_error for bad options (the URL, part sizes, the partition template).
    /// Credentials are resolved by start(), which also uploads what earlier runs left
    /// pending (throws sink_error when that fails).
    explicit s3_sink(s3_sink_options opts);

    const s3_sink_options& options() const noexcept { return opts_; }

private:
    s3_sink_options opts_;
};

/// Reads what an s3_sink wrote: lists keys under a prefix (ListObjectsV2, all pages) and
/// streams objects, gunzipped, line by line. Blocking; one reader per thread.
class DROVER_API s3_reader {
public:
    /// Uses url ("s3://bucket/prefix"), endpoint, region, path_style, profile, credentials,
    /// max_attempts, retry_base and request_timeout from `opts`.
    explicit s3_reader(const s3_sink_options& opts);
    ~s3_reader();
    s3_reader(const s3_reader&) = delete;
    s3_reader& operator=(const s3_reader&) = delete;

    struct object {
        std::string key{};
        std::uint64_t size = 0;
    };
    /// Every object whose key starts with `<prefix>/` + `sub_prefix`, in key order.
    std::vector<object> list(std::string_view sub_prefix = {});
    /// Calls `on_line` for every line of the gzip object `key` (multi-member gzip allowed).
    void read_lines(const std::string& key, const std::function<void(std::string_view)>& on_line);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace drover
