#pragma once
/// @file
/// A cap on running tasks shared by several runs: the jobs of a `drover serve` (Airflow's
/// pools), or several schedulers of one process. A task whose `pool` names it takes a place
/// here for each attempt it runs, besides any limit its own run's `pools` set.

#include <drover/export.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace drover {

/// Thread-safe. Schedulers hold it by shared_ptr (scheduler_options::shared_pools).
class DROVER_API shared_pool {
public:
    /// Throws config_error for an empty name or a limit of 0.
    shared_pool(std::string name, std::size_t limit);
    ~shared_pool();
    shared_pool(const shared_pool&) = delete;
    shared_pool& operator=(const shared_pool&) = delete;

    const std::string& name() const noexcept;
    std::size_t limit() const noexcept;
    /// Places taken now (attempts running in the pool, over every run that uses it).
    std::size_t in_use() const;

    // ---- what a scheduler calls ----
    /// Takes a place; false when all are taken.
    bool try_acquire();
    /// Gives a place back, then calls every waiter (on this thread).
    void release();
    /// `wake` is called after each release() until the returned handle is destroyed; it must
    /// not call back into this pool while it runs (post the work elsewhere).
    std::shared_ptr<void> on_release(std::function<void()> wake);

private:
    struct state;
    std::shared_ptr<state> s_;
};

}  // namespace drover
