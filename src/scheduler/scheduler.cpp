// The public scheduler: configuration, submissions from any thread (through the run gate),
// per-task control, and starting a run (dispatcher.hpp).

#include <drover/error.hpp>
#include <drover/scheduler.hpp>

#include "detail/complete.hpp"
#include "scheduler/dag.hpp"
#include "scheduler/defaults.hpp"
#include "scheduler/dispatcher.hpp"
#include "scheduler/run_gate.hpp"
#include "scheduler/task_json.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <fnmatch.h>

#include <cmath>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace drover {

namespace asio = boost::asio;
using detail::run_gate;

struct scheduler::impl {
    scheduler_options opts;
    std::vector<std::shared_ptr<executor>> executors;
    std::shared_ptr<sink> output;
    std::vector<observer*> observers;
    std::shared_ptr<run_gate> gate = std::make_shared<run_gate>();

    std::mutex mutex;  // guards active and the before-the-run requests
    // The running dispatcher. A thread other than the strand's locks it only under `mutex` and
    // lets go of it before unlocking (or hands it to a handler posted on the strand); the run
    // resets it under `mutex` when it ends (run_config::released). So the dispatcher is never
    // destroyed off the strand, after the io_context its timers and strand belong to.
    std::weak_ptr<detail::dispatcher> active;
    bool cancel_requested = false;
    bool close_requested = false;
    std::string run_id;  // under mutex

    /// Runs `f(dispatcher&)` on the run's strand and returns its result; throws when no run
    /// is going. Posted under the gate's mutex, so it runs before the run can finish.
    template <class F>
    auto on_strand(F f) -> decltype(f(std::declval<detail::dispatcher&>()));
};

template <class F>
auto scheduler::impl::on_strand(F f) -> decltype(f(std::declval<detail::dispatcher&>())) {
    using R = decltype(f(std::declval<detail::dispatcher&>()));
    // The answer as plain data: an exception_ptr handed from the strand to this thread would be
    // released on either, behind refcounts ThreadSanitizer cannot see.
    struct answer {
        std::optional<R> value;
        enum { none, config, drover_error, other } failed = none;
        std::string message{};
    };
    std::promise<answer> p;
    auto result = p.get_future();
    std::shared_ptr<detail::dispatcher> d;  // on the strand only: taken and let go under `mutex`
    {
        std::lock_guard lock(mutex);
        d = active.lock();
        std::lock_guard glock(gate->mutex);
        if (!d || (gate->at != run_gate::phase::running && gate->at != run_gate::phase::closed)) {
            d.reset();  // here, under `mutex`
            throw error("no run is going");
        }
        if (d->strand().running_in_this_thread()) {
            // From an observer's hook: run it here (waiting for ourselves would never end).
        } else {
            asio::post(d->strand(), [d, f, &p]() mutable {
                answer a;
                try {
                    a.value.emplace(f(*d));
                } catch (const config_error& e) {
                    a = {std::nullopt, answer::config, e.what()};
                } catch (const error& e) {
                    a = {std::nullopt, answer::drover_error, e.what()};
                } catch (const std::exception& e) {
                    a = {std::nullopt, answer::other, e.what()};
                }
                p.set_value(std::move(a));
            });
            d.reset();
        }
    }
    if (d) return f(*d);  // on the strand, during the run: never the last reference
    answer a = result.get();
    if (a.failed == answer::config) throw config_error(a.message);
    if (a.failed == answer::drover_error) throw error(a.message);
    if (a.failed == answer::other) throw std::runtime_error(a.message);
    return std::move(*a.value);
}

scheduler::scheduler(scheduler_options opts) : impl_(std::make_unique<impl>()) { impl_->opts = std::move(opts); }
scheduler::~scheduler() = default;
scheduler::scheduler(scheduler&&) noexcept = default;
scheduler& scheduler::operator=(scheduler&&) noexcept = default;

