// S3Sink: gzip JSON-lines objects in S3 (or MinIO, Ceph, R2, s3rver...).

#include "bind.hpp"

#include <chrono>

namespace drover::python {

namespace {

std::chrono::milliseconds to_millis(py::handle v, const char* what) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(to_duration(v, what));
}

}  // namespace

std::optional<s3_credentials> s3_credentials_from(std::string access_key_id, std::string secret_access_key,
                                                  std::string session_token) {
    if (access_key_id.empty() && secret_access_key.empty() && session_token.empty()) return std::nullopt;
    // Never echo the values: only say which one is missing.
    if (access_key_id.empty()) throw config_error("s3: secret_access_key given without access_key_id");
    if (secret_access_key.empty()) throw config_error("s3: access_key_id given without secret_access_key");
    return s3_credentials{std::move(access_key_id), std::move(secret_access_key), std::move(session_token)};
}

void bind_s3_sink(py::module_& m) {
    const s3_sink_options d{};
    py::class_<s3_sink, sink, std::shared_ptr<s3_sink>>(m, "S3Sink", R"doc(
Gzip JSON-lines objects in S3 or an S3-compatible store: <prefix>/<partition>/<task-id>.jsonl.gz
(then <task-id>~1.jsonl.gz, ... when rotating). Attempts stage in a spool under the
scheduler's state directory and upload on commit (multipart above part_size); a task's
earlier objects that a new commit did not write are deleted. Read the output back with
drover.read_output("s3://bucket/prefix", endpoint=..., ...).

url                "s3://bucket/prefix" (prefix optional)
endpoint           "http://127.0.0.1:4568"; "" = AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the
                   profile's endpoint_url, else https://s3.<region>.amazonaws.com
region             "" = AWS_REGION, AWS_DEFAULT_REGION, the profile's region, else us-east-1
path_style         host/bucket/key instead of bucket.host/key (always for IP and localhost)
ca_file            PEM CA bundle for an https endpoint; "" = $AWS_CA_BUNDLE, else the system's
profile            ~/.aws profile; "" = the environment's keys, else $AWS_PROFILE, else default;
                   the whole AWS chain applies (assume-role, web identity, credential_process,
                   container, instance metadata; docs/sinks.md, "Credentials")
access_key_id, secret_access_key, session_token
                   explicit credentials (then the chain is not consulted for keys);
                   never shown by repr() and never part of an error message
partition          key template from task params ("date={date}") and record fields;
                   {name|FORMAT} formats a time ("dt={record.ts|%Y-%m-%d}")
timezone, bad_values
                   as for FileSink: the formats' TZ database zone ("UTC"), and where records
                   with a bad partition value go ("missing_partition" or "bad_records")
max_records        rotate after this many records per object; 0 = never
max_bytes          rotate after this many uncompressed bytes; 0 = never
rotate_interval, flush_records
                   as for FileSink: when a checkpointing task's records up to its last
                   checkpoint are published (docs/sinks.md, "Checkpoints")
compression_level  zlib level 0..9
part_size          multipart part size in bytes (>= 5 MiB) and largest single PutObject
parallel_parts     UploadPart requests in flight per object
max_attempts       tries per request (retryable errors only)
retry_base         first backoff ceiling (doubles up to 10 s); seconds, "100ms" or timedelta
request_timeout    per request; seconds, "2m" or timedelta
if_none_match      PutObject with If-None-Match: * (never overwrite)
fsync              fsync spooled chunks before upload

Bad options (a URL that is not s3://bucket/..., part_size below 5 MiB, ...) raise ConfigError;
missing credentials and failed uploads are reported by the run (SinkError-style messages
carrying the server's error code, e.g. SignatureDoesNotMatch).
)doc")
        .def(py::init([](std::string url, std::string endpoint, std::string region, bool path_style,
                         std::string profile, std::string access_key_id, std::string secret_access_key,
                         std::string session_token, std::string partition, std::string timezone,
                         const std::string& bad_values, std::uint64_t max_records,
                         std::uint64_t max_bytes, py::object rotate_interval, std::uint64_t flush_records,
                         int compression_level, std::uint64_t part_size,
                         unsigned parallel_parts, int max_attempts, py::object retry_base, py::object request_timeout,
                         bool if_none_match, bool fsync, std::string ca_file) {
                 s3_sink_options o;
                 o.url = std::move(url);
                 o.endpoint = std::move(endpoint);
                 o.region = std::move(region);
                 o.path_style = path_style;
                 o.profile = std::move(profile);
                 o.credentials = s3_credentials_from(std::move(access_key_id), std::move(secret_access_key),
                                                     std::move(session_token));
                 o.partition = std::move(partition);
                 o.timezone = std::move(timezone);
                 o.bad_values = bad_values_from(bad_values);
                 o.max_records = max_records;
                 o.max_bytes = max_bytes;
                 o.rotate_interval = to_duration(rotate_interval, "rotate_interval");
                 if (o.rotate_interval.count() < 0) throw config_error("s3 sink: rotate_interval must not be negative");
                 o.flush_records = flush_records;
                 o.compression_level = compression_level;
                 o.part_size = part_size;
                 o.parallel_parts = parallel_parts;
                 if (max_attempts < 1) throw config_error("s3 sink: max_attempts must be at least 1");
                 o.max_attempts = max_attempts;
                 o.retry_base = to_millis(retry_base, "retry_base");
                 o.request_timeout = to_millis(request_timeout, "request_timeout");
                 o.if_none_match = if_none_match;
                 o.fsync = fsync;
                 o.ca_file = std::move(ca_file);
                 return std::make_shared<s3_sink>(std::move(o));
             }),
             py::arg("url"), py::kw_only(), py::arg("endpoint") = d.endpoint, py::arg("region") = d.region,
             py::arg("path_style") = d.path_style, py::arg("profile") = d.profile, py::arg("access_key_id") = "",
             py::arg("secret_access_key") = "", py::arg("session_token") = "", py::arg("partition") = d.partition,
             py::arg("timezone") = d.timezone, py::arg("bad_values") = bad_values_name(d.bad_values),
             py::arg("max_records") = d.max_records, py::arg("max_bytes") = d.max_bytes,
             py::arg("rotate_interval") = seconds(d.rotate_interval), py::arg("flush_records") = d.flush_records,
             py::arg("compression_level") = d.compression_level, py::arg("part_size") = d.part_size,
             py::arg("parallel_parts") = d.parallel_parts, py::arg("max_attempts") = d.max_attempts,
             py::arg("retry_base") = seconds(d.retry_base), py::arg("request_timeout") = seconds(d.request_timeout),
             py::arg("if_none_match") = d.if_none_match, py::arg("fsync") = d.fsync, py::arg("ca_file") = d.ca_file)
        .def_property_readonly("url", [](const s3_sink& s) { return s.options().url; })
        .def_property_readonly("rotate_interval", [](const s3_sink& s) { return seconds(s.options().rotate_interval); })
        .def_property_readonly("flush_records", [](const s3_sink& s) { return s.options().flush_records; })
        .def_property_readonly("endpoint", [](const s3_sink& s) { return s.options().endpoint; })
        .def_property_readonly("region", [](const s3_sink& s) { return s.options().region; })
        .def_property_readonly("partition", [](const s3_sink& s) { return s.options().partition; })
        .def_property_readonly("timezone", [](const s3_sink& s) { return s.options().timezone; })
        .def_property_readonly("bad_values", [](const s3_sink& s) { return bad_values_name(s.options().bad_values); })
        .def("__repr__", [](const s3_sink& s) {
            // Only where the output goes: never the credentials.
            auto& o = s.options();
            std::string r = "S3Sink(" + py::repr(py::str(o.url)).cast<std::string>();
            if (!o.endpoint.empty()) r += ", endpoint=" + py::repr(py::str(o.endpoint)).cast<std::string>();
            if (!o.partition.empty()) r += ", partition=" + py::repr(py::str(o.partition)).cast<std::string>();
            return r + ")";
        });
}

}  // namespace drover::python
