#pragma once
// Docker executor support without I/O on the network: host specs to HTTP client options,
// the docker CLI's environment conventions, and the run lock files that tell the reaper
// which runs are still alive.

#include <drover/executors/docker.hpp>

#include "detail/fs.hpp"
#include "http/client.hpp"

#include <filesystem>
#include <string>

namespace drover::detail {

/// Client options for one daemon: "unix:///p", "tcp://h:p" (TLS when opts.tls.enabled),
/// "http://h:p", "https://h:p". Throws config_error for anything else.
http::client_options docker_client_options(const std::string& host, const docker_executor_options& opts);

/// Identifies a state directory on this machine (hostname + absolute path), for the
/// drover.state label: 16 hex digits.
std::string docker_state_label(const std::filesystem::path& state_dir);

/// <state_dir>/docker/<run_id>.lock, created and flock()ed (shared: every docker executor of
/// the run holds it) for as long as the fd lives. Throws executor_error when it cannot be
/// created or locked.
unique_fd lock_docker_run(const std::filesystem::path& state_dir, const std::string& run_id);

/// True when some process holds the lock of `run_id` (a live run); false when there is
/// no lock file or nobody holds it (an exclusive try succeeds). A run id that is not a plain name is never "live".
bool docker_run_live(const std::filesystem::path& state_dir, const std::string& run_id);

/// Releases a run's lock; removes the file when no other executor of the run holds it.
void unlock_docker_run(unique_fd& lock, const std::filesystem::path& state_dir, const std::string& run_id) noexcept;

/// Removes the lock file of a dead run (after its containers were reaped).
void forget_docker_run(const std::filesystem::path& state_dir, const std::string& run_id) noexcept;

}  // namespace drover::detail
