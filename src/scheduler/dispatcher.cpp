// The dispatcher's life (prepare, start, finish, fail) and the machine's actions: attempts,
// retry timers, journal rows, observers, dead letters. Tasks entering a running run (the
// inbox, fan-out) and the journal replay are in dispatcher_tasks.cpp.

#include "scheduler/dispatcher.hpp"

#include <drover/error.hpp>
#include <drover/duration.hpp>

#include "detail/complete.hpp"
#include "detail/durations.hpp"
#include "scheduler/task_json.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>

namespace drover::detail {

namespace asio = boost::asio;

namespace {
constexpr auto progress_interval = std::chrono::milliseconds(100);

boost::json::parse_options record_parse_options() {
    boost::json::parse_options o;
    o.max_depth = 64;
    return o;
}

run_machine_options machine_options(const scheduler_options& o) {
    run_machine_options m{o.halt, o.pools, o.open, o.journal.enabled && o.journal.retry_dead,
                          o.seed ? *o.seed : std::random_device{}()};
    for (const auto& p : o.shared_pools)
        if (p) m.shared_pools.insert(p->name());
    return m;
}
}  // namespace

dispatcher::dispatcher(strand_type strand, run_config cfg)
    : strand_(strand),
      cfg_(std::move(cfg)),
      gate_(*cfg_.gate),
      tasks_(gate_.tasks),
      speculation_timer_(strand),
      parser_(boost::json::storage_ptr(), record_parse_options()),
      retry_timer_(strand),
      deadline_timer_(strand),
      inbox_timer_(strand),
      progress_timer_(strand) {
    run_driver& driver = *this;
    machine_ = std::make_unique<run_machine>(tasks_, driver, machine_options(cfg_.opts));
}

void dispatcher::prepare() {
    store_size_before_ = tasks_.size();
    try {
        run_id_ = new_run_id();
        if (cfg_.opts.journal.enabled) {
            journal_ = std::make_shared<journal>(cfg_.opts.state_dir, cfg_.opts.journal);  // locks the state dir
            replay();
        }
        // Unknown ids, globs matching nothing and cycles are config errors before anything runs.
        graph_ = build_task_graph(tasks_);
        if (journal_ && (cfg_.opts.order == task_order::history || cfg_.opts.speculation.enabled)) order_by_history();
        if (journal_) journal_->begin_run(run_id_, tasks_.size(), machine_->counts().resumed);
    } catch (...) {
        journal_.reset();
        std::lock_guard lock(gate_.mutex);
        tasks_.truncate(store_size_before_);
        throw;
    }
    // From now on, submissions go through the inbox.
    std::lock_guard lock(gate_.mutex);
    gate_.settle(run_gate::phase::running);
    gate_.journal_ = journal_;
    if (journal_ && !cfg_.observers.empty())
        journal_->on_commit([weak = weak_from_this()](std::size_t ops, std::int64_t lag_ms) {
            if (auto d = weak.lock())
                asio::post(d->strand(), [d, ops, lag_ms] {
                    if (d->finished_) return;  // the observers may be gone with the run
                    for (auto* ob : d->cfg_.observers) ob->on_journal_committed(ops, duration(lag_ms));
                });
        });
    gate_.wake = [weak = weak_from_this()] {
        if (auto d = weak.lock()) asio::post(d->strand(), [d] { d->take_inbox(take::wake); });
    };
}

void dispatcher::start(run_handler h) {
    handler_.swap(h);  // not operator=: Boost 1.81's move assignment wraps the handler in itself
    self_ = shared_from_this();
    work_ = asio::prefer(strand_.get_inner_executor(), asio::execution::outstanding_work.tracked);
    t0_ = clock::now();
    auto slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) {
        slot.assign([self = weak_from_this()](asio::cancellation_type) {
            if (auto d = self.lock()) asio::post(d->strand(), [d] { d->cancel(); });
        });
    }
    try {
        files_.emplace(cfg_.opts.state_dir, run_id_, cfg_.opts.limits);
        std::vector<std::pair<std::string, committed_output>> recovered;
        cfg_.output->start({.run_id = run_id_,
                            .io_ex = strand(),
                            .state_dir = cfg_.opts.state_dir,
                            .recovered = [&](const std::string& id, const committed_output& out) {
                                recovered.emplace_back(id, out);
                            }});
        for (auto& [id, out] : recovered) recover(id, std::move(out));
        started_ = true;
        groups_ = cfg_.executors;
        start_executors();
    } catch (...) {
        return fail(std::current_exception());
    }
    for (auto* o : cfg_.observers) o->on_run_started(snapshot());
    if (cfg_.opts.deadline) {
        deadline_timer_.expires_after(timer_delay(*cfg_.opts.deadline));
        deadline_timer_.async_wait([self = weak_from_this()](boost::system::error_code ec) {
            auto d = self.lock();
            if (ec || !d || d->finished_) return;
            d->deadline_passed_ = true;
            d->machine_->cancel();
        });
    }
    if (cfg_.start_cancelled) machine_->cancel();
    if (cfg_.start_closed) machine_->close();
    std::vector<std::size_t> slots;
    for (auto& g : groups_) slots.push_back(g->slots());
    if (cfg_.opts.speculation.enabled) {
        watch_.emplace(cfg_.opts.speculation, cfg_.opts.seed.value_or(0));
        arm_speculation_timer();
    }
    watch_shared_pools();
    machine_->start(std::move(graph_), std::move(slots));
    take_inbox();  // what was submitted while the start was on its way
}

