#include "service/job_host.hpp"

#include "scheduler/defaults.hpp"
#include "service/fleet_control.hpp"

#include <drover/scheduler.hpp>

#include "alerts/alerts.hpp"
#include "cron/service.hpp"
#include "detail/fs.hpp"
#include "detail/thread_name.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <set>
#include <sys/stat.h>
#include <thread>

namespace drover::detail {

namespace asio = boost::asio;
namespace json = boost::json;
namespace chr = std::chrono;

namespace {

constexpr const char* run_file = "service-run.json";

std::string record_json(std::string_view reason, const trigger_options& o, std::optional<chr::sys_seconds> tick) {
    json::object params;
    for (auto& [k, vs] : o.params) {
        json::array a;
        for (auto& v : vs) a.emplace_back(v);
        params[k] = std::move(a);
    }
    json::object j{{"reason", reason}, {"params", std::move(params)}, {"retry_dead", o.retry_dead}};
    j["tick"] = tick ? json::value(tick->time_since_epoch().count()) : json::value(nullptr);
    return json::serialize(j);
}

}  // namespace

struct job_host::run {
    asio::io_context ctx;
    std::unique_ptr<scheduler> sched;
    std::optional<alerter> alerts;
    std::thread thread;
    std::string id, reason, result;
    std::map<std::string, std::vector<std::string>> params;
    bool finished = false;  // under job_host::mutex_
};

job_host::job_host(std::string key, std::filesystem::path file, std::filesystem::path state_dir, drover::kinds kinds,
                   std::vector<std::shared_ptr<shared_pool>> pools, asio::any_io_executor ex, log_fn log)
    : key_(std::move(key)),
      file_(std::move(file)),
      state_dir_(std::move(state_dir)),
      kinds_(std::move(kinds)),
      pools_(std::move(pools)),
      ex_(ex),
      log_(std::move(log)),
      timer_(ex) {
    info_.key = key_;
    info_.file = file_;
    info_.state_dir = state_dir_;
}

job_host::~job_host() { shutdown(); }

void job_host::log(const std::string& m) const {
    if (log_) log_(key_ + ": " + m);
}

job_host::file_id job_host::identify(const std::filesystem::path& p) {
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return {};
    return {st.st_size, std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec, st.st_ino};
}

bool job_host::changed() const {
    std::lock_guard lock(mutex_);
    return identify(file_) != seen_;
}

void job_host::load() {
    auto id = identify(file_);
    std::string name, error, schedule, timezone;
    std::size_t tasks = 0;
    cron_.reset();
    tz_.reset();
    try {
        auto j = load_job(file_, job_load_options{.shared_pools = pools_}, kinds_);
        learn_secrets(j, true);
        name = j.name;
        tasks = j.tasks.size();
        if (j.schedule) {
            cron_ = cron_schedule::parse(j.schedule->cron);
            tz_.emplace(j.schedule->timezone);  // empty: the machine's local time, as `drover run`
            schedule = j.schedule->cron;
            timezone = j.schedule->timezone.empty() ? "local" : j.schedule->timezone;
            overlap_ = j.schedule->overlap;
        }
    } catch (const std::exception& e) {
        error = e.what();
        cron_.reset();
        tz_.reset();
    }
    {
        std::lock_guard lock(mutex_);
        seen_ = id;
        info_.name = name;
        info_.error = error;
        info_.tasks = tasks;
        info_.schedule = schedule;
        info_.timezone = timezone;
    }
    log(error.empty() ? "loaded (" + std::to_string(tasks) + " tasks" + (schedule.empty() ? "" : ", schedule \"" + schedule + "\"") + ")"
                      : "does not load: " + error);
    arm();
}

void job_host::arm() {
    timer_.cancel();
    std::optional<chr::sys_seconds> next;
    bool shut;
    {
        std::lock_guard lock(mutex_);
        shut = shut_;
    }
    if (cron_ && !shut) next = cron_->next_after(chr::floor<chr::seconds>(chr::system_clock::now()), *tz_);
    {
        std::lock_guard lock(mutex_);
        if (next)
            info_.next_fire_ms = chr::duration_cast<chr::milliseconds>(next->time_since_epoch()).count();
        else
            info_.next_fire_ms.reset();
    }
    if (!next) return;
    timer_.expires_at(*next);
    timer_.async_wait([this, tick = *next](boost::system::error_code ec) {
        if (!ec) on_tick(tick);
    });
}

void job_host::on_tick(chr::sys_seconds tick) {
    bool busy;
    {
        std::lock_guard lock(mutex_);
        busy = starting_ || run_;
    }
    if (busy && overlap_ == "queue") {
        queued_tick_ = tick;
        log("the tick at " + format_utc(tick) + " came during a run: it runs when the run ends");
    } else if (busy) {
        log("skipped the tick at " + format_utc(tick) + ": a run is going (overlap = \"skip\")");
    } else {
        try {
            trigger({.fresh = true}, "schedule", tick);
        } catch (const std::exception& e) {
            log("the run for the tick at " + format_utc(tick) + " could not start: " + e.what());
            std::lock_guard lock(mutex_);
            info_.last_result = std::string("error: ") + e.what();
        }
    }
    arm();
}

std::string job_host::trigger(const trigger_options& o, std::string_view reason, std::optional<chr::sys_seconds> tick) {
    {
        std::lock_guard lock(mutex_);
        if (shut_) throw conflict_error(key_ + ": the service is stopping");
        if (starting_) throw conflict_error(key_ + ": a run is starting");
        if (run_ && !run_->finished) throw conflict_error(key_ + ": run " + run_->id + " is going");
        starting_ = true;
    }
    auto r = std::make_unique<run>();
    auto record = state_dir_ / run_file;
    try {
        // A run that has ended but that the jobs thread has not let go of yet is let go of
        // here, so a trigger right after a run's end starts the next one instead of answering
        // 409. starting_ keeps shutdown() waiting meanwhile.
        retire_finished();
        auto j = load_job(file_, job_load_options{.params = o.params, .shared_pools = pools_}, kinds_);
        learn_secrets(j, false);
        j.options.state_dir = state_dir_;
        j.options.journal.fresh = o.fresh;
        j.options.journal.retry_dead = o.retry_dead;
        if (tick)
            for (auto& t : j.tasks) t.env["DROVER_TICK"] = format_utc(*tick);
        r->sched = std::make_unique<scheduler>(make_scheduler(j));
        // The executor a job without [[executors]] runs on, given here so that metrics() and
        // hosts() see it (one object, not one per scrape).
        if (r->sched->executors().empty()) r->sched->add_executor(default_executor());
        std::vector<task_spec>().swap(j.tasks);
        r->sched->add_observer(metrics_);
        r->sched->add_observer(events_);
        if (j.on_failure) {
            r->alerts.emplace(j.name, *j.on_failure, [this](const std::string& m) { log(m); });
            r->sched->add_observer(*r->alerts);
        }
        create_directories(state_dir_, false);
        atomic_write_file(record, record_json(reason, o, tick), true);
        r->sched->async_run(r->ctx.get_executor(), [this, rp = r.get()](std::exception_ptr e, run_summary s) {
            std::string result;
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& x) {
                    result = std::string("error: ") + x.what();
                }
            } else {
                result = s.cancelled ? "cancelled"
                         : s.halted  ? "halted: " + s.halt_reason
                         : s.ok()    ? "succeeded"
                                     : "failed";
            }
            std::lock_guard lock(mutex_);
            rp->result = std::move(result);
        });
        r->id = r->sched->run_id();
        events_.begin_run(r->id);  // before the run's thread: its first hook comes from there
    } catch (...) {
        if (reason != "resume") remove_file(record);
        std::lock_guard lock(mutex_);
        starting_ = false;
        started_.notify_all();
        throw;
    }
    std::string id = r->id;
    {
        std::lock_guard lock(mutex_);
        starting_ = false;
        started_.notify_all();
        r->reason = reason;
        r->params = o.params;
        run_ = std::move(r);
        run_->thread = std::thread([this, rp = run_.get()] {
            name_this_thread("drover-run");
            rp->ctx.run();
            if (rp->alerts) {  // alerts still on their way: at most on_failure.timeout
                rp->ctx.restart();
                rp->alerts->async_drain(rp->ctx.get_executor(), [] {});
                rp->ctx.run();
            }
            {
                std::lock_guard lock(mutex_);
                rp->finished = true;
            }
            asio::post(ex_, [this] { reap(); });
        });
    }
    log("run " + id + " started (" + std::string(reason) + ")");
    return id;
}

