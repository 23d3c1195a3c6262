#pragma once
/// @file
/// Runs attempts on remote hosts through the system OpenSSH client.

#include <drover/executor.hpp>
#include <drover/executors/host_pool.hpp>
#include <drover/export.hpp>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace drover {

/// `hosts` (and the lines of hosts_file and hosts_command): "host", "user@host",
/// "user@host:port", "[::1]:port", or an alias from ~/.ssh/config (the user's config, agent,
/// ProxyJump and known_hosts all apply).
struct DROVER_API ssh_executor_options : host_pool_options {
    std::string identity{};                 ///< -i FILE (optional)
    std::vector<std::string> ssh_options{}; ///< extra "-o Key=Value" options, e.g. "UserKnownHostsFile=/x"
    std::string config_file{};              ///< -F FILE; empty = ssh's default (~/.ssh/config)
    std::string workdir{};                  ///< remote working directory (a task's workdir wins)
    bool accept_new_host_keys = false;      ///< StrictHostKeyChecking=accept-new instead of yes
    duration connect_timeout{10000};
    duration kill_grace{2000};              ///< remote SIGTERM, then SIGKILL after this long
    std::string ssh_program = "ssh";
    std::size_t max_line_bytes = 16u << 20;
};

/// One multiplexed master connection per host (ControlMaster/ControlPersist, socket under
/// the run's state directory), BatchMode, strict host key checking unless asked otherwise.
/// Each attempt runs `sh -c` on the remote side in a new session (setsid), with its argv and
/// env quoted for the remote shell; the remote wrapper kills the task's whole session when
/// the connection closes (timeout, cancel, lost network) and when the task exits.
/// The remote login shell must be POSIX (sh, bash, dash, ksh, zsh) and have `setsid`.
///
/// Health (host_pool_executor): hosts are probed when they join; a host whose connection fails
/// is marked down, its attempts fail with failure_class::executor_lost (retried elsewhere
/// without using the task's retries), and it is re-probed with exponential backoff.
/// Authentication and host key failures are reported once and that host is not used until it
/// leaves the list and joins again.
class DROVER_API ssh_executor final : public host_pool_executor {
public:
    explicit ssh_executor(ssh_executor_options opts);

    std::string name() const override { return "ssh"; }

private:
    struct impl;
};

/// Quotes `s` for a POSIX shell (single quotes; `'` becomes `'\''`).
DROVER_API std::string shell_quote(std::string_view s);

}  // namespace drover
