#include <drover/executors/docker.hpp>

#include <drover/error.hpp>
#include <drover/duration.hpp>

#include "detail/complete.hpp"
#include "detail/line_splitter.hpp"
#include "docker/api.hpp"
#include "docker/frames.hpp"
#include "docker/lifecycle.hpp"
#include "executors/docker_hosts.hpp"
#include "executors/run_lock.hpp"
#include "executors/docker_warm.hpp"
#include "executors/host_fleet.hpp"
#include "http/client.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include <chrono>
#include <set>

namespace drover {

namespace asio = boost::asio;
using docker::action;
using docker::step;

namespace {

// What a host does to its running attempts when it goes down.
struct attempt_hook {
    virtual void lost(const std::string& why) = 0;

protected:
    ~attempt_hook() = default;
};

struct docker_host {
    http::client_options client_opts;
    std::unique_ptr<http::client> client;
    std::set<std::string> live;  // container names of running attempts, and warm containers
    std::set<attempt_hook*> ops;
    detail::warm_pool warm;      // reuse = slot
};

// TLS failures and wrong answers do not heal by waiting: the host is not used in this run.
bool permanent(const http::result& r) {
    return r.ec.category() == asio::error::get_ssl_category() || r.ec == asio::ssl::error::stream_truncated;
}

// DELETE ?force=1 (kill and remove), without waiting for the answer: a container that
// stays is the reaper's.
void remove_container(http::client& c, std::string_view id) {
    http::request del;
    del.method = boost::beast::http::verb::delete_;
    del.target = docker::remove_target(id);
    c.async_request(std::move(del), [](http::result) {});
}

}  // namespace

struct docker_executor::impl : detail::host_backend, std::enable_shared_from_this<impl> {
    docker_executor_options opts;
    std::shared_ptr<detail::host_fleet> fleet;
    std::vector<docker_host> hosts;  // by the pool's host number
    std::optional<executor_context> ctx;
    std::string state_label;
    detail::unique_fd run_lock;
    std::uint64_t warm_made = 0;  // numbers the warm containers of the run

    explicit impl(docker_executor_options o) : opts(docker_options_from_env(std::move(o))) {
        if (opts.slots_per_host == 0) throw config_error("docker executor: slots per host must be >= 1");
        for (auto& spec : opts.hosts) detail::docker_client_options(spec, opts);
    }

    std::shared_ptr<detail::host_fleet> make_fleet() override {
        return fleet = std::make_shared<detail::host_fleet>(
                   opts, detail::pool_config{.noun = "Docker host", .ping_interval = opts.ping_interval}, std::weak_ptr<detail::host_backend>(weak_from_this()));
    }

    docker_host& at(std::uint32_t h) {
        if (hosts.size() <= h) hosts.resize(h + 1);
        return hosts[h];
    }
    std::string label(std::uint32_t h) const { return hosts[h].client_opts.target.to_string(); }
    void report(std::string msg) const {
        if (ctx && ctx->report) ctx->report(std::move(msg));
    }
    bool stopped() const { return !ctx || fleet->stopped(); }

    void start_run(const executor_context& c) override {
        ctx = c;
        state_label = detail::state_label(c.state_dir);
        run_lock = detail::lock_run(c.state_dir, "docker", c.run_id);
        fleet->start(c);
    }

    // ---- host_backend ----

    void check_host(const std::string& spec) const override { detail::docker_client_options(spec, opts); }

    void open_host(std::uint32_t h, const std::string& spec) override {
        auto& s = at(h);
        s = docker_host{};
        s.warm = detail::warm_pool(opts.slots_per_host);
        s.client_opts = detail::docker_client_options(spec, opts);
        try {
            s.client = std::make_unique<http::client>(ctx->io_ex, s.client_opts);
        } catch (const std::exception& e) {  // unreadable certificate or key, ...
            throw executor_error(fmt::format("{}: {}", label(h), e.what()));
        }
    }

    void probe_host(std::uint32_t h) override {
        http::request req;
        req.target = std::string(docker::api_prefix) + "/_ping";
        req.timeout = opts.connect_timeout + opts.request_timeout / 4;
        at(h).client->async_request(std::move(req),
                                    [self = shared_from_this(), h](http::result r) { self->on_ping(h, r); });
    }

