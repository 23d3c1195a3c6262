#include "job/sink_keys.hpp"

#include "http/endpoint.hpp"
#include "job/toml_reader.hpp"
#include "s3/url.hpp"
#include "sinks/partition.hpp"

namespace drover::detail {

namespace {

class sink_reader : reader {
public:
    using reader::reader;

    const toml::node* run(const toml::node& n, sink_config& cfg) {
        const auto& t = table_of(n, "sink");
        const auto& kind = required(t, "kind", "sink", " (e.g. kind = \"file\")");
        cfg.kind = string_of(kind, "sink.kind");
        if (cfg.kind == "s3") return s3(t, cfg.s3);
        check_keys(t, "sink", {"kind", "path", "partition", "max_records", "max_bytes", "compression_level", "fsync"});
        if (cfg.kind != "file")
            fail(kind, "sink.kind", fmt::format("unknown sink kind '{}' (known kinds: file, s3)", cfg.kind));
        auto& o = cfg.file;
        const auto& path = required(t, "path", "sink", " (the output directory, e.g. path = \"out\")");
        o.root = string_of(path, "sink.path");
        if (o.root.empty()) fail(path, "sink.path", "must not be empty");
        const auto* partition = t.get("partition");
        if (partition) o.partition = partition_of(*partition);
        if (const auto* v = t.get("max_records"))
            o.max_records = static_cast<std::uint64_t>(int_of(*v, "sink.max_records", 0));
        if (const auto* v = t.get("max_bytes")) o.max_bytes = size_of(*v, "sink.max_bytes");
        if (const auto* v = t.get("compression_level"))
            o.compression_level = static_cast<int>(int_of(*v, "sink.compression_level", 0, 9));
        if (const auto* v = t.get("fsync")) o.fsync = bool_of(*v, "sink.fsync");
        return partition;
    }

private:
    // The sinks check their template when constructed; checked here too, at its place in
    // the file ("../escape", "/abs" and "./a" used to pass `drover validate`).
    std::string partition_of(const toml::node& v) const {
        std::string tpl = string_of(v, "sink.partition");
        try {
            partition_template check(tpl);
        } catch (const config_error& e) {
            fail(v, "sink.partition", e.what());
        }
        return tpl;
    }

    // `[sink] kind = "s3"`: credentials never come from the job file (environment or profile).
    const toml::node* s3(const toml::table& t, s3_sink_options& o) const {
        check_keys(t, "sink", {"kind", "path", "partition", "max_records", "max_bytes", "compression_level", "endpoint",
                               "region", "path_style", "part_size", "profile", "ca_file"});
        const auto& path = required(t, "path", "sink", " (e.g. path = \"s3://bucket/prefix\")");
        o.url = string_of(path, "sink.path");
        try {
            s3::parse_s3_url(o.url);
        } catch (const config_error& e) {
            fail(path, "sink.path", e.what());
        }
        const auto* partition = t.get("partition");
        if (partition) o.partition = partition_of(*partition);
        if (const auto* v = t.get("max_records"))
            o.max_records = static_cast<std::uint64_t>(int_of(*v, "sink.max_records", 0));
        if (const auto* v = t.get("max_bytes")) o.max_bytes = size_of(*v, "sink.max_bytes");
        if (const auto* v = t.get("compression_level"))
            o.compression_level = static_cast<int>(int_of(*v, "sink.compression_level", 0, 9));
        if (const auto* v = t.get("endpoint")) {
            o.endpoint = string_of(*v, "sink.endpoint");
            if (!o.endpoint.starts_with("http://") && !o.endpoint.starts_with("https://"))
                fail(*v, "sink.endpoint", "must start with http:// or https://");
            try {  // as the S3 client will (user info, ports, hosts), naming only the host
                (void)http::parse_endpoint(o.endpoint);
            } catch (const config_error& e) {
                fail(*v, "sink.endpoint", e.what());
            }
        }
        if (const auto* v = t.get("region")) o.region = string_of(*v, "sink.region");
        if (const auto* v = t.get("path_style")) o.path_style = bool_of(*v, "sink.path_style");
        if (const auto* v = t.get("part_size")) {
            o.part_size = size_of(*v, "sink.part_size");
            if (o.part_size < (5ull << 20))
                fail(*v, "sink.part_size", "must be at least 5 MiB (S3's minimum part size)");
        }
        if (const auto* v = t.get("profile")) o.profile = string_of(*v, "sink.profile");
        if (const auto* v = t.get("ca_file")) o.ca_file = string_of(*v, "sink.ca_file");
        return partition;
    }
};

}  // namespace

const toml::node* parse_sink(const std::string& file, const toml::node& n, sink_config& cfg) {
    return sink_reader(file).run(n, cfg);
}

}  // namespace drover::detail
