// drover::service: the job files of a directory, each a job_host. Two threads: one serves the
// HTTP API (service/api.cpp); the other looks at the directory for changes, loads the files and
// runs their schedules, so a large job file being read again never holds up an answer.

#include <drover/service.hpp>

#include "detail/thread_name.hpp"
#include "service/api.hpp"
#include "service/http_server.hpp"
#include "service/job_host.hpp"
#include "service/metrics.hpp"
#include "service/tokens.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <condition_variable>
#include <future>
#include <map>
#include <thread>

namespace drover {

namespace asio = boost::asio;
namespace fs = std::filesystem;

struct service::impl {
    explicit impl(service_options o) : opts(std::move(o)), reload_timer(jobs_ctx) {}

    service_options opts;
    detail::token_set tokens;
    asio::io_context ctx;  // the HTTP server
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::thread io_thread;
    asio::io_context jobs_ctx;  // scan(), loads, the hosts' schedules
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> jobs_work;
    std::thread jobs_thread;
    asio::steady_timer reload_timer;
    std::unique_ptr<detail::http_server> server;
    std::unique_ptr<detail::service_api> api;

    mutable std::mutex mutex;  // hosts, state, pools
    std::vector<std::shared_ptr<shared_pool>> pools;  // made by start()
    std::map<std::string, std::shared_ptr<detail::job_host>, std::less<>> hosts;
    enum class phase { idle, running, stopping, stopped } at = phase::idle;
    std::condition_variable stopped_cv;

