#include "scheduler/dispatcher.hpp"

#include <drover/error.hpp>

#include "detail/complete.hpp"
#include "scheduler/backoff.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

namespace drover::detail {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {
constexpr auto progress_interval = std::chrono::milliseconds(100);
// A task whose executor keeps vanishing under it is not retried for free forever.
constexpr int max_free_losses = 5;

boost::json::parse_options record_parse_options() {
    boost::json::parse_options o;
    o.max_depth = 64;
    return o;
}
}  // namespace

dispatcher::dispatcher(strand_type strand, run_config cfg, run_handler handler)
    : strand_(strand),
      cfg_(std::move(cfg)),
      handler_(std::move(handler)),
      tasks_(*cfg_.tasks),
      rt_(tasks_.size()),
      parser_(boost::json::storage_ptr(), record_parse_options()),
      rng_(cfg_.opts.seed ? *cfg_.opts.seed : std::random_device{}()),
      progress_timer_(strand) {}

void dispatcher::start() {
    // Executors may report capacity later (hosts probed asynchronously) while nothing runs:
    // nothing else would keep the run alive until then.
    self_ = shared_from_this();
    t0_ = clock::now();
    auto slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) {
        slot.assign([self = weak_from_this()](asio::cancellation_type) {
            if (auto d = self.lock()) asio::post(d->strand(), [d] { d->cancel(); });
        });
    }
    try {
        run_id_ = new_run_id();
        open_journal();  // first: it locks the state directory
        files_.emplace(cfg_.opts.state_dir, run_id_, cfg_.opts.limits);
        cfg_.output->start({.run_id = run_id_, .io_ex = strand(), .state_dir = cfg_.opts.state_dir});
        started_ = true;
        for (auto& e : cfg_.executors) groups_.push_back({e, e->slots()});
        start_executors();
    } catch (...) {
        return fail(std::current_exception());
    }
    queue_initial();
    for (auto* o : cfg_.observers) o->on_run_started(snapshot());
    if (cfg_.start_cancelled) cancel();
    dispatch();
    maybe_finish();
}

void dispatcher::start_executors() {
    std::weak_ptr<dispatcher> weak = weak_from_this();
    for (auto& g : groups_) {
        executor_context ctx;
        ctx.io_ex = strand_;
        ctx.state_dir = cfg_.opts.state_dir;
        ctx.run_id = run_id_;
        ctx.capacity_changed = [weak] {
            if (auto d = weak.lock())
                asio::post(d->strand(), [d] {
                    if (d->finished_) return;
                    d->dispatch();
                    d->maybe_finish();
                });
        };
        ctx.report = [weak, name = g.exec->name()](std::string msg) {
            if (auto d = weak.lock())
                asio::post(d->strand(), [d, name, msg = std::move(msg)] {
                    for (auto* o : d->cfg_.observers) o->on_executor_event(name, msg);
                });
        };
        g.exec->start(ctx);
    }
}

void dispatcher::enqueue(std::size_t idx) {
    rt_[idx].state = task_state::ready;
    ready_[tasks_.policy(static_cast<std::uint32_t>(idx)).pool].emplace_back(seq_++, idx);
    ++ready_count_;
}

// The oldest ready task whose pool has room.
std::optional<std::size_t> dispatcher::next_ready() {
    std::deque<std::pair<std::uint64_t, std::size_t>>* best = nullptr;
    for (auto& [pool, q] : ready_) {
        if (q.empty()) continue;
        if (!pool.empty()) {
            auto limit = cfg_.opts.pools.find(pool);
            if (limit != cfg_.opts.pools.end() && pool_running_[pool] >= limit->second) continue;
        }
        if (!best || q.front().first < best->front().first) best = &q;
    }
    if (!best) return std::nullopt;
    auto idx = best->front().second;
    best->pop_front();
    --ready_count_;
    return idx;
}

void dispatcher::dispatch() {
    while (!stopping_ && ready_count_ > 0) {
        // Spread over executors: the one with the most free slots goes first.
        slot_group* g = nullptr;
        for (auto& c : groups_)
            if (c.free > 0 && c.exec->can_accept() && (!g || c.free > g->free)) g = &c;
        if (!g) return;
        auto idx = next_ready();
        if (!idx) return;
        launch(*idx, *g);
    }
}

void dispatcher::launch(std::size_t idx, slot_group& g) {
    auto& t = rt_[idx];
    const auto& pool = tasks_.policy(static_cast<std::uint32_t>(idx)).pool;
    t.state = task_state::running;
    ++t.attempts;
    --g.free;
    ++running_;
    if (!pool.empty()) ++pool_running_[pool];
    attempt_context ctx{strand_, tasks_.spec(static_cast<std::uint32_t>(idx)), t.attempts, run_id_, *g.exec,
                        *cfg_.output, *files_, parser_, cfg_.opts.stderr_tail_lines};
    t.current = std::make_shared<attempt_run>(
        std::move(ctx), [self = shared_from_this(), idx, &g](attempt_outcome o, committed_output committed) {
            self->on_attempt_done(idx, g, std::move(o), std::move(committed));
        });
    const auto& spec = t.current->task();
    if (journal_) journal_->attempt_started(spec.id, t.attempts, g.exec->name());
    for (auto* o : cfg_.observers) o->on_task_started(spec, t.attempts, g.exec->name());
    t.current->start();
    notify_progress(false);
}