bool job_host::retire_finished() {
    std::lock_guard retiring(retire_mutex_);  // the jobs thread's reap() and a trigger
    run* r = nullptr;
    {
        std::lock_guard lock(mutex_);
        if (!run_ || !run_->finished) return false;
        r = run_.get();
    }
    r->thread.join();  // it has set finished: nothing is left for it but to return
    remove_file(state_dir_ / run_file);  // ended by itself or by a request: nothing to resume
    std::unique_ptr<run> done;
    {
        // Seen as ended (last_run_id) only now, with service-run.json gone.
        std::lock_guard lock(mutex_);
        done = std::move(run_);
        info_.last_run_id = done->id;
        info_.last_result = done->result;
    }
    log("run " + done->id + " ended: " + done->result);
    return true;
}

void job_host::reap() {
    {
        std::lock_guard lock(mutex_);
        if (shut_) return;  // shutdown() runs with this thread stopped
    }
    retire_finished();
    if (!queued_tick_) return;
    {
        std::lock_guard lock(mutex_);
        if (starting_ || run_) return;  // a trigger came first: the tick waits for that run's end
    }
    auto tick = *queued_tick_;
    queued_tick_.reset();
    try {
        trigger({.fresh = true}, "schedule", tick);
    } catch (const std::exception& e) {
        log("the queued run for the tick at " + format_utc(tick) + " could not start: " + e.what());
    }
}