// An earlier run staged the task's records but could not commit them; the sink just did.
void dispatcher::recover(const std::string& id, committed_output out) {
    auto i = tasks_.find(id);
    if (i < 0) return;  // not a task of this run: its output is published, nothing to mark
    auto task = static_cast<std::uint32_t>(i);
    if (task < machine_->size() && machine_->state(task) == task_state::succeeded) return;
    machine_->recovered(task);
    if (journal_) journal_->task_recovered(id, std::move(out.locations));
}

void dispatcher::start_executors() {
    std::weak_ptr<dispatcher> weak = weak_from_this();
    for (auto& g : groups_) {
        executor_context ctx;
        ctx.io_ex = strand_;
        ctx.state_dir = cfg_.opts.state_dir;
        ctx.run_id = run_id_;
        if (journal_) ctx.leftovers = journal_->leftovers();
        ctx.capacity_changed = [weak] {
            if (auto d = weak.lock())
                asio::post(d->strand(), [d] {
                    if (d->finished_) return;
                    std::vector<std::size_t> slots;
                    for (auto& g : d->groups_) slots.push_back(g->slots());
                    d->machine_->capacity_changed(slots);
                });
        };
        ctx.report = [weak, name = g->name()](std::string msg) {
            if (auto d = weak.lock())
                asio::post(d->strand(), [d, name, msg = std::move(msg)] {
                    for (auto* o : d->cfg_.observers) o->on_executor_event(name, msg);
                });
        };
        ctx.host_changed = [weak, name = g->name()](const host_info& h, bool left) {
            if (auto d = weak.lock())
                asio::post(d->strand(), [d, name, h, left] {
                    if (d->files_) d->files_->host_changed(name, h, left);
                    for (auto* o : d->cfg_.observers) o->on_host_changed(name, h, left);
                });
        };
        g->start(ctx);
    }
}

void dispatcher::cancel() {
    if (!finished_) machine_->cancel();
}

void dispatcher::close() {
    if (!finished_) machine_->close();
}

std::uint32_t dispatcher::index_of(std::string_view id) const {
    auto i = tasks_.find(id);
    if (i < 0 || static_cast<std::size_t>(i) >= machine_->size())
        throw config_error("no task '" + std::string(id) + "' in this run");
    return static_cast<std::uint32_t>(i);
}

run_machine::control_result dispatcher::cancel_task(std::string_view id) {
    auto i = index_of(id);
    if (finished_) return run_machine::control_result::not_applicable;
    return machine_->cancel_task(i);
}

run_machine::control_result dispatcher::retry_task(std::string_view id) {
    return revive(id, &run_machine::retry_task);
}

run_machine::control_result dispatcher::mark_succeeded(std::string_view id) {
    return revive(id, &run_machine::mark_succeeded);
}

// A control that may start tasks again (their transitions are journaled): then the journal's health.
run_machine::control_result dispatcher::revive(std::string_view id,
                                               run_machine::control_result (run_machine::*control)(std::uint32_t)) {
    auto i = index_of(id);
    if (finished_) return run_machine::control_result::not_applicable;
    auto r = ((*machine_).*control)(i);
    check_journal();
    return r;
}

