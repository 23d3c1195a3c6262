#pragma once
// Starting a child process for the local executor (and on_failure alert commands):
// posix_spawn, own process group, stdin from /dev/null or a pipe, stdout and stderr on pipes
// (or both on the parent's stderr), and a pidfd to wait on.

#include <map>
#include <string>
#include <sys/types.h>
#include <vector>

namespace drover::detail {

struct spawn_request {
    const std::vector<std::string>& argv;
    const std::map<std::string, std::string>& env;  ///< overrides on top of environ
    const std::string& workdir;                     ///< empty = inherit
    bool stdin_pipe = false;                        ///< stdin from a pipe (else /dev/null)
    bool output_to_stderr = false;                  ///< stdout and stderr both to ours (else pipes)
};

/// A started child. The fds are owned by the caller (all O_CLOEXEC).
struct spawned_child {
    pid_t pid = -1;    ///< also its process group id
    int stdin_fd = -1; ///< write end of stdin when stdin_pipe was asked for
    int stdout_fd = -1;  ///< -1 with output_to_stderr
    int stderr_fd = -1;
    int pidfd = -1;
};

/// Throws std::system_error with a message naming the program when it cannot start.
spawned_child spawn_child(const spawn_request& req);

/// Sends `sig` to the whole process group; ignores ESRCH.
void signal_group(pid_t pgid, int sig) noexcept;

}  // namespace drover::detail
