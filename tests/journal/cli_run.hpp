#pragma once
// The real CLI on a job in a test directory, for the kill loops: `drover run DIR/job.toml
// --quiet` in the background (exec'd by sh, so its pid is drover's), output appended to
// DIR/cli.log. The caller waits for or kills the pid.

#include "support/support.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <csignal>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>

extern char** environ;

namespace drover::test {

inline pid_t start_cli(const fs::path& dir) {
    std::string cmd = fmt::format("exec {} run {}/job.toml --quiet >> {}/cli.log 2>&1", DROVER_CLI_PATH, dir.string(),
                                  dir.string());
    const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
    pid_t pid = -1;
    REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
    return pid;
}

/// Kills the CLI started by start_cli with SIGKILL and reaps it.
inline void kill_cli(pid_t pid) {
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));
}

/// The CLI (reaped with `status`) exited with 0; its log tells why not.
inline void require_cli_ok(const fs::path& dir, int status) {
    INFO(read_file(dir / "cli.log"));
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);
}

}  // namespace drover::test
