#pragma once
// The real CLI on a job in a test directory, for the kill loops: `drover run DIR/job.toml
// --quiet` in the background (exec'd by sh, so its pid is drover's), output appended to
// DIR/cli.log. The caller waits for or kills the pid.

#include "support/support.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <spawn.h>
#include <sys/types.h>

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

}  // namespace drover::test