const scheduler_options& scheduler::options() const noexcept { return impl_->opts; }
scheduler_options& scheduler::options() noexcept { return impl_->opts; }

std::vector<std::shared_ptr<executor>> scheduler::executors() const { return impl_->executors; }

void scheduler::add_executor(std::shared_ptr<executor> ex) {
    if (!ex) throw config_error("add_executor: null executor");
    if (ex->slots() == 0 && !ex->elastic()) throw config_error("executor '" + ex->name() + "' has no slots");
    impl_->executors.push_back(std::move(ex));
}

void scheduler::set_sink(std::shared_ptr<sink> s) {
    if (!s) throw config_error("set_sink: null sink");
    impl_->output = std::move(s);
}

void scheduler::add_observer(observer& o) { impl_->observers.push_back(&o); }

void scheduler::remove_observer(observer& o) { std::erase(impl_->observers, &o); }

namespace {

// While a run goes, every `after` entry must name a task in it now: an id, or a glob,
// resolved here to the ids it matches (in the store, the inbox, or earlier in `batch`).
std::vector<std::string> resolve_running_after(const run_gate& g, const task_spec& t,
                                               const std::vector<std::string>& batch) {
    std::vector<std::string> ids;
    auto known = [&](const std::string& id) {
        return g.tasks.find(id) >= 0 || g.inbox_ids.contains(id) ||
               std::find(batch.begin(), batch.end(), id) != batch.end();
    };
    for (const auto& a : t.after) {
        auto fail = [&](const std::string& why) { throw config_error("task '" + t.id + "': after '" + a + "': " + why); };
        if (a.empty()) throw config_error("task '" + t.id + "': after: empty entry");
        if (!detail::is_after_glob(a)) {
            if (a == t.id) fail("a task cannot come after itself");
            if (!known(a)) fail("no task has this id");
            ids.push_back(a);
            continue;
        }
        auto before = ids.size();
        auto match = [&](std::string_view id) {
            if (id != t.id && ::fnmatch(a.c_str(), std::string(id).c_str(), 0) == 0) ids.emplace_back(id);
        };
        for (std::uint32_t j = 0; j < g.tasks.size(); ++j) match(g.tasks.id(j));
        for (const auto& s : g.inbox) match(s.id);
        for (const auto& id : batch) match(id);
        if (ids.size() == before) fail("the pattern matches no other task");
    }
    return ids;
}

}  // namespace

void scheduler::submit(task_spec t) {
    std::vector<task_spec> one;
    one.push_back(std::move(t));
    submit_many(std::move(one));
}

namespace {
void check_accepting(const run_gate& g) {
    if (g.at == run_gate::phase::closed) throw error("the run is closed: it takes no more tasks");
    if (g.at == run_gate::phase::finished) throw error("the run has finished (a scheduler runs only once)");
}
}  // namespace

