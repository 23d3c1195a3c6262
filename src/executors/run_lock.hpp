#pragma once
// Run lock files under a state directory: a live run holds <state_dir>/<kind>/<run>.lock, so
// an executor reaping what earlier runs left behind (containers, Slurm jobs) can tell a dead
// run from one still going.

#include "detail/fs.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace drover::detail {

/// Identifies a state directory on this machine (hostname + absolute path), for labels and
/// comments that mark what a run started: 16 hex digits.
std::string state_label(const std::filesystem::path& state_dir);

/// <state_dir>/<kind>/<run_id>.lock, created and flock()ed (shared: every executor of the kind
/// in the run holds it) for as long as the fd lives. Throws executor_error when it cannot be
/// created or locked.
unique_fd lock_run(const std::filesystem::path& state_dir, std::string_view kind, const std::string& run_id);

/// True when some process holds the lock of `run_id` (a live run); false when there is
/// no lock file or nobody holds it (an exclusive try succeeds). A run id that is not a plain
/// name is never "live".
bool run_live(const std::filesystem::path& state_dir, std::string_view kind, const std::string& run_id);

/// Releases a run's lock; removes the file when no other executor of the run holds it.
void unlock_run(unique_fd& lock, const std::filesystem::path& state_dir, std::string_view kind,
                const std::string& run_id) noexcept;

/// Removes the lock file of a dead run (after what it left was reaped).
void forget_run(const std::filesystem::path& state_dir, std::string_view kind, const std::string& run_id) noexcept;

}  // namespace drover::detail