// ---- the machine's questions ----

bool dispatcher::can_accept(std::size_t g) { return groups_[g]->can_accept(); }

std::optional<std::string> dispatcher::group_failed(std::size_t g) {
    auto f = groups_[g]->failed();
    if (!f) return std::nullopt;
    return groups_[g]->name() + ": " + *f;
}

bool dispatcher::may_finish() {
    std::lock_guard lock(gate_.mutex);
    if (!gate_.inbox.empty()) {  // a submission won the race: take it first
        if (!gate_.wake_posted && gate_.wake) {
            gate_.wake_posted = true;
            gate_.wake();
        }
        return false;  // (a batching window's timer, when armed, takes it)
    }
    gate_.at = run_gate::phase::finished;
    return true;
}

// ---- the machine's actions ----

void dispatcher::queued(std::uint32_t task) {
    // Submitted and fanned-out tasks got their row (with their JSON) when they entered.
    if (journal_ && (task < fresh_lo_ || task >= fresh_hi_)) journal_->task_pending(tasks_.id(task));
    if (cfg_.observers.empty()) return;
    auto spec = tasks_.spec(task);
    for (auto* o : cfg_.observers) o->on_task_queued(spec);
}

void dispatcher::launch(std::uint32_t task, std::size_t g, int attempt, std::uint32_t slot) {
    auto& ex = *groups_[g];
    attempt_context ctx{strand_,
                        tasks_.spec(task),
                        attempt,
                        run_id_,
                        ex,
                        *cfg_.output,
                        *files_,
                        parser_,
                        cfg_.opts.stderr_tail_lines,
                        cfg_.opts.defaults,
                        [this, task](std::vector<child_task>& c) { return admit_children(task, c); },
                        {},
                        {}};
    if (watch_) ctx.claim = [this, slot] { return machine_->claim_commit(slot); };
    // The slot takes the next task while the output commits (posted: never inside a machine call).
    ctx.on_released = [this, slot, task] {
        asio::post(strand_, [self = shared_from_this(), slot, task] { self->machine_->executor_released(slot, task); });
    };
    if (auto twin = machine_->twin_of(slot); twin < running_.size() && running_[twin]) ctx.avoid_host = running_[twin]->host();
    if (auto cp = checkpoints_.find(task); cp != checkpoints_.end()) {
        ctx.task.env["DROVER_CHECKPOINT"] = cp->second.token;  // the task continues from there
        ctx.first_segment = cp->second.next_segment;
    }
    ctx.on_checkpoint = [this, task, attempt](const std::string& token, std::uint32_t next, const committed_output& out) {
        checkpoints_[task] = {token, next};
        machine_->checkpoint_published(out.records);
        if (journal_) journal_->task_checkpoint(tasks_.id(task), attempt, token, next, out.locations);
    };
    if (journal_)
        // Small enough for std::function's inline storage: no allocation, no id copy per attempt
        // (called on the strand while the attempt starts; the dispatcher outlives it).
        ctx.on_process = [this, task, attempt](const process_ref& p) {
            journal_->attempt_process(tasks_.id(task), attempt, p);
        };
    auto run = std::make_shared<attempt_run>(
        std::move(ctx), [self = shared_from_this(), slot](attempt_outcome o, committed_output out,
                                                         std::vector<child_task> children) {
            self->on_attempt_done(slot, std::move(o), std::move(out), std::move(children));
        });
    if (slot >= running_.size()) running_.resize(std::size_t{slot} + 1);
    running_[slot] = run;
    const auto& spec = run->task();
    if (watch_) watch_started(task, slot, spec, ex);
    if (journal_) journal_->attempt_started(spec.id, attempt, ex.name());
    for (auto* o : cfg_.observers) o->on_task_started(spec, attempt, ex.name());
    run->start();
}

void dispatcher::kill(std::uint32_t, std::uint32_t slot) {
    if (slot < running_.size() && running_[slot]) running_[slot]->cancel();
}

void dispatcher::attempt_dropped(std::uint32_t task, const attempt_outcome& o, bool superseded) {
    if (!journal_) return;
    if (!superseded || o.failure != failure_class::cancelled) return void(journal_->attempt_ended(tasks_.id(task), o));
    auto row = o;
    row.message = "superseded: another attempt of the task succeeded; killed, its output discarded";
    journal_->attempt_ended(tasks_.id(task), row);
}

