#pragma once
// Running a short helper command (sbatch, squeue, scancel) without blocking the strand: its
// stdout and stderr collected up to a limit, killed (its process group) after a timeout.

#include <drover/executors/local.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace drover::detail {

struct command_result {
    execution_result result;  ///< how the process ended (spawn_error when it could not start)
    std::string out, err;     ///< stdout (lines joined with '\n'), stderr; each cut at the limit
    bool timed_out = false;
    bool ok() const { return !timed_out && result.failure == failure_class::none; }
    /// "exit code 1: <last stderr line>", "no answer within 30s", ... for messages.
    std::string problem() const;
};

struct command_request {
    std::vector<std::string> argv;
    std::map<std::string, std::string> env;
    duration timeout{30000};
    std::size_t max_bytes = 64u << 20;
};

/// Runs `req` through `runner` (a local_executor) and calls `done` on `ex`.
void run_command(local_executor& runner, boost::asio::any_io_executor ex, command_request req,
                 std::function<void(command_result)> done);

}  // namespace drover::detail
