// The keys every fleet executor table shares (ssh, docker): the host list, its sources and
// the health settings of host_pool_options.

#include "job/builtin_kinds.hpp"

#include <boost/json/value.hpp>

namespace drover::detail {

const std::vector<std::string_view> host_pool_keys = {
    "hosts",         "slots",          "hosts_file",   "hosts_command", "hosts_refresh",
    "hosts_timeout", "reprobe_initial", "reprobe_max", "down_timeout",
};

std::optional<duration> get_positive_duration(const job_table& t, std::string_view key) {
    auto d = t.get_duration(key);
    if (d && d->count() <= 0) t.fail(key, "must be more than 0s");
    return d;
}

void read_host_pool(const job_table& t, host_pool_options& o, const std::function<void(const std::string&)>& check,
                    std::string_view example) {
    if (auto v = t.get_int("slots", 1, 1024)) o.slots_per_host = static_cast<std::size_t>(*v);
    if (auto v = t.get_string("hosts_file")) {
        if (v->empty()) t.fail("hosts_file", "must not be empty");
        o.hosts_file = *v;
    }
    if (auto v = t.get_strings("hosts_command")) {
        if (v->empty() || v->front().empty())
            t.fail("hosts_command", "must name a program, e.g. hosts_command = [\"aws\", \"ec2\", \"describe-instances\", ...]");
        o.hosts_command = *v;
    }
    if (auto v = get_positive_duration(t, "hosts_refresh")) o.hosts_refresh = *v;
    if (auto v = get_positive_duration(t, "hosts_timeout")) o.hosts_timeout = *v;
    if (auto v = get_positive_duration(t, "reprobe_initial")) o.reprobe_initial = *v;
    if (auto v = get_positive_duration(t, "reprobe_max")) o.reprobe_max = *v;
    if (auto v = get_positive_duration(t, "down_timeout")) o.down_timeout = *v;
    bool sourced = !o.hosts_file.empty() || !o.hosts_command.empty();
    if (auto hosts = t.get_strings("hosts")) {
        if (hosts->empty() && !sourced)
            t.fail("hosts", "must name at least one host (" + std::string(example) + "), or use hosts_file or hosts_command");
        for (std::size_t i = 0; i < hosts->size(); ++i) {
            try {
                check((*hosts)[i]);
            } catch (const config_error& e) {
                t.fail("hosts", i, e.what());
            }
        }
        o.hosts = std::move(*hosts);
    }
}

void describe_host_pool(const host_pool_options& o, boost::json::object& d) {
    d["hosts"] = boost::json::array(o.hosts.begin(), o.hosts.end());
    d["slots_per_host"] = o.slots_per_host;
    if (!o.hosts_file.empty()) d["hosts_file"] = o.hosts_file;
    if (!o.hosts_command.empty()) {
        d["hosts_command"] = boost::json::array(o.hosts_command.begin(), o.hosts_command.end());
        d["hosts_refresh"] = seconds(o.hosts_refresh);
        d["hosts_timeout"] = seconds(o.hosts_timeout);
    }
    d["reprobe_initial"] = seconds(o.reprobe_initial);
    d["reprobe_max"] = seconds(o.reprobe_max);
    d["down_timeout"] = seconds(o.down_timeout);
}

}  // namespace drover::detail
