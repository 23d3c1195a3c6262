// The dispatcher's journal and dependency handling: what a run starts from (resume), how
// finished tasks release or fail the tasks that come after them, and closing the journal.
//
// Resume rules (docs/workflows.md): a task journaled as succeeded is not run again; one
// journaled dead is not run again unless journal_options::retry_dead; everything else
// (pending, running or retry_wait when the last process died, skipped, upstream_failed)
// runs. Tasks are matched by id; journal rows of ids the job no longer has are left alone.

#include "scheduler/dispatcher.hpp"

#include <drover/error.hpp>


namespace drover::detail {

void dispatcher::open_journal() {
    const auto& jo = cfg_.opts.journal;
    if (!jo.enabled) return;
    journal_ = std::make_unique<journal>(cfg_.opts.state_dir, jo);
    journal_->replay([&](const journal::task_row& row) {
        auto idx = tasks_.find(row.id);
        if (idx < 0) return;
        auto& t = rt_[static_cast<std::size_t>(idx)];
        if (row.state == task_state::succeeded) {
            t.state = task_state::succeeded;
            t.resumed = true;
            ++succeeded_;
            ++resumed_;
        } else if (row.state == task_state::dead && !jo.retry_dead) {
            t.state = task_state::dead;
            t.resumed = true;
            t.attempts = row.attempts;
            auto& last = t.last();
            last.failure = parse_failure_class(row.failure).value_or(failure_class::exit_code);
            last.message = std::string(row.message) + " (dead in an earlier run; --retry-dead runs it again)";
            ++dead_;
        }
    });
}

// Every task that is not finished already: upstream_failed when a task it comes after is
// dead, ready when nothing it comes after is unfinished, pending (blocked) otherwise.
void dispatcher::queue_initial() {
    if (journal_) journal_->begin_run(run_id_, tasks_.size(), resumed_);
    const auto& g = cfg_.graph;
    auto visit = [&](std::uint32_t i) {
        auto& t = rt_[i];
        if (t.resumed) return;
        if (!g.empty()) {
            for (auto u : g.upstream[i]) {
                auto us = rt_[u].state;
                if (us == task_state::dead || us == task_state::upstream_failed) {
                    t.state = task_state::upstream_failed;
                    auto& last = t.last();
                    last.message = "upstream task '" + std::string(tasks_.id(u)) + "' " +
                                   (us == task_state::dead ? "is dead" : "did not run (upstream failed)");
                    ++upstream_failed_;
                    if (journal_) journal_->task_state_changed(tasks_.id(i), t.state, {}, last.message);
                    notify_finished(i, last, t.state);
                    return;
                }
                if (us != task_state::succeeded) ++t.waiting;
            }
        }
        if (journal_) journal_->task_pending(tasks_.id(i));
        notify_queued(i);
        if (t.waiting == 0) {
            enqueue(i);
        } else {
            t.state = task_state::pending;
            ++blocked_;
        }
    };
    if (g.empty()) {
        for (std::uint32_t i = 0; i < tasks_.size(); ++i) visit(i);
    } else {
        for (auto i : g.topo_order) visit(i);
    }
}

void dispatcher::release_downstream(std::size_t idx) {
    if (cfg_.graph.empty()) return;
    for (auto d : cfg_.graph.downstream[idx]) {
        auto& t = rt_[d];
        if (t.state != task_state::pending || t.waiting == 0) continue;
        if (--t.waiting == 0) {
            --blocked_;
            enqueue(d);
        }
    }
}

// Everything downstream of a dead task that has not finished becomes upstream_failed.
void dispatcher::fail_downstream(std::size_t idx) {
    if (cfg_.graph.empty()) return;
    std::vector<std::size_t> stack{idx};
    while (!stack.empty()) {
        auto cur = stack.back();
        stack.pop_back();
        for (auto d : cfg_.graph.downstream[cur]) {
            auto& t = rt_[d];
            if (t.state != task_state::pending) continue;  // finished, or already failed by another path
            t.state = task_state::upstream_failed;
            auto& last = t.last() = attempt_outcome{};
            last.message = "upstream task '" + std::string(tasks_.id(static_cast<std::uint32_t>(cur))) + "' " +
                           (cur == idx ? "is dead" : "did not run (upstream failed)");
            --blocked_;
            ++upstream_failed_;
            if (journal_) journal_->task_state_changed(tasks_.id(d), t.state, {}, last.message);
            notify_finished(d, last, t.state);
            stack.push_back(d);
        }
    }
}

// A journal that cannot be written any more (disk full, ...) stops the run: going on would
// do work that a resume could not know about.
void dispatcher::check_journal() {
    if (!journal_ || journal_error_) return;
    if (auto e = journal_->error()) {
        journal_error_ = e;
        cancel();
    }
}

void dispatcher::close_journal(run_summary& s, std::exception_ptr& err) {
    if (!journal_) return;
    check_journal();
    const char* status = journal_error_ ? "failed" : s.cancelled ? "cancelled" : s.halted ? "halted" : "finished";
    journal_->end_run(status, s.counts);
    try {
        journal_->flush();
    } catch (...) {
        if (!journal_error_) journal_error_ = std::current_exception();
    }
    journal_.reset();
    err = journal_error_;
}

}  // namespace drover::detail
