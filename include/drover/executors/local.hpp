#pragma once
/// @file
/// Runs attempts as local processes.

#include <drover/executor.hpp>
#include <drover/export.hpp>

#include <cstddef>
#include <memory>

namespace drover {

struct DROVER_API local_executor_options {
    std::size_t slots = 0;                 ///< 0 = number of cores
    duration kill_grace{2000};             ///< SIGTERM, then SIGKILL after this long
    std::size_t max_line_bytes = 16u << 20;  ///< longer stdout lines become bad records
    /// stdin is a pipe drover holds open until the attempt ends (closed first on a kill),
    /// instead of /dev/null: a child can treat EOF on stdin as "drover is gone". The SSH
    /// executor relies on it to stop remote tasks.
    bool hold_stdin = false;
    /// Kill what the main process left running in its process group when it exits (the
    /// no-orphans rule). Off only for programs that daemonize on purpose.
    bool kill_leftovers = true;
};

namespace detail {
class group_watchdog;
}

/// Each attempt is a child process (posix_spawn) leading its own process group:
/// stdin is /dev/null, stdout lines are records, stderr is the attempt log.
/// A timeout or cancel sends SIGTERM to the whole group, then SIGKILL after kill_grace.
/// When the main process exits, whatever it left running in its group is killed, so an
/// attempt never leaves processes behind (a child that calls setsid() escapes this).
/// When drover itself dies (kill -9, the OOM killer), a watchdog process it started kills the
/// groups of its running attempts at once; a resumed run kills what is still left of them
/// (the journal has their process groups) before it starts anything.
class DROVER_API local_executor final : public executor {
public:
    explicit local_executor(local_executor_options opts = {});
    ~local_executor() override;
    local_executor(local_executor&&) noexcept;
    local_executor& operator=(local_executor&&) noexcept;

    std::string name() const override { return "local"; }
    std::size_t slots() const override { return slots_; }
    void start(const executor_context& ctx) override;
    void stop() noexcept override;
    void async_execute(boost::asio::any_io_executor io_ex, const attempt_request& req,
                       attempt_io& io, completion_handler handler) override;

private:
    local_executor_options opts_;
    std::size_t slots_;
    std::shared_ptr<detail::group_watchdog> watchdog_;
};

}  // namespace drover