    void on_ping(std::uint32_t h, const http::result& r) {
        if (stopped()) return;
        if (r && r.res.status == 200) return fleet->probe_done(h, {.ok = true});
        if (r)  // an answer, but not Docker's: a TLS port spoken to in plain HTTP, a proxy, ...
            return fleet->probe_done(h, {.ok = false, .permanent = true,
                                         .why = fmt::format("{}: /_ping answered HTTP {}: {}", label(h), r.res.status,
                                                            docker::error_message(r.res.status, r.res.body))});
        fleet->probe_done(h, {.ok = false, .permanent = permanent(r), .why = transport_error(h, r)});
    }

    std::string transport_error(std::uint32_t h, const http::result& r) const {
        return r.error.empty() ? fmt::format("{}: {}", label(h), r.ec.message()) : r.error;
    }

    void host_reachable(std::uint32_t h) override { reap(h); }
    void lose_attempts(std::uint32_t h, const std::string& why) override;
    void close_host(std::uint32_t h) noexcept override {
        if (h >= hosts.size()) return;
        remove_now(h, hosts[h].warm.take_idle());
        hosts[h].client.reset();
    }

    // Removes containers and waits for the answers (bounded by the request timeout): the
    // warm containers of a host that leaves, or of every host when the run ends, are gone
    // before it goes on. A daemon that does not answer leaves them to the reaper.
    void remove_now(std::uint32_t h, const std::vector<detail::warm_container>& gone) noexcept {
        if (gone.empty()) return;
        try {
            asio::io_context ioc;
            http::client c(ioc.get_executor(), hosts[h].client_opts);
            for (const auto& w : gone) {
                hosts[h].live.erase(w.name);
                if (w.id.empty()) continue;
                remove_container(c, w.id);
            }
            ioc.run_for(opts.connect_timeout + opts.request_timeout);
        } catch (const std::exception& e) {
            report(fmt::format("host {}: cannot remove warm containers: {}", label(h), e.what()));
        }
    }

    // An idle warm container of another key makes room for a new one: removed in the background.
    void evict(std::uint32_t h, const detail::warm_container& w) {
        auto& s = hosts[h];
        s.live.erase(w.name);
        if (w.id.empty() || !s.client) return;
        remove_container(*s.client, w.id);
    }

    // Removes leftovers on host i: containers of this state directory whose run is not live,
    // and containers of this run that are not running attempts (e.g. after the daemon restarted).
    void reap(std::uint32_t i) {
        auto& h = hosts[i];
        if (!opts.reap || !h.client) return;
        http::request req;
        req.target = docker::list_target("drover.state=" + state_label);
        h.client->async_request(std::move(req), [self = shared_from_this(), i](http::result r) {
            if (self->stopped() || !r || r.res.status != 200 || !self->hosts[i].client)
                return;  // the next rejoin tries again
            std::vector<docker::container_summary> list;
            try {
                list = docker::parse_list(r.res.body);
            } catch (const docker::protocol_error& e) {
                self->report(fmt::format("host {}: cannot reap: {}", self->label(i), e.what()));
                return;
            }
            std::set<std::string> dead_runs;
            std::size_t removed = 0;
            for (auto& c : list) {
                auto run = c.labels["drover.run"];
                bool mine = run == self->ctx->run_id;
                if (mine ? self->hosts[i].live.count(c.name) > 0 : detail::run_live(self->ctx->state_dir, "docker", run))
                    continue;
                if (!mine) dead_runs.insert(run);
                ++removed;
                remove_container(*self->hosts[i].client, c.id);
            }
            if (removed > 0)
                self->report(fmt::format("host {}: removing {} leftover container(s) ({} of earlier runs)",
                                         self->label(i), removed, dead_runs.size()));
            // The lock files of dead runs are no longer needed once their containers are gone.
            for (auto& run : dead_runs) detail::forget_run(self->ctx->state_dir, "docker", run);
        });
    }

    void execute(asio::any_io_executor io_ex, const attempt_request& req, attempt_io& io, completion_handler handler) override;
    struct attempt_op;