// While a run goes: ids checked and `after` resolved under the gate's mutex, the ids
// reserved; the JSON made outside it (the strand takes the inbox under the same mutex); then
// journaled and queued under it again, in one order for the journal and the run.
void scheduler::submit_many(std::vector<task_spec> tasks) {
    auto& m = *impl_;
    auto& g = *m.gate;
    for (const auto& t : tasks) detail::check_task(t, m.opts);
    bool journaled = false;
    {
        auto lock = g.lock_settled();
        check_accepting(g);
        std::vector<std::string> ids;
        for (const auto& t : tasks) {
            if (g.taken(t.id) || std::find(ids.begin(), ids.end(), t.id) != ids.end())
                throw config_error("duplicate task id '" + t.id + "'");
            ids.push_back(t.id);
        }
        if (g.tasks.size() + g.inbox.size() + tasks.size() >= std::numeric_limits<std::uint32_t>::max() - 1)
            throw config_error("too many tasks (at most 4,294,967,293)");
        if (g.at == run_gate::phase::idle) {  // `after` is checked when the run starts
            for (const auto& t : tasks) g.tasks.add(t);
            return;
        }
        ids.clear();
        for (auto& t : tasks) {
            t.after = resolve_running_after(g, t, ids);
            ids.push_back(t.id);
        }
        for (const auto& t : tasks) g.reserved.insert(t.id);
        journaled = g.journal_ != nullptr;
    }
    std::vector<std::string> json;
    std::vector<detail::task_store::encoded> encoded;
    encoded.reserve(tasks.size());
    for (const auto& t : tasks) {
        if (journaled) json.push_back(detail::task_to_json(t));
        encoded.push_back(detail::task_store::encode(t));
    }
    std::shared_ptr<detail::journal> journal;
    std::uint64_t seq = 0;
    std::vector<run_gate::spent_inbox> spent;  // freed here, after the lock
    {
        std::lock_guard lock(g.mutex);
        spent.swap(g.spent);
        for (const auto& t : tasks) g.reserved.erase(t.id);
        check_accepting(g);  // closed or ended meanwhile
        for (std::size_t k = 0; k < tasks.size(); ++k) {
            if (g.journal_) seq = g.journal_->task_submitted(tasks[k].id, std::move(json[k]));
            g.inbox_ids.insert(tasks[k].id);
            g.inbox.push_back(std::move(encoded[k]));
        }
        if (!g.wake_posted && g.wake) {
            g.wake_posted = true;
            g.wake();
        }
        journal = g.journal_;
    }
    if (journal) journal->wait_committed(seq);  // acknowledged once durable
}

void scheduler::close() {
    auto& m = *impl_;
    for (;;) {
        {
            std::lock_guard lock(m.mutex);
            auto d = m.active.lock();
            std::lock_guard glock(m.gate->mutex);
            if (m.gate->at == run_gate::phase::idle) {
                m.close_requested = true;
                return;
            }
            if (m.gate->at != run_gate::phase::starting) {
                if (m.gate->at != run_gate::phase::running || !d) return;
                m.gate->at = run_gate::phase::closed;
                asio::post(d->strand(), [d] { d->close(); });
                return;
            }
        }
        (void)m.gate->lock_settled();  // a run is starting: once it runs (or failed), again
    }
}

bool scheduler::cancel_task(std::string_view id) {
    return impl_->on_strand([id = std::string(id)](detail::dispatcher& d) {
        d.take_inbox();  // a task submitted a moment ago is in the run first
        return d.cancel_task(id) == detail::run_machine::control_result::done;
    });
}

bool scheduler::retry_task(std::string_view id) {
    return impl_->on_strand([id = std::string(id)](detail::dispatcher& d) {
        d.take_inbox();
        return d.retry_task(id) == detail::run_machine::control_result::done;
    });
}

bool scheduler::mark_succeeded(std::string_view id) {
    return impl_->on_strand([id = std::string(id)](detail::dispatcher& d) {
        d.take_inbox();
        return d.mark_succeeded(id) == detail::run_machine::control_result::done;
    });
}

std::optional<task_spec> scheduler::find_task(std::string_view id) const {
    auto& g = *impl_->gate;
    auto lock = g.lock_settled();
    if (auto i = g.tasks.find(id); i >= 0) return g.tasks.spec(static_cast<std::uint32_t>(i));
    for (const auto& t : g.inbox)
        if (t.id == id) return detail::task_store::decode(t);
    return std::nullopt;
}

std::size_t scheduler::size() const {
    auto& g = *impl_->gate;
    auto lock = g.lock_settled();
    return g.tasks.size() + g.inbox.size();
}

std::vector<std::string> scheduler::task_ids() const {
    auto& g = *impl_->gate;
    auto lock = g.lock_settled();
    std::vector<std::string> out;
    out.reserve(g.tasks.size() + g.inbox.size());
    for (std::uint32_t i = 0; i < g.tasks.size(); ++i) out.emplace_back(g.tasks.id(i));
    for (const auto& t : g.inbox) out.push_back(t.id);
    return out;
}

