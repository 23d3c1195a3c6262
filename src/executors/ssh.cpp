#include <drover/executors/local.hpp>
#include <drover/executors/ssh.hpp>

#include <drover/error.hpp>
#include <drover/duration.hpp>

#include "detail/complete.hpp"
#include "executors/host_fleet.hpp"
#include "executors/host_source.hpp"
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
#include <set>
#include <sys/wait.h>
#include <unistd.h>

namespace drover {

namespace asio = boost::asio;

namespace {

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

// One attempt on a host: what it needs when the host is lost under it.
struct ssh_attempt {
    asio::cancellation_signal kill;  // kills the local ssh client (and so the remote session)
    std::string lost;                // set when the host was lost or removed under it
};

struct ssh_host_state {
    detail::ssh_host host;
    std::filesystem::path control;
    bool master = false;  // the master connection was started
    // Shared with the probe's completion handler: the probe's process may complete after
    // the host left, and the local executor clears the handler's slot then.
    std::shared_ptr<asio::cancellation_signal> probe_cancel;
    std::set<std::shared_ptr<ssh_attempt>> attempts;
};

struct ssh_executor::impl : detail::host_backend, std::enable_shared_from_this<impl> {
    ssh_executor_options opts;
    std::shared_ptr<detail::host_fleet> fleet;
    std::vector<ssh_host_state> hosts;  // by the pool's host number
    local_executor runner;         // attempts: stdin held open so the remote side sees a kill
    local_executor helper_runner;  // probes: `ssh -f` forks the master, which must survive
    std::filesystem::path control_dir;

    explicit impl(ssh_executor_options o)
        : opts(std::move(o)),
          runner(local_executor_options{.slots = 1 << 20, .kill_grace = std::chrono::milliseconds(1000),
                                        .max_line_bytes = opts.max_line_bytes, .hold_stdin = true}),
          helper_runner(local_executor_options{.slots = 1 << 20, .kill_grace = std::chrono::milliseconds(1000),
                                               .kill_leftovers = false}) {
        bool elastic = opts.wait_for_hosts || !opts.hosts_file.empty() || !opts.hosts_command.empty();
        if (opts.hosts.empty() && !elastic) throw config_error("ssh executor: no hosts");
        if (opts.slots_per_host == 0) throw config_error("ssh executor: slots per host must be >= 1");
        for (auto& spec : opts.hosts) detail::parse_ssh_host(spec);
    }

    std::shared_ptr<detail::host_fleet> make_fleet() override {
        return fleet = std::make_shared<detail::host_fleet>(
                   opts, detail::pool_config{.noun = "ssh host"}, std::weak_ptr<detail::host_backend>(weak_from_this()));
    }

    ssh_host_state& at(std::uint32_t h) {
        if (hosts.size() <= h) hosts.resize(h + 1);
        return hosts[h];
    }

    void start_run(const executor_context& c) override {
        // Unix socket paths are short (108 bytes), and ssh first binds "<path>.<16 random chars>"
        // before renaming it: fall back to /tmp for deep state dirs.
        control_dir = std::filesystem::absolute(c.state_dir) / "ssh" / c.run_id;
        if ((control_dir / "0000.sock").string().size() + 17 > 100)
            control_dir = std::filesystem::temp_directory_path() /
                          fmt::format("drover-ssh-{}-{:x}", ::getuid(), std::hash<std::string>{}(control_dir.string()));
        std::error_code ec;
        std::filesystem::create_directories(control_dir, ec);
        if (ec) throw executor_error("ssh executor: cannot create " + control_dir.string() + ": " + ec.message());
        std::filesystem::permissions(control_dir, std::filesystem::perms::owner_all, ec);
        fleet->start(c);
    }

    // ---- host_backend ----

    void check_host(const std::string& spec) const override { detail::parse_ssh_host(spec); }

    void open_host(std::uint32_t h, const std::string& spec) override {
        auto& s = at(h);
        s = ssh_host_state{};
        s.host = detail::parse_ssh_host(spec);
        s.control = control_dir / fmt::format("{:02}.sock", h);
    }

    void probe_host(std::uint32_t h) override {
        auto& s = at(h);
        std::error_code ec;
        std::filesystem::remove(s.control, ec);  // a stale socket would disable multiplexing
        auto task = std::make_shared<task_spec>();
        task->id = "ssh-probe";
        task->command = detail::ssh_master_command(opts, s.host, s.control);
        auto io = std::make_shared<capture_io>();
        auto signal = s.probe_cancel = std::make_shared<asio::cancellation_signal>();
        attempt_request req{*task, 1, fleet->context().run_id};
        helper_runner.async_execute(fleet->context().io_ex, req, *io,
                                    asio::bind_cancellation_slot(
                                        signal->slot(),
                                        [self = shared_from_this(), h, task, io, signal](execution_result r) {
                                            self->on_probe(h, r, io->err);
                                        }));
    }

