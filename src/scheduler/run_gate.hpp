#pragma once
// What threads submitting tasks share with a running dispatcher, under one mutex.
//
// The task store is written only by the dispatcher's strand, and only under the mutex;
// submitters read it (find, ids for `after`) under the mutex. So the strand reads the store
// without locking, and a submitter never sees it half-grown. Tasks submitted while a run is
// going wait in `inbox` until the strand takes them (dispatcher::take_inbox); fan-out ids
// whose commit is in flight are `reserved`. The journal row of a submitted task is queued
// under the mutex before submit() returns, and submit() waits until it is committed.

#include <drover/error.hpp>
#include <drover/scheduler.hpp>
#include <drover/task.hpp>

#include "scheduler/task_store.hpp"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <condition_variable>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace drover::detail {

class journal;

struct run_gate {
    enum class phase {
        idle,      ///< no run: submit() adds to the store directly
        starting,  ///< run() is reading the store (journal replay, graph): callers wait
        running,   ///< tasks go through the inbox
        closed,    ///< an open run was closed: no more tasks
        finished,  ///< the run ended; the scheduler does not run again
    };

    std::mutex mutex;
    std::condition_variable settled;  ///< notified when `at` leaves `starting`
    phase at = phase::idle;
    task_store tasks;
    std::vector<task_store::encoded> inbox;  ///< encoded by the submitter: the strand copies bytes
    std::unordered_set<std::string> inbox_ids;
    /// Inboxes the strand took, to be freed by the next submitter (not on the strand).
    struct spent_inbox {
        std::vector<task_store::encoded> tasks;
        std::unordered_set<std::string> ids;
    };
    std::vector<spent_inbox> spent;
    std::unordered_set<std::string> reserved;
    std::shared_ptr<journal> journal_;      ///< while running with a journal
    std::function<void()> wake;             ///< posts "take the inbox" to the strand
    bool wake_posted = false;

    /// The mutex, once no run is starting (the store is then not being read or written
    /// without it).
    std::unique_lock<std::mutex> lock_settled() {
        std::unique_lock lock(mutex);
        settled.wait(lock, [&] { return at != phase::starting; });
        return lock;
    }
    /// Leaves `starting` for `to` and wakes the waiters. Caller holds the mutex.
    void settle(phase to) {
        if (at != phase::starting) return;
        at = to;
        settled.notify_all();
    }

    /// True when `id` is taken: in the store, in the inbox, or reserved. Caller holds the mutex.
    bool taken(std::string_view id) const {
        return tasks.find(id) >= 0 || inbox_ids.contains(std::string(id)) || reserved.contains(std::string(id));
    }
};

/// Syntax checks of a task on its own: id, command, retries, pool. Throws config_error.
void check_task(const task_spec& t, const scheduler_options& o);

/// Whether `after` entry `a` names a task among the first `limit` tasks of the store or in
/// `extra_ids`: an id, or a glob matching at least one of them. Returns the problem, or nullopt.
std::optional<std::string> check_after_entry(const task_store& tasks, std::size_t limit, std::string_view a,
                                             std::string_view self,
                                             const std::unordered_set<std::string>* extra_ids);

/// Resolves task `i`'s `after` entries against the tasks before it in the store (a task
/// can only come after tasks that entered before it: no cycles). Unresolvable entries are
/// left out (they were checked when the task was submitted).
std::vector<std::uint32_t> resolve_after(const task_store& tasks, std::uint32_t i);

}  // namespace drover::detail
