// Straggler speculation, the dispatcher's part: it knows when attempts started and what they
// are expected to take (straggler.hpp), and asks the machine for a backup of the most overdue
// attempts on every tick of a timer (run_machine::speculate decides whether a slot is idle).

#include "scheduler/dispatcher.hpp"

#include <drover/duration.hpp>

#include <fmt/format.h>

namespace drover::detail {

namespace asio = boost::asio;

namespace {
// How often running attempts are checked (Spark's spark.speculation.interval).
constexpr auto speculation_interval = std::chrono::milliseconds(100);
}  // namespace

void dispatcher::watch_started(std::uint32_t task, std::uint32_t slot, const task_spec& spec, const executor& ex) {
    std::uint32_t own = task < own_ms_.size() ? own_ms_[task] : 0;
    std::uint32_t by_template = estimates_.empty() ? 0 : estimates_.of(spec);
    watch_->started(slot, template_hash(spec), own, by_template, straggler_watch::clock::now());
    auto twin = machine_->twin_of(slot);
    if (twin == no_task) return;
    // A backup: say why, where observers look (the CLI prints executor events).
    auto ran = std::chrono::duration_cast<duration>(straggler_watch::clock::now() - watch_->started_at(twin));
    auto msg = fmt::format("task {}: backup attempt {} of a straggler (its running attempt took {} so far, {} expected)",
                           spec.id, machine_->attempts(task), format_duration(ran),
                           format_duration(duration(watch_->expected_ms(twin))));
    for (auto* o : cfg_.observers) o->on_executor_event(ex.name(), msg);
}

void dispatcher::arm_speculation_timer() {
    speculation_timer_.expires_after(speculation_interval);
    speculation_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec || self->finished_) return;
        self->on_speculation_timer();
    });
}

void dispatcher::on_speculation_timer() {
    if (machine_->started() && !machine_->stopping()) {
        for (auto slot : watch_->overdue(straggler_watch::clock::now())) {
            auto task = machine_->task_of(slot);
            // The machine says which may get a backup; no_slot for one task's pool may leave
            // room for another's: go on.
            if (task != no_task) machine_->speculate(task, cfg_.opts.speculation.before_queued);
            if (finished_) return;
        }
        check_journal();
    }
    if (!finished_) arm_speculation_timer();
}

}  // namespace drover::detail