    void log(std::string_view m) const {
        if (opts.log) opts.log(m);
    }
    std::shared_ptr<detail::job_host> host(std::string_view key) const {
        std::lock_guard lock(mutex);
        auto it = hosts.find(key);
        if (it == hosts.end()) throw not_found_error("no job '" + std::string(key) + "'");
        return it->second;
    }
    /// Adds, loads again and removes hosts as jobs_dir says. On the jobs thread (or before it runs).
    void scan();
    void arm_reload();
};

namespace {

bool valid_key(std::string_view k) {
    if (k.empty() || k.size() > 200 || k.front() == '.') return false;
    for (char c : k)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return false;
    return true;
}

}  // namespace

void service::impl::scan() {
    std::map<std::string, fs::path> files;
    bool serving = false;
    std::error_code ec;
    for (fs::directory_iterator it(opts.jobs_dir, ec), end; !ec && it != end; it.increment(ec)) {
        const auto& p = it->path();
        if (p.extension() != ".toml") continue;
        std::error_code sec;
        if (!it->is_regular_file(sec)) continue;
        auto key = p.stem().string();
        if (!valid_key(key)) {
            log("ignoring " + p.string() + ": a job's file name may only have letters, digits, '.', '_' and '-'");
            continue;
        }
        files.emplace(key, p);
    }
    if (ec) {
        log("cannot read " + opts.jobs_dir.string() + ": " + ec.message());
        return;
    }
    // New jobs are loaded before they are listed: nobody sees one half read.
    std::vector<std::shared_ptr<detail::job_host>> changed, added, gone;
    {
        std::lock_guard lock(mutex);
        for (auto& [key, file] : files) {
            auto it = hosts.find(key);
            if (it == hosts.end())
                added.push_back(std::make_shared<detail::job_host>(key, file, opts.state_dir / key, opts.kinds, pools,
                                                                   jobs_ctx.get_executor(), opts.log));
            else if (it->second->changed())
                changed.push_back(it->second);
        }
    }
    for (auto& h : added) h->load();
    for (auto& h : changed) h->load();
    {
        std::lock_guard lock(mutex);
        serving = at == phase::running;
        for (auto& h : added) hosts.emplace(h->key(), h);
        for (auto it = hosts.begin(); it != hosts.end();) {
            // A removed file's job goes once its run has ended.
            if (!files.count(it->first) && it->second->info().run_id.empty()) {
                gone.push_back(it->second);
                it = hosts.erase(it);
            } else {
                ++it;
            }
        }
    }
    // A job file added while serving may come back with a run to continue (service-run.json).
    if (serving)
        for (auto& h : added) h->resume();
    for (auto& h : gone) {
        log(h->key() + ": its file was removed");
        h->shutdown();
    }
}

void service::impl::arm_reload() {
    reload_timer.expires_after(opts.reload_interval);
    reload_timer.async_wait([this](boost::system::error_code ec) {
        if (ec) return;
        scan();
        arm_reload();
    });
}

service::service(service_options o) : impl_(std::make_shared<impl>(std::move(o))) {}

service::~service() {
    try {
        stop();
    } catch (...) {
    }
}

void service::start() {
    auto& m = *impl_;
    {
        std::lock_guard lock(m.mutex);
        if (m.at != impl::phase::idle) throw error("a service starts only once");
    }
    std::error_code ec;
    if (!fs::is_directory(m.opts.jobs_dir, ec)) throw config_error("jobs directory " + m.opts.jobs_dir.string() + " does not exist");
    if (m.opts.state_dir.empty()) throw config_error("the service needs a state directory");
    fs::create_directories(m.opts.state_dir, ec);
    if (ec) throw config_error("cannot create the state directory " + m.opts.state_dir.string() + ": " + ec.message());
    if (!m.opts.tokens_file.empty()) m.tokens = detail::token_set::load(m.opts.tokens_file);
    std::vector<std::shared_ptr<shared_pool>> pools;
    for (const auto& [name, limit] : m.opts.pools) {
        if (!valid_key(name)) throw config_error("pool '" + name + "': use letters, digits, '.', '_' and '-'");
        pools.push_back(std::make_shared<shared_pool>(name, limit));  // config_error: limit 0
    }
    {
        std::lock_guard lock(m.mutex);
        m.pools = std::move(pools);
    }
    if (!m.opts.listen.empty()) {
        auto [addr, port] = detail::parse_listen(m.opts.listen);
        if (!addr.is_loopback() && m.tokens.empty())
            throw config_error("listening on " + m.opts.listen + ", not a loopback address, needs a tokens file");
        // Triggers are answered from the jobs thread (which loads job files anyway), so reading
        // a big job file holds up no other request.
        m.api = std::make_unique<detail::service_api>(
            *this, m.tokens, [&m](std::function<void()> f) { asio::post(m.jobs_ctx, std::move(f)); });
        m.server = std::make_unique<detail::http_server>(
            m.ctx.get_executor(), m.opts.listen,
            detail::http_server_options{.max_body_bytes = m.opts.max_body_bytes,
                                        .max_connections = m.opts.max_connections,
                                        .tls_cert_file = m.opts.tls_cert_file.string(),
                                        .tls_key_file = m.opts.tls_key_file.string(),
                                        .rate_limit = m.opts.rate_limit},
            [api = m.api.get()](const detail::http_request& r) { return api->handle(r); });
    }
    m.scan();
    std::vector<std::shared_ptr<detail::job_host>> hosts;
    {
        std::lock_guard lock(m.mutex);
        for (auto& [k, h] : m.hosts) hosts.push_back(h);
        m.at = impl::phase::running;
    }
    for (auto& h : hosts) h->resume();
    if (m.server) m.server->start();
    m.arm_reload();
    m.work.emplace(m.ctx.get_executor());
    m.io_thread = std::thread([&m] {
        detail::name_this_thread("drover-service");
        m.ctx.run();
    });
    m.jobs_work.emplace(m.jobs_ctx.get_executor());
    m.jobs_thread = std::thread([&m] {
        detail::name_this_thread("drover-jobs");
        m.jobs_ctx.run();
    });
    m.log("serving " + std::to_string(hosts.size()) + " job file(s) from " + m.opts.jobs_dir.string() +
          (m.server ? std::string(m.opts.tls_cert_file.empty() ? " on http://" : " on https://") + m.opts.listen + " (port " + std::to_string(m.server->port()) + ")" : ""));
}

void service::stop() {
    auto& m = *impl_;
    {
        std::unique_lock lock(m.mutex);
        if (m.at == impl::phase::idle) {
            m.at = impl::phase::stopped;
            m.stopped_cv.notify_all();
            return;
        }
        if (m.at == impl::phase::stopping) {
            m.stopped_cv.wait(lock, [&] { return m.at == impl::phase::stopped; });
            return;
        }
        if (m.at == impl::phase::stopped) return;
        m.at = impl::phase::stopping;
    }
    // Both threads stop first: no tick, reload or request runs while the runs end.
    auto me = std::this_thread::get_id();
    if (me == m.io_thread.get_id() || me == m.jobs_thread.get_id())
        throw error("service::stop() cannot be called from the service's own threads");
    asio::post(m.ctx, [&m] {
        if (m.server) m.server->stop();
        m.work.reset();
        m.ctx.stop();
    });
    asio::post(m.jobs_ctx, [&m] {
        m.reload_timer.cancel();
        m.jobs_work.reset();
        m.jobs_ctx.stop();
    });
    if (m.io_thread.joinable()) m.io_thread.join();
    if (m.jobs_thread.joinable()) m.jobs_thread.join();
    std::vector<std::shared_ptr<detail::job_host>> hosts;
    {
        std::lock_guard lock(m.mutex);
        for (auto& [k, h] : m.hosts) hosts.push_back(h);
    }
    for (auto& h : hosts) h->shutdown();
    m.log("stopped");
    std::lock_guard lock(m.mutex);
    m.at = impl::phase::stopped;
    m.stopped_cv.notify_all();
}

void service::wait() {
    auto& m = *impl_;
    std::unique_lock lock(m.mutex);
    m.stopped_cv.wait(lock, [&] { return m.at == impl::phase::stopped; });
}

std::uint16_t service::port() const { return impl_->server ? impl_->server->port() : 0; }

std::vector<service_job> service::jobs() const {
    std::vector<std::shared_ptr<detail::job_host>> hosts;
    {
        std::lock_guard lock(impl_->mutex);
        for (auto& [k, h] : impl_->hosts) hosts.push_back(h);
    }
    std::vector<service_job> out;
    for (auto& h : hosts) out.push_back(h->info());
    return out;
}

service_job service::job(std::string_view key) const { return impl_->host(key)->info(); }

std::string service::trigger(std::string_view key, const trigger_options& o) {
    return impl_->host(key)->trigger(o, "trigger");
}

bool service::cancel(std::string_view key) { return impl_->host(key)->cancel(); }
bool service::cancel_task(std::string_view key, std::string_view task) { return impl_->host(key)->cancel_task(task); }
bool service::retry_task(std::string_view key, std::string_view task) { return impl_->host(key)->retry_task(task); }
bool service::mark_succeeded(std::string_view key, std::string_view task) {
    return impl_->host(key)->mark_succeeded(task);
}
std::vector<service_host> service::hosts(std::string_view key) const { return impl_->host(key)->hosts(); }
void service::add_host(std::string_view key, std::string_view spec, std::optional<std::size_t> executor) {
    impl_->host(key)->add_host(spec, executor);
}
void service::drain_host(std::string_view key, std::string_view spec, bool remove) {
    impl_->host(key)->drain_host(spec, remove);
}
void service::submit(std::string_view key, std::vector<task_spec> tasks) { impl_->host(key)->submit(std::move(tasks)); }
task_spec service::task_defaults(std::string_view key) const { return impl_->host(key)->task_defaults(); }
service_task_events service::task_events(std::string_view key, std::uint64_t after, std::size_t max) const {
    return impl_->host(key)->task_events(after, max);
}

void service::reload() {
    auto& m = *impl_;
    {
        std::lock_guard lock(m.mutex);
        if (m.at != impl::phase::running) return;
    }
    if (std::this_thread::get_id() == m.jobs_thread.get_id()) return m.scan();
    // On the jobs thread, where the hosts' timers live. A stop in between drops the handler:
    // the promise breaks and the wait ends.
    auto done = std::make_shared<std::promise<void>>();
    auto f = done->get_future();
    asio::post(m.jobs_ctx, [&m, done] {
        m.scan();
        done->set_value();
    });
    f.wait();
}

std::string service::redact(std::string_view key, std::string text, redact_cuts cuts) const {
    return impl_->host(key)->redact(std::move(text), cuts);
}

std::vector<service_pool> service::pools() const {
    std::vector<std::shared_ptr<shared_pool>> pools;
    {
        std::lock_guard lock(impl_->mutex);
        pools = impl_->pools;
    }
    std::vector<service_pool> out;
    for (const auto& p : pools) out.push_back({p->name(), p->limit(), p->in_use(), p->waiting()});
    return out;
}

std::string service::metrics() const {
    std::vector<std::shared_ptr<detail::job_host>> hosts;
    {
        std::lock_guard lock(impl_->mutex);
        for (auto& [k, h] : impl_->hosts) hosts.push_back(h);
    }
    std::vector<detail::job_metrics_view> views;
    for (auto& h : hosts) views.push_back(h->metrics());
    return detail::prometheus_text(views, pools());
}

}  // namespace drover