void dispatcher::on_attempt_done(std::size_t idx, slot_group& g, attempt_outcome o, committed_output committed) {
    auto& t = rt_[idx];
    const auto run = std::move(t.current);  // keeps the task_spec alive for the observers
    const auto& spec = run->task();
    const auto& policy = tasks_.policy(static_cast<std::uint32_t>(idx));
    ++g.free;
    --running_;
    if (!policy.pool.empty()) --pool_running_[policy.pool];
    bad_records_ += o.bad_records;
    bool lost = o.failure == failure_class::executor_lost && t.losses < max_free_losses;
    if (lost) ++t.losses;
    bool retries_left = t.attempts - t.losses <= policy.retries;
    if (o.ok()) {
        t.state = task_state::succeeded;
        ++succeeded_;
        records_ += committed.records;
    } else if (cancelled_ || (halted_ && (retries_left || lost))) {
        t.state = task_state::skipped;  // counted when the run finishes
    } else if (lost) {
        t.state = task_state::ready;  // straight back in the queue, for another host
    } else if (retries_left) {
        t.state = task_state::retry_wait;
    } else {
        t.state = task_state::dead;
        ++dead_;
    }
    auto& last = t.last() = std::move(o);
    // Journal after the sink's commit completed: a crash in between re-runs the task, and its
    // deterministic commit replaces what this one published.
    if (journal_) journal_->attempt_finished(spec.id, last, t.state, last.ok() ? &committed : nullptr);
    for (auto* ob : cfg_.observers) ob->on_task_finished(spec, last, t.state);
    if (t.state == task_state::ready) enqueue(idx);
    if (t.state == task_state::retry_wait) schedule_retry(idx);
    if (t.state == task_state::succeeded) release_downstream(idx);
    if (t.state == task_state::dead) {
        write_dead_letter(idx);
        fail_downstream(idx);
        check_halt();
    }
    check_journal();
    dispatch();
    notify_progress(false);
    maybe_finish();
}

void dispatcher::schedule_retry(std::size_t idx) {
    auto& t = rt_[idx];
    ++retry_wait_;
    std::uniform_real_distribution<double> u(0.0, 1.0);
    auto delay = backoff_delay(tasks_.policy(static_cast<std::uint32_t>(idx)).backoff, t.attempts, u(rng_));
    if (!t.retry_timer) t.retry_timer = std::make_unique<asio::steady_timer>(strand_);
    t.retry_timer->expires_after(delay);
    t.retry_timer->async_wait([self = shared_from_this(), idx](boost::system::error_code) {
        auto& t = self->rt_[idx];
        if (t.state != task_state::retry_wait || self->finished_) return;
        --self->retry_wait_;
        if (self->stopping_) {
            t.state = task_state::skipped;
        } else {
            self->enqueue(idx);
            self->dispatch();
        }
        self->notify_progress(false);
        self->maybe_finish();
    });
}

void dispatcher::check_halt() {
    const auto& h = cfg_.opts.halt;
    bool by_count = h.max_dead && dead_ >= *h.max_dead;
    bool by_percent = h.max_dead_percent && !tasks_.empty() &&
                      static_cast<double>(dead_) * 100.0 / static_cast<double>(tasks_.size()) >= *h.max_dead_percent;
    if (!halted_ && (by_count || by_percent)) {
        halted_ = stopping_ = true;
        stop_waiting();
    }
}

// Tasks waiting for a retry will not run again: wake their timers so they are skipped.
void dispatcher::stop_waiting() {
    for (auto& t : rt_)
        if (t.state == task_state::retry_wait && t.retry_timer) t.retry_timer->cancel();
}

void dispatcher::cancel() {
    if (finished_ || cancelled_) return;
    cancelled_ = stopping_ = true;
    if (!started_) return;
    stop_waiting();
    for (auto& t : rt_)
        if (t.current) t.current->cancel();
    maybe_finish();
}

void dispatcher::write_dead_letter(std::size_t idx) {
    const auto& t = rt_[idx];
    try {
        files_->dead_letter({std::string(tasks_.id(static_cast<std::uint32_t>(idx))), t.state, t.attempts,
                             t.last_outcome ? *t.last_outcome : attempt_outcome{}});
    } catch (...) {
        // The dead letter could not be written (disk full?): the summary still names the task.
    }
}

