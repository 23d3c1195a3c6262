// `[sink] kind = "file"`: gzip JSON-lines files under `path`.

#include "job/builtin_kinds.hpp"

#include <boost/json/value.hpp>

namespace drover::detail {


sink_kind<file_sink_options> file_sink_kind() {
    return {
        .read =
            [](const job_table& t) {
                t.check_keys({"kind", "path", "partition", "timezone", "bad_values", "max_records", "max_bytes",
                              "rotate_interval", "flush_records", "compression_level", "fsync"});
                file_sink_options o;
                o.root = t.required(t.get_string("path"), "path", " (the output directory, e.g. path = \"out\")");
                if (o.root.empty()) t.fail("path", "must not be empty");
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
                if (auto v = t.get_bool("fsync")) o.fsync = *v;
                return o;
            },
        .make = [](const file_sink_options& o) { return std::make_shared<file_sink>(o); },
        .location = [](const file_sink_options& o) { return o.root.string(); },
        .partition = [](const file_sink_options& o) { return o.partition; },
        .describe =
            [](const file_sink_options& o, boost::json::object& d) {
                d["root"] = o.root.string();
                d["partition"] = o.partition;
                d["timezone"] = o.timezone;
                d["bad_values"] = to_string(o.bad_values);
                d["max_records"] = o.max_records;
                d["max_bytes"] = o.max_bytes;
                d["rotate_interval"] = seconds(o.rotate_interval);
                d["flush_records"] = o.flush_records;
                d["compression_level"] = o.compression_level;
                d["fsync"] = o.fsync;
            },
    };
}

}  // namespace drover::detail