    void stop_run() noexcept override {
        if (!ctx) return;
        for (std::uint32_t h = 0; h < hosts.size(); ++h)
            if (hosts[h].client) remove_now(h, hosts[h].warm.take_idle());
        fleet->stop();
        detail::unlock_run(run_lock, ctx->state_dir, "docker", ctx->run_id);
        ctx.reset();
    }
};

// One attempt: drives the lifecycle state machine over the host's HTTP client.
struct docker_executor::impl::attempt_op final : attempt_hook, std::enable_shared_from_this<attempt_op> {
    std::shared_ptr<docker_executor::impl> ex;
    std::uint32_t host;
    std::string name;
    bool warm;
    docker::lifecycle fsm;
    attempt_io& io;
    executor::completion_handler handler;
    asio::any_io_executor io_ex;
    docker::frame_decoder frames;
    detail::line_splitter lines;
    // The signal of the request in flight; each request's handler keeps its own signal alive,
    // since the client may still hold its slot after we moved on to the next request.
    std::shared_ptr<asio::cancellation_signal> inflight;
    std::uint64_t seq = 0;
    unsigned logs_status = 0;
    std::uint64_t seen[2] = {0, 0};  // stdout, stderr bytes passed on so far
    std::uint64_t skip[2] = {0, 0};  // while reading the rest: bytes already passed on
    std::string logs_error_body;
    bool done = false;

    attempt_op(std::shared_ptr<docker_executor::impl> e, std::uint32_t h, std::string n, bool w, docker::lifecycle f,
               attempt_io& i, executor::completion_handler hd, asio::any_io_executor x, std::size_t max_line)
        : ex(std::move(e)), host(h), name(std::move(n)), warm(w), fsm(std::move(f)), io(i), handler(std::move(hd)),
          io_ex(std::move(x)), lines(max_line) {}

    docker_host& hs() { return ex->hosts[host]; }

    void run(action a) {
        if (done) return;
        if (a.what == action::wait) return;
        if (a.what == action::finish) return complete();
        if (a.abort_current && inflight) inflight->emit(asio::cancellation_type::terminal);
        send(std::move(a));
    }

    void send(action a) {
        if (!hs().client) return lost("the run is stopping");
        auto my = ++seq;
        auto sig = std::make_shared<asio::cancellation_signal>();
        inflight = sig;
        http::request r;
        r.method = a.method;
        r.target = std::move(a.target);
        if (!a.body.empty()) r.headers.emplace_back("Content-Type", "application/json");
        r.body = std::move(a.body);
        if (a.unbounded) r.timeout = http::milliseconds(0);
        auto at = a.at;
        auto done_cb = asio::bind_cancellation_slot(
            sig->slot(), [self = shared_from_this(), my, at, sig](http::result res) { self->on_result(my, at, res); });
        if (at == step::logs || at == step::rest || at == step::exec_start) {
            logs_status = 0;
            logs_error_body.clear();
            frames = docker::frame_decoder{};
            if (at == step::rest) std::copy(std::begin(seen), std::end(seen), std::begin(skip));
            hs().client->async_stream(
                std::move(r), [self = shared_from_this()](const http::response& head) { self->logs_status = head.status; },
                [self = shared_from_this(), my](std::string_view piece) { return self->on_logs(my, piece); },
                std::move(done_cb));
        } else {
            hs().client->async_request(std::move(r), std::move(done_cb));
        }
    }

    bool on_logs(std::uint64_t my, std::string_view piece) {
        if (done || my != seq) return false;
        if (logs_status != 200) {
            if (logs_error_body.size() < 8192) logs_error_body.append(piece.substr(0, 8192));
            return true;
        }
        return frames.feed(piece, [&](docker::stream_kind k, std::string_view payload) {
            int i = k == docker::stream_kind::stdout_ ? 0 : 1;
            auto drop = static_cast<std::size_t>(std::min<std::uint64_t>(skip[i], payload.size()));
            skip[i] -= drop;
            payload.remove_prefix(drop);
            seen[i] += payload.size();
            if (payload.empty()) return;
            if (k == docker::stream_kind::stdout_)
                lines.feed(
                    payload, [&](std::string_view l) { io.on_stdout_line(l); },
                    [&](std::uint64_t n, std::string_view head) { io.on_stdout_oversized(n, head); });
            else
                io.on_stderr(payload);
        });
    }

    void on_result(std::uint64_t my, step at, const http::result& res) {
        if (done || my != seq) return;  // superseded by an abort
        if (!res) {
            if (!fsm.cancelled()) {
                auto why = res.error.empty() ? res.ec.message() : res.error;
                run(fsm.on_transport_error(at, why));
                if (!ex->stopped()) ex->fleet->host_failed(host, permanent(res), why);
                return;
            }
            return run(fsm.on_transport_error(at, res.error));
        }
        if (at == step::logs || at == step::rest || at == step::exec_start) {
            frames.finish();
            return run(fsm.on_logs_done(logs_status ? logs_status : res.res.status, logs_error_body, frames.error()));
        }
        run(fsm.on_response(at, res.res.status, res.res.body));
    }