void scheduler::cancel() {
    std::lock_guard lock(impl_->mutex);
    if (auto d = impl_->active.lock()) {
        asio::post(d->strand(), [d] { d->cancel(); });
    } else {
        impl_->cancel_requested = true;
    }
}

void scheduler::async_run_impl(asio::any_io_executor ex,
                               asio::any_completion_handler<void(std::exception_ptr, run_summary)> h) {
    auto& m = *impl_;
    {
        std::lock_guard lock(m.gate->mutex);
        if (m.gate->at == run_gate::phase::finished) {
            detail::complete_later(ex, std::move(h), std::make_exception_ptr(error("a scheduler runs only once")),
                                   run_summary{});
            return;
        }
        if (m.gate->at != run_gate::phase::idle) {
            detail::complete_later(ex, std::move(h), std::make_exception_ptr(error("this scheduler is already running")),
                                   run_summary{});
            return;
        }
        // Until prepare() is done, the store is read (and replay writes it) without the gate's
        // mutex: submissions and questions about tasks wait.
        m.gate->at = run_gate::phase::starting;
    }
    auto back_to_idle = [&m] {
        std::lock_guard lock(m.gate->mutex);
        m.gate->settle(run_gate::phase::idle);
    };
    try {
        for (auto& [name, size] : m.opts.pools)
            if (size == 0) throw config_error("pool '" + name + "' has size 0");
        const auto& sp = m.opts.speculation;
        if (!(sp.multiplier > 0.0) || !std::isfinite(sp.multiplier))
            throw config_error("speculation: multiplier must be a number > 0");
        if (!(sp.quantile > 0.0 && sp.quantile <= 1.0)) throw config_error("speculation: quantile must be in (0, 1]");
        if (sp.min_runtime.count() < 0) throw config_error("speculation: min_runtime must not be negative");
        if (m.opts.deadline && m.opts.deadline->count() <= 0) throw config_error("deadline: must be more than 0");
    } catch (...) {
        back_to_idle();
        throw;
    }
    detail::run_config cfg{m.opts, m.executors, m.output, m.observers, m.gate};
    std::shared_ptr<detail::dispatcher> d;
    auto strand = asio::make_strand(ex);
    try {
        if (cfg.executors.empty()) cfg.executors.push_back(detail::default_executor());
        detail::add_executor_extensions(cfg.opts.defaults, cfg.executors);  // task JSON may carry their keys
        if (!cfg.output) cfg.output = detail::default_sink(m.opts.state_dir);
        std::lock_guard lock(m.mutex);
        cfg.start_cancelled = m.cancel_requested;
        cfg.start_closed = m.close_requested;
        cfg.released = [&m](const detail::dispatcher* self) {
            std::lock_guard lock(m.mutex);
            if (m.active.lock().get() == self) m.active.reset();  // not a later run's after a failed start
        };
        d = std::make_shared<detail::dispatcher>(strand, std::move(cfg));
        m.active = d;
    } catch (...) {
        back_to_idle();
        throw;
    }
    try {
        d->prepare();  // journal, replay, dependencies: a config_error leaves the scheduler as it was
        std::lock_guard lock(m.mutex);
        m.run_id = d->run_id();
    } catch (...) {
        {
            std::lock_guard lock(m.mutex);
            m.active.reset();
        }
        back_to_idle();
        throw;
    }
    asio::post(strand, [d, h = std::move(h)]() mutable { d->start(std::move(h)); });
}

std::string scheduler::run_id() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->run_id;
}

run_summary scheduler::run() {
    asio::io_context ctx;
    std::exception_ptr err;
    run_summary out;
    async_run(ctx.get_executor(), [&](std::exception_ptr e, run_summary s) {
        err = e;
        out = std::move(s);
    });
    ctx.run();  // the dispatcher is gone when it returns (impl::active)
    if (err) std::rethrow_exception(err);
    return out;
}

}  // namespace drover
