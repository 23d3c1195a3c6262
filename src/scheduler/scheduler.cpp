#include <drover/error.hpp>
#include <drover/executors/local.hpp>
#include <drover/scheduler.hpp>
#include <drover/sinks/file.hpp>

#include "detail/complete.hpp"
#include "scheduler/dag.hpp"
#include "scheduler/dispatcher.hpp"
#include "scheduler/task_store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <limits>
#include <mutex>

namespace drover {

namespace asio = boost::asio;

struct scheduler::impl {
    scheduler_options opts;
    std::vector<std::shared_ptr<executor>> executors;
    std::shared_ptr<sink> output;
    std::vector<observer*> observers;
    detail::task_store tasks;  // compact: see task_store.hpp
    bool used = false;

    std::mutex mutex;  // guards active and cancel_requested
    std::weak_ptr<detail::dispatcher> active;
    bool cancel_requested = false;
};

scheduler::scheduler(scheduler_options opts) : impl_(std::make_unique<impl>()) { impl_->opts = std::move(opts); }
scheduler::~scheduler() = default;
scheduler::scheduler(scheduler&&) noexcept = default;
scheduler& scheduler::operator=(scheduler&&) noexcept = default;

const scheduler_options& scheduler::options() const noexcept { return impl_->opts; }

void scheduler::add_executor(std::shared_ptr<executor> ex) {
    if (!ex) throw config_error("add_executor: null executor");
    if (ex->slots() == 0) throw config_error("executor '" + ex->name() + "' has no slots");
    impl_->executors.push_back(std::move(ex));
}

void scheduler::set_sink(std::shared_ptr<sink> s) {
    if (!s) throw config_error("set_sink: null sink");
    impl_->output = std::move(s);
}

void scheduler::add_observer(observer& o) { impl_->observers.push_back(&o); }

void scheduler::submit(task_spec t) {
    if (!valid_task_id(t.id))
        throw config_error("task id '" + t.id +
                           "' is invalid: use letters, digits, '.', '_', '-', '=' (not first: '.', '-')");
    if (t.command.empty()) throw config_error("task '" + t.id + "': empty command");
    if (t.retries < 0) throw config_error("task '" + t.id + "': retries must be >= 0");
    if (!t.pool.empty() && !impl_->opts.pools.contains(t.pool))
        throw config_error("task '" + t.id + "': unknown pool '" + t.pool + "'");
    if (impl_->tasks.find(t.id) >= 0) throw config_error("duplicate task id '" + t.id + "'");
    if (impl_->tasks.size() >= std::numeric_limits<std::uint32_t>::max() - 1)
        throw config_error("too many tasks (at most 4,294,967,293)");
    impl_->tasks.add(t);
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
    if (m.used) {
        detail::complete_later(ex, std::move(h), std::make_exception_ptr(error("a scheduler runs only once")),
                               run_summary{});
        return;
    }
    m.used = true;
    for (auto& [name, size] : m.opts.pools)
        if (size == 0) throw config_error("pool '" + name + "' has size 0");
    if (m.executors.empty()) m.executors.push_back(std::make_shared<local_executor>());
    if (!m.output) {
        file_sink_options o;
        o.root = m.opts.state_dir / "output";
        m.output = std::make_shared<file_sink>(std::move(o));
    }

    // Unknown ids, globs matching nothing and cycles are config errors before anything runs.
    detail::task_list list;
    list.size = m.tasks.size();
    list.id = [&m](std::uint32_t i) { return m.tasks.id(i); };
    list.has_after = [&m](std::uint32_t i) { return m.tasks.has_after(i); };
    list.after = [&m](std::uint32_t i) { return m.tasks.after(i); };
    list.find = [&m](std::string_view id) { return m.tasks.find(id); };
    auto graph = detail::build_task_graph(list);
    detail::run_config cfg{m.opts, m.executors, m.output, m.observers, &m.tasks, false, std::move(graph)};
    auto strand = asio::make_strand(ex);
    std::shared_ptr<detail::dispatcher> d;
    {
        std::lock_guard lock(m.mutex);
        cfg.start_cancelled = m.cancel_requested;
        d = std::make_shared<detail::dispatcher>(strand, std::move(cfg), std::move(h));
        m.active = d;
    }
    asio::post(strand, [d] { d->start(); });
}

run_summary scheduler::run() {
    asio::io_context ctx;
    std::exception_ptr err;
    run_summary out;
    async_run(ctx.get_executor(), [&](std::exception_ptr e, run_summary s) {
        err = e;
        out = std::move(s);
    });
    ctx.run();
    if (err) std::rethrow_exception(err);
    return out;
}

}  // namespace drover