    void on_probe(std::uint32_t h, const execution_result& r, const std::string& err) {
        if (fleet->stopped()) return;
        if (r.failure == failure_class::none) {
            at(h).master = true;
            return fleet->probe_done(h, {.ok = true});
        }
        std::string why = r.failure == failure_class::spawn_error ? r.message : detail::last_line(err);
        if (why.empty()) why = r.message;
        bool permanent = r.failure == failure_class::spawn_error || detail::ssh_error_is_permanent(err);
        fleet->probe_done(h, {.ok = false, .permanent = permanent, .why = why});
    }

    void lose_attempts(std::uint32_t h, const std::string& why) override {
        for (auto& a : at(h).attempts) {
            if (!a->lost.empty()) continue;
            a->lost = why;
            a->kill.emit(asio::cancellation_type::terminal);
        }
    }

    void close_host(std::uint32_t h) noexcept override {
        if (h >= hosts.size()) return;
        auto& s = hosts[h];
        if (s.probe_cancel) s.probe_cancel->emit(asio::cancellation_type::terminal);
        s.probe_cancel.reset();
        if (s.master) stop_master(s);
        s.master = false;
        std::error_code ec;
        std::filesystem::remove(s.control, ec);
    }

    // ---- attempts ----

    void execute(asio::any_io_executor io_ex, const attempt_request& req, attempt_io& io, completion_handler handler) override {
        auto chosen = fleet->take(req.avoid_host);
        if (chosen) io.on_placed(fleet->spec(*chosen));
        if (!chosen) {
            execution_result r;
            r.failure = failure_class::executor_lost;
            r.message = "no ssh host is up";
            return detail::complete_later(io_ex, std::move(handler), std::move(r));
        }
        std::uint32_t h = *chosen;
        auto& s = at(h);
        auto task = std::make_shared<task_spec>(req.task);
        task->command = detail::ssh_task_command(opts, s.host, s.control, req.task);
        task->env.clear();   // sent to the remote side inside the command
        task->workdir.clear();
        auto rio = std::make_shared<remote_io>(io);
        auto att = std::make_shared<ssh_attempt>();
        s.attempts.insert(att);
        attempt_request local{*task, req.attempt, req.run_id};
        auto slot = asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected())
            slot.assign([weak = std::weak_ptr<ssh_attempt>(att)](asio::cancellation_type t) {
                if (auto a = weak.lock()) a->kill.emit(t);
            });
        auto on_done = [self = shared_from_this(), h, task, rio, att, io_ex,
                        done = std::move(handler)](execution_result r) mutable {
            self->on_task_done(h, *rio, att, std::move(r), io_ex, std::move(done));
        };
        runner.async_execute(io_ex, local, *rio, asio::bind_cancellation_slot(att->kill.slot(), std::move(on_done)));
    }

    void on_task_done(std::uint32_t h, remote_io& rio, const std::shared_ptr<ssh_attempt>& attempt, execution_result r,
                      const asio::any_io_executor& io_ex, completion_handler handler) {
        auto& att = *attempt;
        auto label = fleet->spec(h);
        rio.finish();
        execution_result out;
        if (!att.lost.empty()) {
            out.failure = failure_class::executor_lost;
            out.message = att.lost;
        } else if (r.failure == failure_class::cancelled || r.failure == failure_class::spawn_error) {
            out = std::move(r);
        } else if (auto rc = rio.marker.exit_code()) {
            out.exit_code = *rc;
            if (*rc != 0) {
                out.failure = failure_class::exit_code;
                out.message = fmt::format("exit code {} on {}", *rc, label);
            }
        } else if (r.exit_code == 255 || r.failure == failure_class::signal) {
            out.failure = failure_class::executor_lost;
            out.message = fmt::format("ssh {}: {}", label, detail::last_line(rio.tail).empty() ? r.message : detail::last_line(rio.tail));
        } else {
            out.failure = failure_class::spawn_error;
            out.exit_code = r.exit_code;
            out.message = fmt::format("remote command did not start on {} (exit code {}): {}", label, r.exit_code,
                                      detail::last_line(rio.tail));
        }
        at(h).attempts.erase(attempt);
        if (out.failure == failure_class::executor_lost && att.lost.empty()) fleet->host_failed(h, false, out.message);
        fleet->attempt_ended(h);  // a slot on this host is free again
        auto slot = asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected()) slot.clear();
        auto ex = asio::get_associated_executor(handler, io_ex);
        asio::dispatch(ex, [h = std::move(handler), out = std::move(out)]() mutable { std::move(h)(std::move(out)); });
    }

    void stop_run() noexcept override {
        fleet->stop();
        std::error_code ec;
        if (!control_dir.empty()) std::filesystem::remove_all(control_dir, ec);
        control_dir.clear();
    }

    // `ssh -O exit` only talks to the local control socket: quick, so run it to completion.
    void stop_master(const ssh_host_state& h) noexcept {
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

ssh_executor::ssh_executor(ssh_executor_options opts)
    : host_pool_executor(std::make_shared<impl>(std::move(opts))) {}

}  // namespace drover
