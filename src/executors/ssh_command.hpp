#pragma once
// Building ssh command lines, kept free of I/O so it can be tested on its own: host specs,
// POSIX shell quoting, the remote wrapper, and recognising its exit marker in stderr.

#include <drover/executors/ssh.hpp>
#include <drover/task.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

/// "user@host:port" → destination "user@host" and port "port"; "[::1]:22" → "::1", "22";
/// "host" → "host", "". Throws config_error for an empty or malformed spec.
struct ssh_host {
    std::string spec;
    std::string destination;
    std::string port;
};
ssh_host parse_ssh_host(std::string_view spec);

/// Options every ssh invocation gets (before the destination).
std::vector<std::string> ssh_base_args(const ssh_executor_options& o, const ssh_host& h,
                                       const std::filesystem::path& control_path);

/// Starts a background master connection: ssh ... -M -N -f (exits once authenticated).
std::vector<std::string> ssh_master_command(const ssh_executor_options& o, const ssh_host& h,
                                            const std::filesystem::path& control_path);

/// Stops the master: ssh ... -O exit.
std::vector<std::string> ssh_exit_command(const ssh_executor_options& o, const ssh_host& h,
                                          const std::filesystem::path& control_path);

/// The remote shell command for a task: cd, env, then the wrapper that runs argv in a new
/// session, kills that session when stdin closes or the task exits, and prints the marker.
std::string remote_command(const task_spec& t, const std::string& default_workdir, duration kill_grace);

/// The whole local argv for one attempt.
std::vector<std::string> ssh_task_command(const ssh_executor_options& o, const ssh_host& h,
                                          const std::filesystem::path& control_path, const task_spec& t);

/// Marker the wrapper prints on stderr after the task: "\x1e" "drover-exit <rc>\n".
inline constexpr std::string_view exit_marker = "\x1e" "drover-exit ";

/// Passes stderr through, removing the wrapper's exit marker and remembering its code.
class marker_filter {
public:
    /// Calls out(bytes) for everything that is not the marker.
    template <class Out>
    void feed(std::string_view data, Out&& out) {
        while (!data.empty()) {
            if (held_.empty()) {
                auto pos = data.find('\x1e');
                if (pos == std::string_view::npos) return out(data);
                if (pos) out(data.substr(0, pos));
                data.remove_prefix(pos);
            }
            auto nl = data.find('\n');
            held_.append(data.substr(0, nl == std::string_view::npos ? data.size() : nl + 1));
            data.remove_prefix(nl == std::string_view::npos ? data.size() : nl + 1);
            if (nl == std::string_view::npos && held_.size() < 64) return;  // wait for the rest
            if (!take_marker()) out(std::string_view(held_));
            held_.clear();
        }
    }
    template <class Out>
    void finish(Out&& out) {
        if (!held_.empty() && !take_marker()) out(std::string_view(held_));
        held_.clear();
    }
    std::optional<int> exit_code() const { return code_; }

private:
    bool take_marker();
    std::string held_;
    std::optional<int> code_;
};

/// True when ssh's message means retrying cannot help (host key or authentication).
bool ssh_error_is_permanent(std::string_view stderr_text);

}  // namespace drover::detail