    void cancel() { run(fsm.on_cancel()); }

    // The host went down or was rejected under this attempt.
    void lost(const std::string& why) override {
        if (done) return;
        if (inflight) inflight->emit(asio::cancellation_type::terminal);
        ++seq;
        run(fsm.on_transport_error(fsm.current(), why));
    }

    void complete() {
        if (done) return;
        done = true;
        ++seq;
        execution_result r = fsm.result();
        if (!fsm.cancelled() && r.failure != failure_class::executor_lost)
            lines.finish([&](std::string_view l) { io.on_stdout_line(l); },
                         [&](std::uint64_t n, std::string_view head) { io.on_stdout_oversized(n, head); });
        auto& h = hs();
        if (!warm) {
            h.live.erase(name);
        } else if (fsm.keep_container()) {
            h.warm.release(name, fsm.container_id());
        } else {
            h.warm.release(name, std::nullopt);
            h.live.erase(name);  // removed, or left to the reaper (its daemon was lost)
        }
        h.ops.erase(this);
        auto slot = asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected()) slot.clear();
        detail::complete_later(io_ex, std::move(handler), std::move(r));
        ex->fleet->attempt_ended(host);  // a slot on this host is free again
    }
};

void docker_executor::impl::lose_attempts(std::uint32_t i, const std::string& why) {
    auto ops = hosts[i].ops;  // lost() removes itself
    for (auto* hook : ops) {
        auto* op = static_cast<attempt_op*>(hook);
        auto keep = op->shared_from_this();
        op->lost(why);
    }
    // Idle warm containers of a lost daemon are left to the reaper (this run's containers that
    // run no attempt) when it is back; the slots start fresh ones.
    for (const auto& w : hosts[i].warm.take_idle()) hosts[i].live.erase(w.name);
}

void docker_executor::impl::execute(asio::any_io_executor io_ex, const attempt_request& req, attempt_io& io,
                                    completion_handler handler) {
    auto fail_now = [&](failure_class f, std::string msg) {
        execution_result r;
        r.failure = f;
        r.message = std::move(msg);
        detail::complete_later(io_ex, std::move(handler), std::move(r));
    };
    if (!ctx) return fail_now(failure_class::executor_lost, "no Docker host is up");
    const docker_task_options no_options;
    const auto* task_opts = req.task.extension<docker_task_options>();
    const auto& d = task_opts ? *task_opts : no_options;
    std::string image = d.image.empty() ? opts.default_image : d.image;
    if (image.empty())
        return fail_now(failure_class::image_missing,
                        "task " + req.task.id + " has no image and the docker executor has no default_image");
    auto chosen = fleet->take(req.avoid_host);
    if (!chosen) return fail_now(failure_class::executor_lost, "no Docker host is up");
    io.on_placed(fleet->spec(*chosen));
    std::uint32_t i = *chosen;
    auto& h = hosts[i];
    bool warm = opts.reuse == container_reuse::slot;
    std::string name;
    std::optional<docker::lifecycle> fsm;
    if (!warm) {
        name = docker::container_name(req.run_id, req.task.id, req.attempt);
        docker::container_labels labels{std::string(req.run_id), req.task.id, req.attempt, state_label};
        fsm.emplace(label(i), name, image, docker::create_body(req.task, image, labels), d.container.pull);
    } else {
        auto lease = h.warm.acquire(docker::warm_key(req.task, image),
                                    [&] { return docker::warm_container_name(req.run_id, ++warm_made); });
        if (lease.evicted) evict(i, *lease.evicted);
        name = lease.name;
        docker::container_labels labels{std::string(req.run_id), "", 0, state_label};
        fsm.emplace(label(i), name, image, docker::warm_create_body(req.task, image, labels), d.container.pull,
                    docker::warm_exec{lease.id, docker::exec_create_body(req.task)});
    }
    h.live.insert(name);
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto op = std::make_shared<attempt_op>(shared_from_this(), i, name, warm, std::move(*fsm), io, std::move(handler),
                                           io_ex, opts.max_line_bytes);
    h.ops.insert(op.get());
    if (slot.is_connected())
        slot.assign([weak = std::weak_ptr<attempt_op>(op)](asio::cancellation_type) {
            if (auto o = weak.lock()) o->cancel();
        });
    op->run(op->fsm.begin());
}

docker_executor::docker_executor(docker_executor_options opts)
    : host_pool_executor(std::make_shared<impl>(std::move(opts))) {}

}  // namespace drover
