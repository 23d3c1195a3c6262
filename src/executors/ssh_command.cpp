#include "executors/ssh_command.hpp"

#include <drover/error.hpp>

#include <fmt/format.h>

#include <charconv>

namespace drover {

std::string shell_quote(std::string_view s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out.push_back(c);
    }
    out += "'";
    return out;
}

}  // namespace drover

namespace drover::detail {

namespace {

// Runs "$@" in a new session, then waits. The watcher reads the saved stdin (fd 3: a
// background list's own stdin is /dev/null) and, at EOF — drover killed the attempt or the
// connection dropped — terminates the session, then kills it after the grace period. When
// the task ends, whatever it left in its session is killed, like the local executor does.
constexpr std::string_view wrapper = R"(g=$1; shift
exec 3<&0
setsid "$@" </dev/null 3<&- &
c=$!
{ while read -r _; do :; done; kill -TERM -$c 2>/dev/null; sleep $g; kill -KILL -$c 2>/dev/null; } <&3 >/dev/null 2>&1 &
w=$!
exec 3<&-
wait $c; rc=$?
kill -KILL -$c 2>/dev/null
kill $w 2>/dev/null
printf '\036drover-exit %d\n' "$rc" >&2
exit $rc)";

std::string seconds(duration d) { return fmt::format("{:.3f}", static_cast<double>(d.count()) / 1000.0); }

}  // namespace

ssh_host parse_ssh_host(std::string_view spec) {
    ssh_host h;
    h.spec = std::string(spec);
    if (spec.empty()) throw config_error("ssh host must not be empty");
    for (char c : spec)
        if (static_cast<unsigned char>(c) <= ' ' || c == '\'' || c == '"' || c == '\\')
            throw config_error("ssh host '" + h.spec + "' contains spaces, quotes or control characters");
    if (spec.front() == '-') throw config_error("ssh host '" + h.spec + "' must not start with '-'");
    std::string_view user, rest = spec;
    if (auto at = spec.rfind('@'); at != std::string_view::npos) {
        user = spec.substr(0, at + 1);
        rest = spec.substr(at + 1);
    }
    std::string_view host = rest, port;
    bool has_port = false;
    if (!rest.empty() && rest.front() == '[') {  // [v6]:port
        auto close = rest.find(']');
        if (close == std::string_view::npos) throw config_error("ssh host '" + h.spec + "': missing ']'");
        host = rest.substr(1, close - 1);
        if (close + 1 < rest.size()) {
            if (rest[close + 1] != ':') throw config_error("ssh host '" + h.spec + "': expected ':port' after ']'");
            port = rest.substr(close + 2);
            has_port = true;
        }
    } else if (auto colon = rest.find(':'); colon != std::string_view::npos && rest.find(':', colon + 1) == std::string_view::npos) {
        host = rest.substr(0, colon);
        port = rest.substr(colon + 1);
        has_port = true;
    }
    if (host.empty()) throw config_error("ssh host '" + h.spec + "': no host name");
    if (has_port) {
        unsigned p = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535)
            throw config_error("ssh host '" + h.spec + "': port must be 1..65535");
    }
    h.destination = std::string(user) + std::string(host);
    h.port = std::string(port);
    return h;
}

std::vector<std::string> ssh_base_args(const ssh_executor_options& o, const ssh_host& h,
                                       const std::filesystem::path& control_path) {
    std::vector<std::string> a{o.ssh_program};
    if (!o.config_file.empty()) a.insert(a.end(), {"-F", o.config_file});
    if (!o.identity.empty()) a.insert(a.end(), {"-i", o.identity});
    if (!h.port.empty()) a.insert(a.end(), {"-p", h.port});
    auto secs = std::max<long>(1, static_cast<long>((o.connect_timeout.count() + 999) / 1000));
    a.insert(a.end(), {"-o", "BatchMode=yes",
                       "-o", std::string("StrictHostKeyChecking=") + (o.accept_new_host_keys ? "accept-new" : "yes"),
                       "-o", "ConnectTimeout=" + std::to_string(secs),
                       "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3",
                       "-o", "ControlPath=" + control_path.string()});
    for (auto& opt : o.ssh_options) a.insert(a.end(), {"-o", opt});
    return a;
}

std::vector<std::string> ssh_master_command(const ssh_executor_options& o, const ssh_host& h,
                                            const std::filesystem::path& control_path) {
    auto a = ssh_base_args(o, h, control_path);
    // Idle masters of a crashed drover go away by themselves after a minute.
    a.insert(a.end(), {"-o", "ControlMaster=yes", "-o", "ControlPersist=60", "-N", "-f", "-T", "--", h.destination});
    return a;
}

std::vector<std::string> ssh_exit_command(const ssh_executor_options& o, const ssh_host& h,
                                          const std::filesystem::path& control_path) {
    auto a = ssh_base_args(o, h, control_path);
    a.insert(a.end(), {"-O", "exit", "--", h.destination});
    return a;
}

std::string remote_command(const task_spec& t, const std::string& default_workdir, duration kill_grace) {
    std::string cmd;
    const std::string& dir = t.workdir.empty() ? default_workdir : t.workdir;
    if (!dir.empty()) cmd += "cd " + shell_quote(dir) + " && ";
    if (!t.env.empty()) {
        cmd += "env";
        for (auto& [k, v] : t.env) cmd += " " + shell_quote(k + "=" + v);
        cmd += " ";
    }
    cmd += "sh -c " + shell_quote(wrapper) + " drover " + seconds(kill_grace);
    for (auto& a : t.command) cmd += " " + shell_quote(a);
    return cmd;
}

std::vector<std::string> ssh_task_command(const ssh_executor_options& o, const ssh_host& h,
                                          const std::filesystem::path& control_path, const task_spec& t) {
    auto a = ssh_base_args(o, h, control_path);
    a.insert(a.end(), {"-o", "ControlMaster=no", "-T", "--", h.destination,
                       remote_command(t, o.workdir, o.kill_grace)});
    return a;
}

bool marker_filter::take_marker() {
    std::string_view h(held_);
    if (!h.starts_with(exit_marker) || !h.ends_with('\n')) return false;
    h.remove_prefix(exit_marker.size());
    h.remove_suffix(1);
    int rc = 0;
    auto [ptr, ec] = std::from_chars(h.data(), h.data() + h.size(), rc);
    if (ec != std::errc() || ptr != h.data() + h.size()) return false;
    code_ = rc;
    return true;
}

bool ssh_error_is_permanent(std::string_view text) {
    for (std::string_view needle : {"Host key verification failed", "Permission denied",
                                     "REMOTE HOST IDENTIFICATION HAS CHANGED", "No such file or directory",
                                     "Could not resolve hostname", "Bad configuration option",
                                     "no argument after keyword", "Too many authentication failures"})
        if (text.find(needle) != std::string_view::npos) return true;
    return false;
}

}  // namespace drover::detail
