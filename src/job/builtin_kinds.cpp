#include "job/builtin_kinds.hpp"

#include "cron/cron.hpp"
#include "sinks/partition.hpp"

namespace drover::detail {

void add_builtin_kinds(kinds& k) {
    k.add_executor("local", local_kind());
    k.add_executor("ssh", ssh_kind());
    k.add_executor("docker", docker_kind());
    k.add_executor("slurm", slurm_kind());
    k.add_sink("file", file_sink_kind());
    k.add_sink("s3", s3_sink_kind());
}

std::optional<std::size_t> line_limit(const job_table& t) {
    auto n = t.get_size("max_line_bytes");
    if (n && *n == 0) t.fail("max_line_bytes", "must be at least 1 byte");
    return n ? std::optional<std::size_t>(static_cast<std::size_t>(*n)) : std::nullopt;
}

std::optional<std::string> partition_key(const job_table& t) {
    auto v = t.get_string("partition");
    if (!v) return v;
    try {
        partition_template check(*v);
    } catch (const config_error& e) {
        t.fail("partition", e.what());
    }
    return v;
}

std::optional<std::string> timezone_key(const job_table& t) {
    auto v = t.get_string("timezone");
    if (!v) return v;
    try {
        time_zone check(*v);
    } catch (const config_error& e) {
        t.fail("timezone", e.what());
    }
    return v;
}

std::optional<bad_value_policy> bad_values_key(const job_table& t) {
    auto v = t.get_string("bad_values");
    if (!v) return std::nullopt;
    if (*v == "missing_partition") return bad_value_policy::missing_partition;
    if (*v != "bad_records")
        t.fail("bad_values", "must be \"missing_partition\" (the default: bad values go to __missing__) or "
                             "\"bad_records\", got \"" + *v + "\"");
    return bad_value_policy::bad_records;
}

std::string_view to_string(bad_value_policy p) {
    return p == bad_value_policy::bad_records ? "bad_records" : "missing_partition";
}

double seconds(duration d) { return static_cast<double>(d.count()) / 1000.0; }

}  // namespace drover::detail
