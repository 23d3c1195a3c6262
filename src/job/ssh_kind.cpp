// `[[executors]] kind = "ssh"`: hosts (required), slots per host, ssh options.

#include "job/builtin_kinds.hpp"

#include "executors/ssh_command.hpp"

#include <boost/json/value.hpp>

namespace drover::detail {

namespace {

ssh_executor_options read_ssh(const job_table& t) {
    std::vector<std::string_view> keys = host_pool_keys;
    keys.insert(keys.end(), {"kind", "identity", "ssh_options", "config_file", "workdir", "accept_new_host_keys",
                             "connect_timeout", "kill_grace", "max_line_bytes", "ssh_program"});
    t.check_keys(keys);
    ssh_executor_options o;
    read_host_pool(t, o, [](const std::string& h) { parse_ssh_host(h); }, "e.g. hosts = [\"user@host:22\"]");
    if (o.hosts.empty() && o.hosts_file.empty() && o.hosts_command.empty())
        t.required(t.get_strings("hosts"), "hosts", " (e.g. hosts = [\"user@host:22\"], or hosts_file or hosts_command)");
    if (auto v = t.get_string("identity")) o.identity = *v;
    if (auto v = t.get_strings("ssh_options")) {
        o.ssh_options = *v;
        for (std::size_t i = 0; i < o.ssh_options.size(); ++i)
            if (o.ssh_options[i].find('=') == std::string::npos || o.ssh_options[i].front() == '-')
                t.fail("ssh_options", i, "expected \"Key=Value\", e.g. \"Port=2222\"");
    }
    if (auto v = t.get_string("config_file")) o.config_file = *v;
    if (auto v = t.get_string("workdir")) o.workdir = *v;
    if (auto v = t.get_bool("accept_new_host_keys")) o.accept_new_host_keys = *v;
    if (auto v = t.get_duration("connect_timeout")) o.connect_timeout = *v;
    if (auto v = t.get_duration("kill_grace")) o.kill_grace = *v;
    if (auto v = line_limit(t)) o.max_line_bytes = *v;
    if (auto v = t.get_string("ssh_program")) o.ssh_program = *v;
    return o;
}

}  // namespace

executor_kind<ssh_executor_options> ssh_kind() {
    return {
        .read = read_ssh,
        .make = [](const ssh_executor_options& o) { return std::make_shared<ssh_executor>(o); },
        .slots = [](const ssh_executor_options& o) { return o.hosts.size() * o.slots_per_host; },  // at start
        .describe =
            [](const ssh_executor_options& o, boost::json::object& d) {
                boost::json::array opts(o.ssh_options.begin(), o.ssh_options.end());
                describe_host_pool(o, d);
                d["identity"] = o.identity;
                d["ssh_options"] = std::move(opts);
                d["config_file"] = o.config_file;
                d["workdir"] = o.workdir;
                d["accept_new_host_keys"] = o.accept_new_host_keys;
                d["connect_timeout"] = seconds(o.connect_timeout);
                d["kill_grace"] = seconds(o.kill_grace);
            },
    };
}

}  // namespace drover::detail