void dispatcher::finished(std::uint32_t task, const attempt_outcome& o, task_state next, const committed_output* out,
                          std::span<const std::uint32_t> children) {
    // Journal after the sink's commit completed: a crash in between re-runs the task, and its
    // deterministic commit replaces what this one published. Its children are in the same row.
    std::vector<journal::child_row> rows;
    if (reporting_children_ && !children.empty())
        for (const auto& c : *reporting_children_) rows.push_back({c.spec.id, task_to_json(c.spec)});
    if (journal_) journal_->attempt_finished(tasks_.id(task), o, next, out, std::move(rows));
    // Succeeded: its output is whole; a later run of the task (--fresh) starts from its beginning.
    if (next == task_state::succeeded && checkpoints_.erase(task) && journal_)
        journal_->task_checkpoint(tasks_.id(task), o.attempt, {}, 0, {});
    if (cfg_.observers.empty()) return;
    if (reporting_run_) {
        if (out && next == task_state::succeeded)
            for (auto* ob : cfg_.observers) ob->on_output_committed(reporting_run_->task(), *out, reporting_run_->commit_time());
        for (auto* ob : cfg_.observers) ob->on_task_finished(reporting_run_->task(), o, next);
        return;
    }
    auto spec = tasks_.spec(task);
    for (auto* ob : cfg_.observers) ob->on_task_finished(spec, o, next);
}

void dispatcher::state_changed(std::uint32_t task, task_state s, const attempt_outcome& last, bool sweep) {
    if (journal_)
        journal_->task_state_changed(tasks_.id(task), s,
                                     last.failure == failure_class::none ? std::string_view{} : to_string(last.failure),
                                     last.message);
    if (sweep || cfg_.observers.empty()) return;
    auto spec = tasks_.spec(task);
    for (auto* ob : cfg_.observers) ob->on_task_finished(spec, last, s);
}

void dispatcher::arm_retry(std::uint32_t task, duration delay) {
    auto due = clock::now() + delay;
    retry_due_[task] = due;
    retry_heap_.emplace(due, task);
    arm_retry_timer();
}

void dispatcher::disarm_retry(std::uint32_t task) { retry_due_.erase(task); }

void dispatcher::arm_retry_timer() {
    while (!retry_heap_.empty()) {
        auto [due, task] = retry_heap_.top();
        auto it = retry_due_.find(task);
        if (it != retry_due_.end() && it->second == due) break;
        retry_heap_.pop();  // disarmed, or armed again later
    }
    if (retry_heap_.empty() || retry_heap_.top().first >= retry_timer_at_) return;
    retry_timer_at_ = retry_heap_.top().first;
    retry_timer_.expires_at(retry_timer_at_);
    retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->finished_) return;
        self->retry_timer_at_ = clock::time_point::max();
        self->on_retry_timer();
    });
}

void dispatcher::on_retry_timer() {
    auto now = clock::now();
    while (!retry_heap_.empty() && retry_heap_.top().first <= now && !finished_) {
        auto [due, task] = retry_heap_.top();
        retry_heap_.pop();
        auto it = retry_due_.find(task);
        if (it == retry_due_.end() || it->second != due) continue;
        retry_due_.erase(it);
        machine_->retry_due(task);
    }
    if (!finished_) arm_retry_timer();
}

void dispatcher::dead_letter(std::uint32_t task) {
    try {
        files_->dead_letter({std::string(tasks_.id(task)), machine_->state(task), machine_->attempts(task),
                             machine_->last(task), machine_->resumed(task)});
    } catch (...) {
        // The dead letter could not be written (disk full?): the summary still names the task.
    }
}

void dispatcher::progress_changed() { notify_progress(false); }

