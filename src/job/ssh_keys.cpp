#include "job/ssh_keys.hpp"

#include "executors/ssh_command.hpp"
#include "job/toml_reader.hpp"

namespace drover::detail {
namespace {

class ssh_reader : reader {
public:
    using reader::reader;

    void executor(const toml::table& t, const std::string& path, ssh_executor_options& o) const {
        check_keys(t, path, {"kind", "hosts", "slots", "identity", "ssh_options", "config_file", "workdir",
                             "accept_new_host_keys", "connect_timeout", "kill_grace", "max_line_bytes", "ssh_program"});
        const auto& hosts = required(t, "hosts", path, " (e.g. hosts = [\"user@host:22\"])");
        o.hosts = string_list(hosts, path + ".hosts");
        if (o.hosts.empty()) fail(hosts, path + ".hosts", "must name at least one host");
        const auto& arr = *hosts.as_array();
        for (std::size_t i = 0; i < o.hosts.size(); ++i) {
            try {
                parse_ssh_host(o.hosts[i]);
            } catch (const config_error& e) {
                fail(arr[i], fmt::format("{}.hosts[{}]", path, i), e.what());
            }
        }
        if (const auto* v = t.get("slots")) o.slots_per_host = static_cast<std::size_t>(int_of(*v, path + ".slots", 1));
        if (const auto* v = t.get("identity")) o.identity = string_of(*v, path + ".identity");
        if (const auto* v = t.get("ssh_options")) {
            o.ssh_options = string_list(*v, path + ".ssh_options");
            const auto& opts = *v->as_array();
            for (std::size_t i = 0; i < o.ssh_options.size(); ++i)
                if (o.ssh_options[i].find('=') == std::string::npos || o.ssh_options[i].front() == '-')
                    fail(opts[i], fmt::format("{}.ssh_options[{}]", path, i), "expected \"Key=Value\", e.g. \"Port=2222\"");
        }
        if (const auto* v = t.get("config_file")) o.config_file = string_of(*v, path + ".config_file");
        if (const auto* v = t.get("workdir")) o.workdir = string_of(*v, path + ".workdir");
        if (const auto* v = t.get("accept_new_host_keys")) o.accept_new_host_keys = bool_of(*v, path + ".accept_new_host_keys");
        if (const auto* v = t.get("connect_timeout")) o.connect_timeout = duration_of(*v, path + ".connect_timeout");
        if (const auto* v = t.get("kill_grace")) o.kill_grace = duration_of(*v, path + ".kill_grace");
        if (const auto* v = t.get("max_line_bytes")) o.max_line_bytes = line_limit(*v, path);
        if (const auto* v = t.get("ssh_program")) o.ssh_program = string_of(*v, path + ".ssh_program");
    }
};

}  // namespace

void parse_ssh_executor(const std::string& file, const toml::table& t, const std::string& path,
                        ssh_executor_options& o) {
    ssh_reader(file).executor(t, path, o);
}

}  // namespace drover::detail
