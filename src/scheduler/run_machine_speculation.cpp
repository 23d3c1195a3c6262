// Straggler speculation in the run state machine: a backup attempt of a running task on an
// idle slot, the commit claim between the two twins, and the end of an attempt that does not
// decide its task (dropped while its twin goes on, or superseded by a twin that succeeded).
// When to speculate is the driver's question (it has the clocks): dispatcher_speculation.cpp.

#include "scheduler/run_machine.hpp"

namespace drover::detail {

bool run_machine::may_back_up(std::uint32_t i) const {
    if (!started_ || finished_ || stopping_ || i >= rt_.size()) return false;
    const auto& t = rt_[i];
    return t.state == task_state::running && !(t.flags & (flag_kill | flag_backed_up)) &&
           attempts_[t.slot].twin == no_task && !attempts_[t.slot].released && tasks_.policy(i).speculate;
}

run_machine::speculation run_machine::speculate(std::uint32_t i, bool before_queued) {
    if (!may_back_up(i)) return speculation::not_eligible;
    if (rt_[i].flags & flag_backup_waits) return speculation::waiting;
    auto r = launch_backup(i);
    if (r != speculation::no_slot || !before_queued) return r;
    rt_[i].flags |= flag_backup_waits;
    backups_waiting_.push_back(i);
    return speculation::waiting;
}

// Before the ready tasks take free slots (dispatch): the waiting backups still wanted, in
// the order they asked; one whose pool is full waits on, without holding up the others.
void run_machine::start_waiting_backups() {
    for (std::size_t k = 0; k < backups_waiting_.size();) {
        auto i = backups_waiting_[k];
        if (may_back_up(i) && launch_backup(i) != speculation::launched) {
            if (!pool_full(pool_of(i))) return;  // no executor group has a free slot
            ++k;
            continue;
        }
        // Started, or not wanted any more.
        rt_[i].flags &= static_cast<std::uint8_t>(~flag_backup_waits);
        backups_waiting_.erase(backups_waiting_.begin() + static_cast<std::ptrdiff_t>(k));
    }
}

run_machine::speculation run_machine::launch_backup(std::uint32_t i) {
    auto& t = rt_[i];
    if (pool_full(pool_of(i))) return speculation::no_slot;
    // An idle slot, on another group than the attempt's when one has room.
    auto own = attempts_[t.slot].group;
    std::size_t best = groups_.size();
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        if (groups_[g].free() == 0 || !d_.can_accept(g)) continue;
        if (best == groups_.size() || (best == own && g != own) ||
            ((g == own) == (best == own) && groups_[g].free() > groups_[best].free()))
            best = g;
    }
    if (best == groups_.size()) return speculation::no_slot;
    if (!take_pool_place(pool_of(i))) return speculation::no_slot;  // a shared pool without a place
    ++t.attempts;
    t.flags |= flag_backed_up;
    auto first = t.slot;
    auto slot = take_slot(i, best);
    attempts_[slot].twin = first;
    attempts_[first].twin = slot;
    ++backups_;
    d_.launch(i, best, t.attempts, slot);
    d_.progress_changed();
    return speculation::launched;
}

bool run_machine::claim_commit(std::uint32_t slot) {
    if (slot >= attempts_.size()) return false;
    auto& a = attempts_[slot];
    if (a.task == no_task || a.superseded) return false;
    if (a.twin != no_task && attempts_[a.twin].claimed) return false;
    a.claimed = true;
    return true;
}

void run_machine::drop_attempt(std::uint32_t slot, const attempt_outcome& o) {
    auto i = attempts_[slot].task;
    bool superseded = attempts_[slot].superseded;
    if (superseded) {
        --superseded_live_;
    } else {
        // Its twin goes on, and decides: this attempt costs the task no retry.
        auto twin = attempts_[slot].twin;
        attempts_[twin].twin = no_task;
        rt_[i].slot = twin;
        if (rt_[i].spared < 255) ++rt_[i].spared;
    }
    free_slot(slot);
    d_.attempt_dropped(i, o, superseded);
    dispatch();
    d_.progress_changed();
    maybe_finish();
}

}  // namespace drover::detail