// Ready tasks that no executor will ever run (every executor gave up) are dead.
void dispatcher::fail_unrunnable() {
    std::string why;
    for (auto& g : groups_) {
        auto f = g.exec->failed();
        if (!f) return;
        why += (why.empty() ? "" : "; ") + g.exec->name() + ": " + *f;
    }
    while (auto idx = next_ready()) {
        auto& t = rt_[*idx];
        t.state = task_state::dead;
        ++dead_;
        auto i = static_cast<std::uint32_t>(*idx);
        auto& last = t.last() = attempt_outcome{};
        last.attempt = t.attempts;
        last.failure = failure_class::executor_lost;
        last.message = "no executor can run it: " + why;
        if (journal_) journal_->task_state_changed(tasks_.id(i), t.state, to_string(last.failure), last.message);
        notify_finished(i, last, t.state);
        write_dead_letter(*idx);
        fail_downstream(*idx);
    }
    // (Nothing runs, so no pool is full: next_ready() drained every queue.)
}

void dispatcher::maybe_finish() {
    if (finished_ || running_ > 0) return;
    if (!stopping_ && ready_count_ > 0 && !groups_.empty()) fail_unrunnable();
    if (!stopping_ && (ready_count_ > 0 || retry_wait_ > 0)) return;
    if (stopping_ && retry_wait_ > 0) return;  // their cancelled timers are about to fire
    finish();
}

progress dispatcher::snapshot() const {
    progress p;
    p.total = tasks_.size();
    p.running = running_;
    p.retry_wait = retry_wait_;
    p.succeeded = succeeded_;
    p.dead = dead_;
    p.pending = ready_count_ + blocked_;
    p.skipped = 0;
    p.upstream_failed = upstream_failed_;
    p.resumed = resumed_;
    if (finished_) {
        p.pending = 0;
        p.skipped = tasks_.size() - succeeded_ - dead_ - upstream_failed_;
    }
    p.records = records_;
    p.bad_records = bad_records_;
    p.elapsed = std::chrono::duration_cast<duration>(clock::now() - t0_);
    return p;
}

void dispatcher::notify_progress(bool force) {
    if (cfg_.observers.empty()) return;
    auto now = clock::now();
    if (force || now - last_progress_ >= progress_interval) {
        last_progress_ = now;
        auto p = snapshot();
        for (auto* o : cfg_.observers) o->on_progress(p);
        return;
    }
    if (progress_pending_) return;
    progress_pending_ = true;
    progress_timer_.expires_at(last_progress_ + progress_interval);
    progress_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        self->progress_pending_ = false;
        if (!ec && !self->finished_) self->notify_progress(true);
    });
}

void dispatcher::finish() {
    finished_ = true;
    progress_timer_.cancel();
    for (auto& g : groups_) g.exec->stop();
    cfg_.output->stop();
    run_summary s;
    s.run_id = run_id_;
    s.cancelled = cancelled_;
    s.halted = halted_;
    s.run_dir = files_->dir();
    s.output = cfg_.output->describe();
    s.tasks.reserve(tasks_.size());
    for (std::size_t i = 0; i < tasks_.size(); ++i) {
        auto& t = rt_[i];
        if (t.state != task_state::succeeded && t.state != task_state::dead && t.state != task_state::upstream_failed) {
            t.state = task_state::skipped;
            if (journal_) journal_->task_state_changed(tasks_.id(static_cast<std::uint32_t>(i)), t.state, {}, {});
        }
        s.tasks.push_back({std::string(tasks_.id(static_cast<std::uint32_t>(i))), t.state, t.attempts,
                           t.last_outcome ? std::move(*t.last_outcome) : attempt_outcome{}, t.resumed});
        t.last_outcome.reset();
    }
    s.counts = snapshot();
    std::exception_ptr err;
    close_journal(s, err);
    try {
        files_->write_summary(s);
    } catch (...) {
        // The caller gets the summary anyway; a missing summary.json is not worth failing for.
    }
    for (auto* o : cfg_.observers) {
        o->on_progress(s.counts);
        o->on_run_finished(s);
    }
    auto slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.clear();
    complete_later(strand_, std::move(handler_), err, std::move(s));
    self_.reset();
}

// Observers see whole task_specs; tasks are stored compactly, so one is rebuilt only when
// somebody listens.
void dispatcher::notify_queued(std::uint32_t i) {
    if (cfg_.observers.empty()) return;
    auto spec = tasks_.spec(i);
    for (auto* o : cfg_.observers) o->on_task_queued(spec);
}

void dispatcher::notify_finished(std::uint32_t i, const attempt_outcome& last, task_state next) {
    if (cfg_.observers.empty()) return;
    auto spec = tasks_.spec(i);
    for (auto* o : cfg_.observers) o->on_task_finished(spec, last, next);
}

void dispatcher::fail(std::exception_ptr e) {
    finished_ = true;
    journal_.reset();  // commits what is queued; the run is not marked finished
    for (auto& g : groups_) g.exec->stop();
    if (started_) cfg_.output->stop();
    auto slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.clear();
    complete_later(strand_, std::move(handler_), e, run_summary{});
    self_.reset();
}

}  // namespace drover::detail
