#include <drover/executors/local.hpp>

#include "detail/complete.hpp"
#include "detail/line_splitter.hpp"
#include "executors/group_watchdog.hpp"
#include "executors/spawn.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <csignal>
#include <cstring>
#include <sys/wait.h>
#include <thread>

namespace drover {

namespace asio = boost::asio;

namespace {

std::string signal_name(int sig) {
    const char* abbrev = sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// One running child: reads both pipes, waits on the pidfd, kills on cancel.
// Completes when the child has exited and both pipes reached EOF (or were given up on).
class child_run : public std::enable_shared_from_this<child_run> {
public:
    child_run(asio::any_io_executor ex, const local_executor_options& opts, attempt_io& io,
              executor::completion_handler handler, detail::spawned_child c,
              std::shared_ptr<detail::group_watchdog> watchdog)
        : opts_(opts),
          watchdog_(std::move(watchdog)),
          io_(io),
          handler_(std::move(handler)),
          pid_(c.pid),
          stdin_fd_(c.stdin_fd),
          out_(ex, c.stdout_fd),
          err_(ex, c.stderr_fd),
          pidfd_(ex, c.pidfd),
          kill_timer_(ex),
          drain_timer_(ex),
          lines_(opts.max_line_bytes) {}

    ~child_run() { close_stdin(); }

    void start() {
        auto slot = asio::get_associated_cancellation_slot(handler_);
        if (slot.is_connected()) {
            slot.assign([weak = weak_from_this()](asio::cancellation_type) {
                if (auto self = weak.lock()) self->kill();
            });
        }
        read_stdout();
        read_stderr();
        wait_exit();
    }

private:
    void read_stdout() {
        out_.async_read_some(asio::buffer(out_buf_), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
            self->lines_.feed(std::string_view(self->out_buf_.data(), n),
                              [&](std::string_view l) { self->io_.on_stdout_line(l); },
                              [&](std::uint64_t len, std::string_view head) { self->io_.on_stdout_oversized(len, head); });
            if (ec) {
                self->lines_.finish([&](std::string_view l) { self->io_.on_stdout_line(l); },
                                    [&](std::uint64_t len, std::string_view head) { self->io_.on_stdout_oversized(len, head); });
                self->stdout_done_ = true;
                self->maybe_complete();
                return;
            }
            self->read_stdout();
        });
    }

    void read_stderr() {
        err_.async_read_some(asio::buffer(err_buf_), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
            if (n) self->io_.on_stderr(std::string_view(self->err_buf_.data(), n));
            if (ec) {
                self->stderr_done_ = true;
                self->maybe_complete();
                return;
            }
            self->read_stderr();
        });
    }

    void wait_exit() {
        pidfd_.async_wait(asio::posix::stream_descriptor::wait_read,
                          [self = shared_from_this()](boost::system::error_code ec) {
                              // Readiness can be spurious (descriptor numbers are reused quickly):
                              // act only on an exit the kernel confirms, or the group kill below
                              // would hit a running task.
                              if (!ec && !self->has_exited()) return self->wait_exit();
                              self->on_exit();
                          });
    }

    bool has_exited() const {
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return true;
        return info.si_pid != 0;
    }

    void close_stdin() {
        if (stdin_fd_ >= 0) ::close(stdin_fd_);
        stdin_fd_ = -1;
    }

