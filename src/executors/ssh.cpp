#include <drover/executors/local.hpp>
#include <drover/executors/ssh.hpp>

#include <drover/error.hpp>
#include <drover/duration.hpp>

#include "detail/complete.hpp"
#include "executors/spawn.hpp"
#include "executors/ssh_command.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <sys/wait.h>
#include <unistd.h>

namespace drover {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

enum class host_status { probing, up, down, rejected };

struct host_state {
    detail::ssh_host host;
    std::filesystem::path control;
    host_status status = host_status::probing;
    std::size_t running = 0;
    std::size_t started = 0;
    int failures = 0;  // consecutive failed probes
    std::string last_error;
    std::unique_ptr<asio::steady_timer> reprobe;
    // Shared with the probe's completion handler: the probe's process may complete after
    // stop() dropped it, and the local executor clears the handler's slot then.
    std::shared_ptr<asio::cancellation_signal> probe_cancel;
};

std::string last_line(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    auto nl = text.rfind('\n');
    return std::string(nl == std::string_view::npos ? text : text.substr(nl + 1));
}

// Collects what a helper ssh command (probe, exit) prints.
struct capture_io final : attempt_io {
    std::string err;
    void on_stdout_line(std::string_view) override {}
    void on_stdout_oversized(std::uint64_t, std::string_view) override {}
    void on_stderr(std::string_view b) override {
        if (err.size() < 16384) err.append(b);
    }
};

// Sits between the local ssh client and the scheduler: stdout passes through, the remote
// wrapper's exit marker is taken out of stderr.
struct remote_io final : attempt_io {
    explicit remote_io(attempt_io& up) : up(up) {}
    attempt_io& up;
    detail::marker_filter marker;
    std::string tail;  // last stderr bytes, for the message when ssh itself fails
    void on_stdout_line(std::string_view l) override { up.on_stdout_line(l); }
    void on_stdout_oversized(std::uint64_t n, std::string_view h) override { up.on_stdout_oversized(n, h); }
    void on_stderr(std::string_view b) override {
        marker.feed(b, [&](std::string_view out) {
            up.on_stderr(out);
            tail.append(out);
            if (tail.size() > 4096) tail.erase(0, tail.size() - 4096);
        });
    }
    void finish() {
        marker.feed("", [](std::string_view) {});
        marker.finish([&](std::string_view out) {
            up.on_stderr(out);
            tail.append(out);
        });
    }
};

}  // namespace

struct ssh_executor::impl : std::enable_shared_from_this<impl> {
    ssh_executor_options opts;
    std::vector<host_state> hosts;
    local_executor runner;         // attempts: stdin held open so the remote side sees a kill
    local_executor helper_runner;  // probes: `ssh -f` forks the master, which must survive
    std::optional<executor_context> ctx;
    std::filesystem::path control_dir;
    bool stopped = false;
    std::optional<clock::time_point> all_down_since;
    std::unique_ptr<asio::steady_timer> giveup;

    explicit impl(ssh_executor_options o)
        : opts(std::move(o)),
          runner(local_executor_options{.slots = 1 << 20, .kill_grace = std::chrono::milliseconds(1000),
                                        .max_line_bytes = opts.max_line_bytes, .hold_stdin = true}),
          helper_runner(local_executor_options{.slots = 1 << 20, .kill_grace = std::chrono::milliseconds(1000),
                                               .kill_leftovers = false}) {
        if (opts.hosts.empty()) throw config_error("ssh executor: no hosts");
        if (opts.slots_per_host == 0) throw config_error("ssh executor: slots per host must be >= 1");
        for (auto& spec : opts.hosts) hosts.push_back({detail::parse_ssh_host(spec), {}});
    }

    std::string label(const host_state& h) const { return h.host.spec; }

    void report(std::string msg) const {
        if (ctx && ctx->report) ctx->report(std::move(msg));
    }
    void changed() const {
        if (ctx && ctx->capacity_changed) ctx->capacity_changed();
    }

    void start(const executor_context& c) {
        ctx = c;
        stopped = false;
        // Unix socket paths are short (108 bytes), and ssh first binds "<path>.<16 random chars>"
        // before renaming it: fall back to /tmp for deep state dirs.
        control_dir = std::filesystem::absolute(c.state_dir) / "ssh" / c.run_id;
        if ((control_dir / "00.sock").string().size() + 17 > 100)
            control_dir = std::filesystem::temp_directory_path() /
                          fmt::format("drover-ssh-{}-{:x}", ::getuid(), std::hash<std::string>{}(control_dir.string()));
        std::error_code ec;
        std::filesystem::create_directories(control_dir, ec);
        if (ec) throw executor_error("ssh executor: cannot create " + control_dir.string() + ": " + ec.message());
        std::filesystem::permissions(control_dir, std::filesystem::perms::owner_all, ec);
        giveup = std::make_unique<asio::steady_timer>(c.io_ex);
        for (std::size_t i = 0; i < hosts.size(); ++i) {
            auto& h = hosts[i];
            h.control = control_dir / fmt::format("{:02}.sock", i);
            h.reprobe = std::make_unique<asio::steady_timer>(c.io_ex);
            probe(i);
        }
    }

