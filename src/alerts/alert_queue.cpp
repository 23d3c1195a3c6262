#include "alerts/alert_queue.hpp"

#include "executors/spawn.hpp"
#include "http/client.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <optional>
#include <pthread.h>
#include <sys/wait.h>
#include <system_error>
#include <thread>
#include <vector>

namespace drover::detail {

namespace asio = boost::asio;
using ms = std::chrono::milliseconds;

namespace {

constexpr std::size_t max_active = 8;
constexpr std::size_t max_waiting = 1000;
constexpr ms drain_grace{500};

// A write into a pipe whose reader is gone raised SIGPIPE, blocked in this thread: take
// it off the pending set so it never fires later.
void consume_sigpipe() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    timespec zero{0, 0};
    (void)::sigtimedwait(&set, nullptr, &zero);
}

std::string exit_text(int status) {
    return WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                             : "signal " + std::to_string(WTERMSIG(status));
}

// One run of the alert command: the payload on stdin, DROVER_ALERT_EVENT in its
// environment, its output on drover's stderr. It leads a process group of its own: on a
// timeout or abort the whole group is killed, and when it exits whatever it left running
// in the group is killed too (as with tasks: no orphans).
class command_run : public std::enable_shared_from_this<command_run> {
public:
    using done_fn = std::function<void(bool ok)>;

    command_run(asio::io_context& ioc, const std::vector<std::string>& argv, ms timeout,
                const alert_queue::log_fn& log)
        : argv_(argv), timeout_(timeout), log_(log), in_(ioc), pidfd_(ioc), timer_(ioc) {}

