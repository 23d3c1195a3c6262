#pragma once
/// @file
/// A cap on running tasks shared by several runs: the jobs of a `drover serve` (Airflow's
/// pools), or several schedulers of one process. A task whose `pool` names it takes a place
/// here for each attempt it runs, besides any limit its own run's `pools` set.
///
/// Places go to the runs that wait for them in the order they came to wait (first come,
/// first served): a place given back while runs wait is handed to the first of them, so a run
/// with many tasks cannot take every place again as it frees them while another run waits.

#include <drover/export.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace drover {

/// Thread-safe. Schedulers hold it by shared_ptr (scheduler_options::shared_pools).
class DROVER_API shared_pool {
public:
    /// A run's membership: its place in the queue of those waiting, and the places handed to
    /// it. Leaving (destroying the last shared_ptr) gives back the places handed to it and not
    /// taken.
    class waiter;

    /// Throws config_error for an empty name or a limit of 0.
    shared_pool(std::string name, std::size_t limit);
    ~shared_pool();
    shared_pool(const shared_pool&) = delete;
    shared_pool& operator=(const shared_pool&) = delete;

    const std::string& name() const noexcept;
    std::size_t limit() const noexcept;
    /// Places taken now (attempts running in the pool, over every run that uses it), with
    /// those handed to a waiting run that has not taken them yet.
    std::size_t in_use() const;
    /// Runs waiting for a place now.
    std::size_t waiting() const;

    // ---- what a scheduler calls ----
    /// Joins the pool. `handed` is called when a place given back was handed to this waiter,
    /// on the thread that gave it back; it must not call back into this pool while it runs
    /// (post the work elsewhere), and the waiter then takes the place (try_acquire) or gives it
    /// on (decline).
    std::shared_ptr<waiter> join(std::function<void()> handed);
    /// Takes a place: one handed to `w` first, else a free one while nobody waits. When there
    /// is none, false, and `w` (if given) waits in line for the next place given back.
    bool try_acquire(waiter* w = nullptr);
    /// Gives a place back: to the first waiter in line (calling its `handed`), else free.
    void release();
    /// Gives on the places handed to `w` that it did not take (it had nothing to run).
    void decline(waiter& w);

private:
    struct state;
    std::shared_ptr<state> s_;
};

}  // namespace drover