progress dispatcher::snapshot() const {
    auto p = machine_->counts();
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

// A journal that cannot be written any more (disk full, ...) stops the run: going on would
// do work that a resume could not know about.
void dispatcher::check_journal() {
    if (!journal_ || journal_error_) return;
    if (auto e = journal_->error()) {
        journal_error_ = e;
        machine_->journal_failed();
    }
}

// ---- shared pools ----

void dispatcher::watch_shared_pools() {
    for (const auto& p : cfg_.opts.shared_pools) {
        if (!p || shared_.contains(p->name())) continue;
        // A place given back was handed to this run (it waited in line): ready tasks of the
        // pool start now; one it cannot use (no slot free, nothing left to run) goes on.
        auto member = p->join([weak = weak_from_this(), name = p->name()] {
            if (auto d = weak.lock())
                asio::post(d->strand(), [d, name] {
                    if (d->finished_) return;  // the place went back when the run let go of the pool
                    d->machine_->capacity_changed();
                    auto& m = d->shared_.at(name);
                    m.pool->decline(*m.member);
                });
        });
        shared_.emplace(p->name(), shared_membership{p, std::move(member)});
    }
}

bool dispatcher::acquire_shared(const std::string& pool) {
    auto it = shared_.find(pool);
    return it == shared_.end() || it->second.pool->try_acquire(it->second.member.get());
}

void dispatcher::release_shared(const std::string& pool) {
    if (auto it = shared_.find(pool); it != shared_.end()) it->second.pool->release();
}

void dispatcher::finish() {
    finished_ = true;
    for (auto& [name, m] : shared_) m.member.reset();  // out of every line
    progress_timer_.cancel();
    speculation_timer_.cancel();
    retry_timer_.cancel();
    inbox_timer_.cancel();
    deadline_timer_.cancel();
    for (auto& g : groups_) g->stop();
    cfg_.output->stop();
    run_summary s;
    s.run_id = run_id_;
    s.cancelled = machine_->cancelled();
    s.halted = machine_->halted();
    s.halt_reason = machine_->halt_reason();
    if (deadline_passed_) {
        s.cancelled = false;
        s.halted = true;
        s.halt_reason = "deadline: the run was still going after " + format_duration(*cfg_.opts.deadline) +
                        " (running attempts were killed, tasks not started were skipped)";
    }
    s.run_dir = files_->dir();
    s.output = cfg_.output->describe();
    s.counts = snapshot();
    s.tasks.reserve(machine_->size());
    for (std::uint32_t i = 0; i < machine_->size(); ++i)
        s.tasks.push_back({std::string(tasks_.id(i)), machine_->state(i), machine_->attempts(i), machine_->take_last(i),
                           machine_->resumed(i)});
    std::exception_ptr err;
    if (journal_) {
        check_journal();
        const char* status = journal_error_ ? "failed" : s.cancelled ? "cancelled" : s.halted ? "halted" : "finished";
        journal_->end_run(status, s.counts);
        try {
            journal_->flush();
        } catch (...) {
            if (!journal_error_) journal_error_ = std::current_exception();
        }
        err = journal_error_;
    }
    {
        std::lock_guard lock(gate_.mutex);
        gate_.journal_.reset();
        gate_.wake = nullptr;
    }
    journal_.reset();  // commits, stops the writer, releases the state directory
    try {
        files_->write_summary(s);
    } catch (...) {
        // The caller gets the summary anyway; a missing summary.json is not worth failing for.
    }
    for (auto* o : cfg_.observers) {
        o->on_progress(s.counts);
        o->on_run_finished(s);
    }
    if (cfg_.released) cfg_.released(this);
    auto slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.clear();
    complete_later(strand_, std::move(handler_), err, std::move(s));
    self_.reset();
    work_ = {};
}

// The run could not start (state directory, sink or executor refused): nothing ran. The
// scheduler can be set up again and run; tasks submitted meanwhile stay with it.
void dispatcher::fail(std::exception_ptr e) {
    finished_ = true;
    {
        std::lock_guard lock(gate_.mutex);
        for (auto& t : gate_.inbox) tasks_.add(t);
        gate_.inbox.clear();
        gate_.inbox_ids.clear();
        gate_.at = run_gate::phase::idle;
        gate_.settled.notify_all();
        gate_.journal_.reset();
        gate_.wake = nullptr;
    }
    journal_.reset();  // commits what is queued; the run is not marked finished
    for (auto& g : groups_) g->stop();
    if (started_) cfg_.output->stop();
    if (cfg_.released) cfg_.released(this);
    auto slot = asio::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.clear();
    complete_later(strand_, std::move(handler_), e, run_summary{});
    self_.reset();
    work_ = {};
}

}  // namespace drover::detail