    ~command_run() {
        if (pid_ > 0 && !reaped_) {
            signal_group(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }

    void start(const std::string& event, std::string payload, done_fn done) {
        done_ = std::move(done);
        payload_ = std::move(payload);
        std::map<std::string, std::string> env{{"DROVER_ALERT_EVENT", event}};
        std::string workdir;
        spawned_child c;
        try {
            c = spawn_child({.argv = argv_, .env = env, .workdir = workdir, .stdin_pipe = true, .output_to_stderr = true});
        } catch (const std::system_error& e) {
            log_("on_failure command '" + argv_[0] + "' cannot start: " + e.code().message());
            return asio::post(timer_.get_executor(), [self = shared_from_this()] { self->done_(false); });
        }
        pid_ = c.pid;
        in_.assign(c.stdin_fd);
        pidfd_.assign(c.pidfd);
        auto self = shared_from_this();
        asio::async_write(in_, asio::buffer(payload_), [self](boost::system::error_code ec, std::size_t) {
            if (ec == asio::error::broken_pipe) consume_sigpipe();
            boost::system::error_code ignored;
            self->in_.close(ignored);  // EOF for the command
        });
        pidfd_.async_wait(asio::posix::stream_descriptor::wait_read,
                          [self](boost::system::error_code) { self->exited(); });
        timer_.expires_after(timeout_);
        timer_.async_wait([self](boost::system::error_code ec) {
            if (ec || self->reaped_) return;
            self->timed_out_ = true;
            signal_group(self->pid_, SIGKILL);
        });
    }

    // Kills the group; completes (not ok, without a message) once the command is gone.
    void abort() {
        aborted_ = true;
        if (pid_ > 0 && !reaped_) signal_group(pid_, SIGKILL);
    }

private:
    void exited() {
        // Kill what is left in the group before reaping: the leader's zombie keeps the
        // group id from being reused until then.
        signal_group(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        reaped_ = true;
        timer_.cancel();
        boost::system::error_code ignored;
        in_.close(ignored);
        pidfd_.close(ignored);
        bool ok = !timed_out_ && !aborted_ && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (timed_out_ && !aborted_)
            log_("on_failure command '" + argv_[0] + "' killed after " + std::to_string(timeout_.count()) + " ms");
        else if (!ok && !aborted_)
            log_("on_failure command '" + argv_[0] + "' failed: " + exit_text(status));
        done_(ok);
    }

    const std::vector<std::string>& argv_;
    ms timeout_;
    const alert_queue::log_fn& log_;
    asio::posix::stream_descriptor in_, pidfd_;
    asio::steady_timer timer_;
    std::string payload_;
    done_fn done_;
    pid_t pid_ = -1;
    bool reaped_ = false, timed_out_ = false, aborted_ = false;
};

}  // namespace

struct alert_queue::impl {
    struct item {
        std::string event, payload;
        bool last = false;  // run_failed: after every alert queued before it, alone
    };
    struct delivery {
        item what;
        std::shared_ptr<command_run> cmd;
        asio::cancellation_signal cancel;
        bool aborted = false, ok_cmd = true, ok_hook = true;
    };

    alert_config cfg;
    http::endpoint endpoint;
    std::string target;
    log_fn log;
    ms timeout;
    std::size_t channels;  // command and/or webhook: deliveries per alert

    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    std::optional<http::client> client;
    asio::steady_timer deadline{ioc};
    std::thread thread;

    // On the thread only.
    std::deque<item> waiting;
    std::list<std::shared_ptr<delivery>> active;
    bool deadline_armed = false;
    std::uint64_t deadline_gen = 0;  // a cancelled deadline's late handler is ignored
    std::vector<std::pair<asio::any_io_executor, std::function<void()>>> waiters;

    // Shared with the threads that push and drain.
    mutable std::mutex m;
    std::condition_variable cv;
    std::size_t pending = 0, queued = 0, sent = 0, failed = 0;

    void pump() {
        while (active.size() < max_active && !waiting.empty()) {
            // A run's last alert goes out once its task alerts are done, and before the
            // next run's (a schedule's runs share the queue).
            if (waiting.front().last && !active.empty()) return;
            if (!active.empty() && active.front()->what.last) return;
            auto d = std::make_shared<delivery>();
            d->what = std::move(waiting.front());
            waiting.pop_front();
            {
                std::lock_guard lock(m);
                --queued;
            }
            active.push_back(d);
            run_command(d);
        }
    }

    void run_command(const std::shared_ptr<delivery>& d) {
        if (cfg.command.empty()) return post_webhook(d);
        d->cmd = std::make_shared<command_run>(ioc, cfg.command, timeout, log);
        d->cmd->start(d->what.event, d->what.payload, [this, d](bool ok) {
            d->ok_cmd = ok;
            d->cmd.reset();
            if (d->aborted) return finish(d);
            post_webhook(d);
        });
    }

    void post_webhook(const std::shared_ptr<delivery>& d) {
        if (cfg.webhook.empty()) return finish(d);
        http::request req;
        req.method = boost::beast::http::verb::post;
        req.target = target;
        req.headers = {{"Content-Type", "application/json"}};
        req.body = d->what.payload;
        client->async_request(std::move(req),
                              asio::bind_cancellation_slot(d->cancel.slot(), [this, d](http::result res) {
                                  d->ok_hook = webhook_ok(res, d->aborted);
                                  finish(d);
                              }));
    }

    bool webhook_ok(const http::result& res, bool aborted) const {
        // The URL's path and query may carry a token: name only the endpoint in messages.
        std::string where = "on_failure webhook " + endpoint.to_string();
        if (!res) {
            if (!aborted) log("on_failure webhook: " + res.error);  // names the endpoint already
            return false;
        }
        if (res.res.status < 200 || res.res.status >= 300) {
            log(where + ": HTTP " + std::to_string(res.res.status) + " " + res.res.reason + ": " +
                res.res.body.substr(0, 200));
            return false;
        }
        return true;
    }

    void finish(const std::shared_ptr<delivery>& d) {
        active.remove(d);
        {
            std::lock_guard lock(m);
            sent += (!cfg.command.empty() && d->ok_cmd) + (!cfg.webhook.empty() && d->ok_hook);
            failed += !d->ok_cmd + !d->ok_hook;
            --pending;
        }
        cv.notify_all();
        pump();
        check_idle();
    }

    void check_idle() {
        {
            std::lock_guard lock(m);
            if (pending != 0) return;
        }
        if (deadline_armed) {
            deadline_armed = false;
            ++deadline_gen;
            deadline.cancel();
        }
        for (auto& [ex, done] : waiters) asio::post(ex, std::move(done));
        waiters.clear();
    }

    void start_deadline() {
        {
            std::lock_guard lock(m);
            if (pending == 0) return;
        }
        if (deadline_armed) return;
        deadline_armed = true;
        auto gen = ++deadline_gen;
        // A little past the per-alert timeout, so what is in flight now ends by its own
        // timeout (with its own message); what has not started by then is given up on.
        deadline.expires_after(timeout + drain_grace);
        deadline.async_wait([this, gen](boost::system::error_code ec) {
            if (gen != deadline_gen) return;
            deadline_armed = false;
            if (!ec) give_up("gave up after " + format_duration(timeout + drain_grace));
        });
    }

    // Fails what waits, kills and cancels what runs; those complete (as failed) shortly.
    void give_up(const std::string& why) {
        std::size_t n = waiting.size() + active.size();
        if (n == 0) return;
        if (!why.empty()) log("on_failure: " + why + ": " + std::to_string(n) + " alert(s) not delivered");
        {
            std::lock_guard lock(m);
            failed += waiting.size() * channels;
            pending -= waiting.size();
            queued -= waiting.size();
        }
        waiting.clear();
        for (auto& d : active) {
            d->aborted = true;
            if (d->cmd) d->cmd->abort();
            d->cancel.emit(asio::cancellation_type::terminal);
        }
        cv.notify_all();
        check_idle();
    }
};

alert_queue::alert_queue(alert_config cfg, http::endpoint webhook, std::string target, log_fn log, ms timeout)
    : impl_(std::make_shared<impl>()) {
    auto& m = *impl_;
    m.cfg = std::move(cfg);
    m.endpoint = std::move(webhook);
    m.target = std::move(target);
    m.log = std::move(log);
    m.timeout = timeout;
    m.channels = !m.cfg.command.empty() + !m.cfg.webhook.empty();
    if (!m.cfg.webhook.empty()) {
        http::client_options o;
        o.target = m.endpoint;
        o.connect_timeout = timeout;
        o.request_timeout = timeout;
        o.max_idle_connections = max_active;
        m.client.emplace(m.ioc.get_executor(), o);
    }
    m.thread = std::thread([&m] {
        sigset_t pipe_set;  // a command that does not read its stdin gives EPIPE, not SIGPIPE
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
        m.ioc.run();
    });
}

alert_queue::~alert_queue() {
    auto& m = *impl_;
    asio::post(m.ioc, [&m] { m.give_up(""); });
    {
        // Killed commands and cancelled requests complete at once; do not wait forever.
        std::unique_lock lock(m.m);
        m.cv.wait_for(lock, std::chrono::seconds(5), [&] { return m.pending == 0; });
    }
    m.work.reset();
    m.ioc.stop();
    m.thread.join();
}

void alert_queue::push(std::string event, std::string payload, bool droppable) {
    auto& m = *impl_;
    {
        std::lock_guard lock(m.m);
        if (droppable && m.queued >= max_waiting) {
            m.failed += m.channels;
            return;
        }
        ++m.pending;
        ++m.queued;
    }
    asio::post(m.ioc, [&m, e = std::move(event), p = std::move(payload), droppable]() mutable {
        m.waiting.push_back({std::move(e), std::move(p), !droppable});
        m.pump();
    });
}

void alert_queue::drain() {
    auto& m = *impl_;
    asio::post(m.ioc, [&m] { m.start_deadline(); });
    std::unique_lock lock(m.m);
    m.cv.wait_for(lock, m.timeout + drain_grace + std::chrono::seconds(5), [&] { return m.pending == 0; });
}

void alert_queue::async_drain(asio::any_io_executor ex, std::function<void()> done) {
    auto& m = *impl_;
    asio::post(m.ioc, [&m, ex = std::move(ex), done = std::move(done)]() mutable {
        m.waiters.emplace_back(std::move(ex), std::move(done));
        m.start_deadline();
        m.check_idle();
    });
}

void alert_queue::abort(std::string why) {
    auto& m = *impl_;
    asio::post(m.ioc, [&m, why = std::move(why)] { m.give_up(why); });
}

std::size_t alert_queue::sent() const {
    std::lock_guard lock(impl_->m);
    return impl_->sent;
}

std::size_t alert_queue::failed() const {
    std::lock_guard lock(impl_->m);
    return impl_->failed;
}

}  // namespace drover::detail