    void probe(std::size_t i) {
        auto& h = hosts[i];
        h.status = host_status::probing;
        std::error_code ec;
        std::filesystem::remove(h.control, ec);  // a stale socket would disable multiplexing
        auto task = std::make_shared<task_spec>();
        task->id = "ssh-probe";
        task->command = detail::ssh_master_command(opts, h.host, h.control);
        auto io = std::make_shared<capture_io>();
        auto signal = h.probe_cancel = std::make_shared<asio::cancellation_signal>();
        attempt_request req{*task, 1, ctx->run_id};
        helper_runner.async_execute(ctx->io_ex, req, *io,
                             asio::bind_cancellation_slot(
                                 signal->slot(),
                                 [self = shared_from_this(), i, task, io, signal](execution_result r) {
                                     self->on_probe(i, r, io->err);
                                 }));
    }

    void on_probe(std::size_t i, const execution_result& r, const std::string& err) {
        if (stopped) return;
        auto& h = hosts[i];
        if (r.failure == failure_class::none) {
            bool was_down = h.failures > 0;
            h.status = host_status::up;
            h.failures = 0;
            all_down_since.reset();
            giveup->cancel();
            if (was_down) report(fmt::format("host {} is up again", label(h)));
            changed();
            return;
        }
        std::string why = r.failure == failure_class::spawn_error ? r.message : last_line(err);
        if (why.empty()) why = r.message;
        h.last_error = why;
        if (r.failure == failure_class::spawn_error || detail::ssh_error_is_permanent(err)) {
            h.status = host_status::rejected;
            report(fmt::format("host {} cannot be used: {}", label(h), why));
        } else {
            mark_down(i, why);
            return;
        }
        check_all_down();
    }

    void mark_down(std::size_t i, const std::string& why) {
        auto& h = hosts[i];
        if (h.status == host_status::down || h.status == host_status::rejected || stopped) return;
        if (h.failures == 0) report(fmt::format("host {} is down: {}", label(h), why));
        h.status = host_status::down;
        h.last_error = why;
        auto delay = opts.reprobe_initial * (1 << std::min(h.failures, 16));
        if (delay > opts.reprobe_max) delay = opts.reprobe_max;
        ++h.failures;
        h.reprobe->expires_after(delay);
        h.reprobe->async_wait([self = shared_from_this(), i](boost::system::error_code ec) {
            if (!ec && !self->stopped) self->probe(i);
        });
        check_all_down();
    }

    bool usable(const host_state& h) const { return h.status == host_status::up; }