void job_host::resume() {
    auto text = read_file_if_exists(state_dir_ / run_file);
    if (!text) return;
    trigger_options o;
    std::optional<chr::sys_seconds> tick;
    std::string reason = "trigger";
    boost::system::error_code ec;
    auto v = json::parse(*text, ec);
    if (!ec && v.is_object()) {
        auto& obj = v.as_object();
        if (auto* p = obj.if_contains("params"); p && p->is_object())
            for (auto& [k, vs] : p->as_object())
                if (vs.is_array())
                    for (auto& x : vs.as_array())
                        if (x.is_string()) o.params[std::string(k)].emplace_back(x.as_string());
        if (auto* t = obj.if_contains("tick"); t && t->is_int64()) tick = chr::sys_seconds(chr::seconds(t->as_int64()));
        if (auto* b = obj.if_contains("retry_dead"); b && b->is_bool()) o.retry_dead = b->as_bool();
    } else {
        log("service-run.json is not what the service writes: resuming without parameters");
    }
    try {
        trigger(o, "resume", tick);
    } catch (const std::exception& e) {
        log("the interrupted run could not be resumed: " + std::string(e.what()));
        std::lock_guard lock(mutex_);
        info_.last_result = std::string("error: ") + e.what();
    }
}

scheduler& job_host::running_scheduler() const {
    if (!run_ || run_->finished) throw conflict_error(key_ + ": no run is going");
    return *run_->sched;
}

bool job_host::cancel() {
    std::lock_guard lock(mutex_);
    if (!run_ || run_->finished) return false;
    run_->sched->cancel();
    return true;
}

namespace {

void check_task(const scheduler& s, std::string_view key, std::string_view task) {
    if (!s.find_task(task)) throw not_found_error(std::string(key) + ": the run has no task '" + std::string(task) + "'");
}

}  // namespace

