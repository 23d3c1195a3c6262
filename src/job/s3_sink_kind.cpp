// `[sink] kind = "s3"`: objects under s3://bucket/prefix. Credentials never come from the job
// file (the environment or a profile).

#include "job/builtin_kinds.hpp"

#include "http/endpoint.hpp"
#include "s3/url.hpp"

#include <boost/json/value.hpp>

namespace drover::detail {

namespace {

s3_sink_options read_s3(const job_table& t) {
    t.check_keys({"kind", "path", "partition", "timezone", "bad_values", "max_records", "max_bytes",
                  "rotate_interval", "flush_records", "compression_level", "endpoint", "region", "path_style",
                  "part_size", "profile", "ca_file"});
    s3_sink_options o;
    o.url = t.required(t.get_string("path"), "path", " (e.g. path = \"s3://bucket/prefix\")");
    try {
        s3::parse_s3_url(o.url);
    } catch (const config_error& e) {
        t.fail("path", e.what());
    }
    if (auto v = partition_key(t)) o.partition = *v;
    if (auto v = timezone_key(t)) o.timezone = *v;
    if (auto v = bad_values_key(t)) o.bad_values = *v;
    if (auto v = t.get_int("max_records", 0)) o.max_records = static_cast<std::uint64_t>(*v);
    if (auto v = t.get_size("max_bytes")) o.max_bytes = *v;
    if (auto v = t.get_duration("rotate_interval")) {
        if (v->count() < 0) t.fail("rotate_interval", "must not be negative");
        o.rotate_interval = *v;
    }
    if (auto v = t.get_int("flush_records", 0)) o.flush_records = static_cast<std::uint64_t>(*v);
    if (auto v = t.get_int("compression_level", 0, 9)) o.compression_level = static_cast<int>(*v);
    if (auto v = t.get_string("endpoint")) {
        if (!v->starts_with("http://") && !v->starts_with("https://"))
            t.fail("endpoint", "must start with http:// or https://");
        try {  // as the S3 client will (user info, ports, hosts), naming only the host
            (void)http::parse_endpoint(*v);
        } catch (const config_error& e) {
            t.fail("endpoint", e.what());
        }
        o.endpoint = *v;
    }
    if (auto v = t.get_string("region")) o.region = *v;
    if (auto v = t.get_bool("path_style")) o.path_style = *v;
    if (auto v = t.get_size("part_size")) {
        if (*v < (5ull << 20)) t.fail("part_size", "must be at least 5 MiB (S3's minimum part size)");
        o.part_size = *v;
    }
    if (auto v = t.get_string("profile")) o.profile = *v;
    if (auto v = t.get_string("ca_file")) o.ca_file = *v;
    return o;
}

}  // namespace

sink_kind<s3_sink_options> s3_sink_kind() {
    return {
        .read = read_s3,
        .make = [](const s3_sink_options& o) { return std::make_shared<s3_sink>(o); },
        .location = [](const s3_sink_options& o) { return o.url; },
        .partition = [](const s3_sink_options& o) { return o.partition; },
        .describe =
            [](const s3_sink_options& o, boost::json::object& d) {
                // Where the output goes, never the credentials.
                d["url"] = o.url;
                d["endpoint"] = o.endpoint;
                d["region"] = o.region;
                d["path_style"] = o.path_style;
                d["profile"] = o.profile;
                d["partition"] = o.partition;
                d["timezone"] = o.timezone;
                d["bad_values"] = to_string(o.bad_values);
                d["max_records"] = o.max_records;
                d["max_bytes"] = o.max_bytes;
                d["rotate_interval"] = seconds(o.rotate_interval);
                d["flush_records"] = o.flush_records;
                d["compression_level"] = o.compression_level;
                d["part_size"] = o.part_size;
            },
    };
}

}  // namespace drover::detail