    void on_exit() {
        close_stdin();
        // The leader is a zombie until reaped, so its process group id cannot be reused:
        // killing the group now safely removes whatever the task left running.
        if (opts_.kill_leftovers) detail::signal_group(pid_, SIGKILL);
        // Unlisted while the zombie still holds the id (no later attempt can have it yet).
        if (watchdog_) watchdog_->remove(pid_, opts_.kill_leftovers);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        status_ = status;
        exited_ = true;
        kill_timer_.cancel();
        // A process outside the group (setsid) may still hold the pipes open: don't wait forever.
        drain_timer_.expires_after(opts_.kill_grace);
        drain_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return;
            boost::system::error_code ignored;
            self->out_.close(ignored);
            self->err_.close(ignored);
        });
        maybe_complete();
    }

    void kill() {
        if (exited_ || cancelled_) return;
        cancelled_ = true;
        close_stdin();
        detail::signal_group(pid_, SIGTERM);
        kill_timer_.expires_after(opts_.kill_grace);
        kill_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec && !self->exited_) detail::signal_group(self->pid_, SIGKILL);
        });
    }

    void maybe_complete() {
        if (!exited_ || !stdout_done_ || !stderr_done_ || completed_) return;
        completed_ = true;
        drain_timer_.cancel();
        execution_result r;
        if (WIFEXITED(status_)) {
            r.exit_code = WEXITSTATUS(status_);
            if (r.exit_code != 0) {
                r.failure = failure_class::exit_code;
                r.message = "exit code " + std::to_string(r.exit_code);
            }
        } else if (WIFSIGNALED(status_)) {
            r.signal = WTERMSIG(status_);
            r.failure = failure_class::signal;
            r.message = "killed by " + signal_name(r.signal);
        }
        if (cancelled_) {
            r.failure = failure_class::cancelled;
            r.message = "killed on cancel" + (r.message.empty() ? "" : " (" + r.message + ")");
        }
        auto slot = asio::get_associated_cancellation_slot(handler_);
        if (slot.is_connected()) slot.clear();
        // Already on the attempt's executor: dispatch to the handler's own.
        auto ex = asio::get_associated_executor(handler_, out_.get_executor());
        asio::dispatch(ex, [h = std::move(handler_), r = std::move(r)]() mutable { std::move(h)(std::move(r)); });
    }

    local_executor_options opts_;
    std::shared_ptr<detail::group_watchdog> watchdog_;
    attempt_io& io_;
    executor::completion_handler handler_;
    pid_t pid_;
    int stdin_fd_;
    asio::posix::stream_descriptor out_, err_, pidfd_;
    asio::steady_timer kill_timer_, drain_timer_;
    detail::line_splitter lines_;
    std::array<char, 65536> out_buf_{};
    std::array<char, 16384> err_buf_{};
    int status_ = 0;
    bool exited_ = false, stdout_done_ = false, stderr_done_ = false;
    bool cancelled_ = false, completed_ = false;
};

}  // namespace

local_executor::local_executor(local_executor_options opts) : opts_(opts) {
    slots_ = opts_.slots ? opts_.slots : std::max(1u, std::thread::hardware_concurrency());
}
local_executor::~local_executor() = default;
local_executor::local_executor(local_executor&&) noexcept = default;
local_executor& local_executor::operator=(local_executor&&) noexcept = default;

void local_executor::start(const executor_context& ctx) {
    // What an earlier run that died left running goes before anything of this run starts.
    for (const auto& ref : ctx.leftovers)
        if (detail::kill_leftover_group(ref) && ctx.report)
            ctx.report("killed process group " + std::to_string(ref.pgid) +
                       ", left running by an earlier run of this state directory that stopped");
    watchdog_ = std::make_shared<detail::group_watchdog>();
    if (auto problem = watchdog_->start()) {
        watchdog_.reset();
        if (ctx.report)
            ctx.report("no process watchdog (" + *problem +
                       "): if this process is killed, its running tasks keep running until a resumed run kills them");
    }
}

void local_executor::stop() noexcept {
    if (watchdog_) watchdog_->stop();  // attempts still holding it only send to a closed socket
    watchdog_.reset();
}

void local_executor::async_execute(asio::any_io_executor io_ex, const attempt_request& req, attempt_io& io,
                                   completion_handler handler) {
    detail::spawned_child child;
    try {
        child = detail::spawn_child({req.task.command, req.task.env, req.task.workdir, opts_.hold_stdin});
    } catch (const std::system_error& e) {
        execution_result r;
        r.failure = failure_class::spawn_error;
        r.message = e.what();
        detail::complete_later(io_ex, std::move(handler), std::move(r));
        return;
    }
    auto started = detail::process_started(child.pid);
    if (watchdog_) watchdog_->add(child.pid, started);
    io.on_process({child.pid, std::move(started)});
    std::make_shared<child_run>(io_ex, opts_, io, std::move(handler), child, watchdog_)->start();
}

}  // namespace drover