bool job_host::cancel_task(std::string_view task) {
    std::lock_guard lock(mutex_);
    auto& s = running_scheduler();
    check_task(s, key_, task);
    return s.cancel_task(task);
}

bool job_host::retry_task(std::string_view task) {
    std::lock_guard lock(mutex_);
    auto& s = running_scheduler();
    check_task(s, key_, task);
    return s.retry_task(task);
}

bool job_host::mark_succeeded(std::string_view task) {
    std::lock_guard lock(mutex_);
    auto& s = running_scheduler();
    check_task(s, key_, task);
    return s.mark_succeeded(task);
}

std::vector<service_host> job_host::hosts() const {
    std::lock_guard lock(mutex_);
    if (!run_ || run_->finished) return {};
    return list_hosts(run_->sched->executors());
}

void job_host::add_host(std::string_view spec, std::optional<std::size_t> executor) {
    std::lock_guard lock(mutex_);
    add_fleet_host(running_scheduler().executors(), spec, executor, key_);
}

void job_host::drain_host(std::string_view spec, bool remove) {
    std::lock_guard lock(mutex_);
    drain_fleet_host(running_scheduler().executors(), spec, remove, key_);
}

void job_host::submit(std::vector<task_spec> tasks) {
    std::lock_guard lock(mutex_);
    running_scheduler().submit_many(std::move(tasks));
}

task_spec job_host::task_defaults() const {
    std::lock_guard lock(mutex_);
    return running_scheduler().options().defaults;
}

void job_host::learn_secrets(const job& j, bool replace) {
    auto values = secret_values(j);
    std::set<std::string> found(values.begin(), values.end());
    std::lock_guard lock(mutex_);
    if (!replace) found.insert(secrets_.begin(), secrets_.end());
    secrets_.assign(found.begin(), found.end());
    // Longest first, so a secret containing another is replaced whole.
    std::stable_sort(secrets_.begin(), secrets_.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

std::string job_host::redact(std::string text, redact_cuts cuts) const {
    std::lock_guard lock(mutex_);
    return detail::redact(std::move(text), secrets_, cuts.front, cuts.back);
}

service_task_events job_host::task_events(std::uint64_t after, std::size_t max) const {
    auto out = events_.read(after, max);
    std::lock_guard lock(mutex_);
    for (auto& e : out.events)
        if (!e.message.empty()) e.message = detail::redact(std::move(e.message), secrets_);
    return out;
}

service_job job_host::info() const {
    service_job out;
    {
        std::lock_guard lock(mutex_);
        out = info_;
        if (run_ && !run_->finished) {
            out.run_id = run_->id;
            out.run_reason = run_->reason;
            out.run_params = run_->params;
        }
    }
    out.counts = metrics_.snapshot().tasks;
    return out;
}

job_metrics_view job_host::metrics() const {
    job_metrics_view v{key_, true, std::nullopt, 0, metrics_.snapshot()};
    std::lock_guard lock(mutex_);
    v.loaded = info_.error.empty();
    if (info_.next_fire_ms) v.next_fire_s = double(*info_.next_fire_ms) / 1000.0;
    if (run_ && !run_->finished) {
        for (const auto& e : run_->sched->executors()) v.slots += e->slots();
    }
    return v;
}

void job_host::shutdown() {
    std::unique_lock lock(mutex_);
    if (shut_ && !run_) return;
    shut_ = true;
    lock.unlock();
    timer_.cancel();
    lock.lock();
    // A trigger on another thread finishes starting first (at most one job load).
    started_.wait(lock, [this] { return !starting_; });
    if (!run_) return;
    auto* r = run_.get();
    if (!r->finished) r->sched->cancel();
    lock.unlock();
    if (r->thread.joinable()) r->thread.join();  // service-run.json stays: the next start resumes
    lock.lock();
    if (!r->result.empty()) info_.last_result = r->result;
    run_.reset();
}

}  // namespace drover::detail
