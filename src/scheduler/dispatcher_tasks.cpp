// Tasks entering a run: from the journal (resume), from the inbox (submitted while the run
// goes, from any thread) and from control lines (fan-out: admitted before the parent's
// commit, entering with its success).
//
// Resume rules (docs/workflows.md): a task journaled as succeeded is not run again; one
// journaled dead or cancelled is not run again unless journal_options::retry_dead;
// everything else runs. Tasks are matched by id. A journal row of an id the program does
// not give is left alone, unless it holds the task's JSON (it entered a run while it was
// going): then the task is recreated, with the task that fanned it out.

#include "scheduler/dispatcher.hpp"

#include <drover/error.hpp>

#include "scheduler/task_json.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>

#include <fnmatch.h>

namespace drover::detail {

void dispatcher::replay() {
    std::vector<std::pair<std::uint32_t, std::string>> parents;
    journal_->replay([&](const journal::task_row& row) {
        auto idx = tasks_.find(row.id);
        if (idx < 0) {
            if (row.spec.empty()) return;
            task_spec t;
            try {
                boost::system::error_code ec;
                auto v = boost::json::parse(row.spec, ec);
                if (ec || !v.is_object()) throw config_error("its JSON does not parse");
                t = task_from_journal(v.get_object(), cfg_.opts.defaults);
                check_task(t, cfg_.opts);
            } catch (const std::exception& e) {
                throw config_error("journal: task '" + std::string(row.id) +
                                   "' (it entered an earlier run while it went) cannot be recreated: " + e.what());
            }
            std::lock_guard lock(gate_.mutex);
            idx = tasks_.add(t);
            if (!row.parent.empty()) parents.emplace_back(static_cast<std::uint32_t>(idx), std::string(row.parent));
        }
        machine_->replayed(static_cast<std::uint32_t>(idx), row.state, row.attempts,
                           parse_failure_class(row.failure).value_or(failure_class::exit_code), row.message);
    });
    for (const auto& [child, parent] : parents)
        if (auto p = tasks_.find(parent); p >= 0) machine_->set_parent(child, static_cast<std::uint32_t>(p));
    journal_->checkpoints([&](std::string_view id, std::string_view token, std::uint32_t next) {
        if (auto i = tasks_.find(id); i >= 0) checkpoints_[static_cast<std::uint32_t>(i)] = {std::string(token), next};
    });
}

void dispatcher::order_by_history() {
    std::vector<std::pair<std::uint32_t, std::int64_t>> own;
    journal_->history([&](std::string_view id, std::int64_t ms) {
        if (auto i = tasks_.find(id); i >= 0) own.emplace_back(static_cast<std::uint32_t>(i), ms);
    });
    estimates_ = estimate_durations(tasks_, own);
    if (cfg_.opts.speculation.enabled) {
        own_ms_.assign(tasks_.size(), 0);
        for (auto [i, ms] : own) own_ms_[i] = static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 1, 0xffffffff));
    }
    if (!estimates_.task_ms.empty() && cfg_.opts.order == task_order::history)
        machine_->set_priorities(critical_paths(std::move(estimates_.task_ms), graph_));
    estimates_.task_ms = {};
}

std::uint32_t dispatcher::priority_of_new(const task_spec& t) const {
    return cfg_.opts.order == task_order::history ? estimates_.of(t) : 0;
}

std::uint32_t dispatcher::priority_of_new(std::uint32_t i) const {
    return cfg_.opts.order == task_order::history && !estimates_.empty() ? estimates_.of(tasks_.spec(i)) : 0;
}

namespace {
// How long submissions gather after a take before the next one (they wait at most this).
constexpr auto inbox_batch_window = std::chrono::milliseconds(10);
}  // namespace

// A submission posts a take when none is pending. After a take that found tasks, the next
// take waits for the batch window (submitters see a take pending and post nothing): a stream
// of submissions wakes the strand once per window, not once per task. A take that finds
// nothing ends the window.
void dispatcher::take_inbox(take how) {
    std::uint32_t first = 0, last = 0;
    {
        std::lock_guard lock(gate_.mutex);
        if (how == take::wake && inbox_timer_armed_) return;  // the window's timer takes it
        if (how == take::timer) inbox_timer_armed_ = false;
        if (finished_ || !machine_->started() || gate_.inbox.empty()) {
            if (!inbox_timer_armed_) gate_.wake_posted = false;
            return;
        }
        first = static_cast<std::uint32_t>(tasks_.size());
        for (const auto& t : gate_.inbox) tasks_.add(t);
        last = static_cast<std::uint32_t>(tasks_.size());
        // Freeing the submissions is the submitters' work: the next submit() does it.
        gate_.spent.push_back({std::move(gate_.inbox), std::move(gate_.inbox_ids)});
        gate_.inbox = {};
        gate_.inbox_ids = {};
        if (!inbox_timer_armed_) {
            inbox_timer_armed_ = true;  // wake_posted stays set until the window's take
            gate_.wake_posted = true;
            inbox_timer_.expires_after(inbox_batch_window);
            inbox_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
                if (!ec) self->take_inbox(take::timer);
            });
        }
    }
    std::vector<new_task> batch;
    batch.reserve(last - first);
    for (auto i = first; i < last; ++i)
        batch.push_back({i, resolve_after(tasks_, i), priority_of_new(i)});
    fresh_lo_ = first;
    fresh_hi_ = last;
    machine_->add_tasks(batch);
    fresh_lo_ = fresh_hi_ = 0;
    check_journal();
}