    void check_all_down() {
        bool any_alive = false;
        for (auto& h : hosts)
            if (h.status == host_status::up || h.status == host_status::probing) any_alive = true;
        if (any_alive || all_down_since) {
            changed();
            return;
        }
        all_down_since = clock::now();
        giveup->expires_after(opts.down_timeout);
        giveup->async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) self->changed();  // failed() now says so
        });
        changed();
    }

    std::optional<std::string> failed() const {
        bool all_rejected = true, all_out = true;
        for (auto& h : hosts) {
            if (h.status != host_status::rejected) all_rejected = false;
            if (h.status == host_status::up || h.status == host_status::probing) all_out = false;
        }
        bool timed_out = all_out && all_down_since && clock::now() - *all_down_since >= opts.down_timeout;
        if (!all_rejected && !timed_out) return std::nullopt;
        std::string msg = all_rejected ? "no usable host" : "every host down for " + format_duration(opts.down_timeout);
        for (auto& h : hosts) msg += "; " + label(h) + ": " + h.last_error;
        return msg;
    }

    bool can_accept() const {
        for (auto& h : hosts)
            if (usable(h) && h.running < opts.slots_per_host) return true;
        return false;
    }

    std::optional<std::size_t> pick() const {
        std::optional<std::size_t> best;
        for (std::size_t i = 0; i < hosts.size(); ++i) {
            auto& h = hosts[i];
            if (!usable(h) || h.running >= opts.slots_per_host) continue;
            if (!best || h.running < hosts[*best].running ||
                (h.running == hosts[*best].running && h.started < hosts[*best].started))
                best = i;
        }
        return best;
    }

    void execute(asio::any_io_executor io_ex, const attempt_request& req, attempt_io& io, completion_handler handler) {
        auto chosen = pick();
        if (!chosen) {
            execution_result r;
            r.failure = failure_class::executor_lost;
            r.message = "no ssh host is up";
            return detail::complete_later(io_ex, std::move(handler), std::move(r));
        }
        std::size_t i = *chosen;
        auto& h = hosts[i];
        ++h.running;
        ++h.started;
        auto task = std::make_shared<task_spec>(req.task);
        task->command = detail::ssh_task_command(opts, h.host, h.control, req.task);
        task->env.clear();   // sent to the remote side inside the command
        task->workdir.clear();
        auto rio = std::make_shared<remote_io>(io);
        attempt_request local{*task, req.attempt, req.run_id};
        auto slot = asio::get_associated_cancellation_slot(handler);
        auto on_done = [self = shared_from_this(), i, task, rio, io_ex,
                        done = std::move(handler)](execution_result r) mutable {
            self->on_task_done(i, *rio, std::move(r), io_ex, std::move(done));
        };
        runner.async_execute(io_ex, local, *rio, asio::bind_cancellation_slot(slot, std::move(on_done)));
    }

    void on_task_done(std::size_t i, remote_io& rio, execution_result r, const asio::any_io_executor& io_ex,
                      completion_handler handler) {
        auto& h = hosts[i];
        --h.running;
        rio.finish();
        execution_result out;
        if (r.failure == failure_class::cancelled || r.failure == failure_class::spawn_error) {
            out = std::move(r);
        } else if (auto rc = rio.marker.exit_code()) {
            out.exit_code = *rc;
            if (*rc != 0) {
                out.failure = failure_class::exit_code;
                out.message = fmt::format("exit code {} on {}", *rc, label(h));
            }
        } else if (r.exit_code == 255 || r.failure == failure_class::signal) {
            out.failure = failure_class::executor_lost;
            out.message = fmt::format("ssh {}: {}", label(h), last_line(rio.tail).empty() ? r.message : last_line(rio.tail));
            mark_down(i, out.message);
        } else {
            out.failure = failure_class::spawn_error;
            out.exit_code = r.exit_code;
            out.message = fmt::format("remote command did not start on {} (exit code {}): {}", label(h), r.exit_code,
                                      last_line(rio.tail));
        }
        changed();  // a slot on this host is free again
        auto ex = asio::get_associated_executor(handler, io_ex);
        asio::dispatch(ex, [h = std::move(handler), out = std::move(out)]() mutable { std::move(h)(std::move(out)); });
    }

    void stop() noexcept {
        if (!ctx) return;
        stopped = true;
        if (giveup) giveup->cancel();
        for (auto& h : hosts) {
            if (h.reprobe) h.reprobe->cancel();
            if (h.probe_cancel) h.probe_cancel->emit(asio::cancellation_type::terminal);
            if (h.status == host_status::up) stop_master(h);
        }
        std::error_code ec;
        std::filesystem::remove_all(control_dir, ec);
        // The executor outlives the run, the run's io_context does not: drop everything
        // that refers to it (the strand, timers, cancellation signals) now.
        giveup.reset();
        for (auto& h : hosts) {
            h.reprobe.reset();
            h.probe_cancel.reset();
        }
        ctx.reset();
    }

    // `ssh -O exit` only talks to the local control socket: quick, so run it to completion.
    void stop_master(const host_state& h) noexcept {
        try {
            auto argv = detail::ssh_exit_command(opts, h.host, h.control);
            std::map<std::string, std::string> no_env;
            std::string no_dir;
            auto c = detail::spawn_child({argv, no_env, no_dir, false});
            ::close(c.stdout_fd);
            ::close(c.stderr_fd);
            ::close(c.pidfd);
            while (::waitpid(c.pid, nullptr, 0) < 0 && errno == EINTR) {
            }
        } catch (...) {
        }
    }
};

ssh_executor::ssh_executor(ssh_executor_options opts) : impl_(std::make_shared<impl>(std::move(opts))) {}
ssh_executor::~ssh_executor() {
    if (impl_) impl_->stop();
}
ssh_executor::ssh_executor(ssh_executor&&) noexcept = default;
ssh_executor& ssh_executor::operator=(ssh_executor&&) noexcept = default;

std::size_t ssh_executor::slots() const { return impl_->hosts.size() * impl_->opts.slots_per_host; }
void ssh_executor::start(const executor_context& ctx) { impl_->start(ctx); }
void ssh_executor::stop() noexcept { impl_->stop(); }
bool ssh_executor::can_accept() const { return impl_->can_accept(); }
std::optional<std::string> ssh_executor::failed() const { return impl_->failed(); }

void ssh_executor::async_execute(asio::any_io_executor io_ex, const attempt_request& req, attempt_io& io,
                                 completion_handler handler) {
    impl_->execute(std::move(io_ex), req, io, std::move(handler));
}

std::vector<std::pair<std::string, std::size_t>> ssh_executor::attempts_per_host() const {
    std::vector<std::pair<std::string, std::size_t>> out;
    for (auto& h : impl_->hosts) out.emplace_back(h.host.spec, h.started);
    return out;
}

}  // namespace drover