// Before the parent's commit: ids unique in the run, `after` resolved (to tasks in the run or
// earlier children of this attempt) without a cycle through the parent; then the ids are
// reserved until the commit's outcome is known.
std::optional<std::string> dispatcher::admit_children(std::uint32_t parent, std::vector<child_task>& children) {
    const std::string parent_id(tasks_.id(parent));
    std::lock_guard lock(gate_.mutex);
    std::unordered_map<std::string, std::size_t> siblings;
    for (std::size_t k = 0; k < children.size(); ++k) {
        auto& c = children[k];
        auto where = "line " + std::to_string(c.line) + ": ";
        try {
            check_task(c.spec, cfg_.opts);
        } catch (const config_error& e) {
            return where + "submit: " + e.what();
        }
        if (gate_.taken(c.spec.id) || siblings.contains(c.spec.id))
            return where + "task id '" + c.spec.id + "' (fanned out by '" + parent_id + "') is already in the run";
        std::vector<std::string> ids;
        for (const auto& a : c.spec.after) {
            auto before = ids.size();
            if (a.empty()) return where + "submit: after: empty entry";
            if (is_after_glob(a)) {
                for (std::uint32_t j = 0; j < tasks_.size(); ++j)
                    if (::fnmatch(a.c_str(), tasks_.id(j).data(), 0) == 0) {
                        c.upstream.push_back(j);
                        ids.emplace_back(tasks_.id(j));
                    }
                for (const auto& [id, pos] : siblings)
                    if (::fnmatch(a.c_str(), id.c_str(), 0) == 0) {
                        c.sibling_upstream.push_back(pos);
                        ids.push_back(id);
                    }
                if (ids.size() == before) return where + "submit: after '" + a + "': the pattern matches no other task";
            } else if (auto j = tasks_.find(a); j >= 0) {
                c.upstream.push_back(static_cast<std::uint32_t>(j));
                ids.push_back(a);
            } else if (auto s = siblings.find(a); s != siblings.end()) {
                c.sibling_upstream.push_back(s->second);
                ids.push_back(a);
            } else {
                return where + "submit: after '" + a + "': no task has this id" +
                       (a == c.spec.id ? " (a task cannot come after itself)" : "");
            }
        }
        if (auto cycle = machine_->child_cycle(parent, c.upstream)) return where + "submit: after: " + *cycle;
        c.spec.after = std::move(ids);  // resolved: a resumed run sees exactly these
        siblings.emplace(c.spec.id, k);
    }
    for (const auto& c : children) gate_.reserved.insert(c.spec.id);
    return std::nullopt;
}

void dispatcher::release_children(const std::vector<child_task>& children) {
    std::lock_guard lock(gate_.mutex);
    for (const auto& c : children) gate_.reserved.erase(c.spec.id);
}

void dispatcher::on_attempt_done(std::uint32_t slot, attempt_outcome o, committed_output out,
                                 std::vector<child_task> children) {
    // The machine sees the attempt done below: until then the task keeps its attempt slot.
    auto run = std::move(running_[slot]);  // alive until the observers have seen its task
    if (finished_) return;
    if (watch_) watch_->ended(slot, o.ok() ? std::optional<std::int64_t>(o.elapsed.count()) : std::nullopt);
    std::vector<new_task> entering;
    if (!o.ok()) {
        release_children(children);
        children.clear();
    } else if (!children.empty()) {
        std::uint32_t first = 0;
        {
            std::lock_guard lock(gate_.mutex);
            first = static_cast<std::uint32_t>(tasks_.size());
            for (const auto& c : children) {
                tasks_.add(c.spec);
                gate_.reserved.erase(c.spec.id);
            }
        }
        entering.reserve(children.size());
        for (std::size_t k = 0; k < children.size(); ++k) {
            new_task t{first + static_cast<std::uint32_t>(k), children[k].upstream, priority_of_new(children[k].spec)};
            for (auto s : children[k].sibling_upstream) t.upstream.push_back(first + static_cast<std::uint32_t>(s));
            entering.push_back(std::move(t));
        }
        fresh_lo_ = first;
        fresh_hi_ = first + static_cast<std::uint32_t>(children.size());
    }
    reporting_children_ = &children;
    reporting_run_ = run.get();
    machine_->attempt_ended(slot, std::move(o), out, entering);
    reporting_children_ = nullptr;
    reporting_run_ = nullptr;
    fresh_lo_ = fresh_hi_ = 0;
    check_journal();
}

}  // namespace drover::detail
