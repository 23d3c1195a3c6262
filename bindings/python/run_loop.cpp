// Scheduler.run(): the scheduler works on a C++ thread of its own while the calling Python
// thread waits without the GIL, in slices. Between slices it takes the GIL to deliver
// observer events (tqdm, callbacks) and to check for signals, so Ctrl-C / a notebook
// interrupt cancels the run cleanly — running children killed, staged output discarded —
// and KeyboardInterrupt is raised once the run has ended.
//
// The scheduler thread never takes the GIL: observer hooks only queue events. So Python
// code (callbacks, other threads holding the GIL) can never stall the scheduler's strand
// or deadlock with the waiting thread, and callbacks run on the caller's thread, where
// notebooks expect widget updates and where their exceptions can propagate.

#include "bind.hpp"

#include <boost/asio/io_context.hpp>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

namespace drover::python {

namespace {

constexpr auto wait_slice = std::chrono::milliseconds(50);

struct run_event {
    enum kind_t { run_started, task_started, task_finished, executor_event, host_changed, progress_changed, run_finished } kind;
    std::shared_ptr<const task_spec> task;  // a copy: the hook's reference is valid only during the call
    int attempt = 0;
    std::string executor, message;
    attempt_outcome outcome;
    task_state next = task_state::pending;
    progress counts;
    std::shared_ptr<const host_info> host;
    bool left = false;
};

// Lives on the waiting thread's stack; observer calls come from the scheduler thread.
class event_queue final : public observer {
public:
    event_queue(bool task_events, bool executor_events, bool host_events)
        : task_events_(task_events), executor_events_(executor_events), host_events_(host_events) {}

    void on_run_started(const progress& p) override { push({.kind = run_event::run_started, .counts = p}); }
    void on_task_started(const task_spec& t, int attempt, std::string_view ex) override {
        if (task_events_)
            push({.kind = run_event::task_started, .task = std::make_shared<const task_spec>(t), .attempt = attempt, .executor = std::string(ex)});
    }
    void on_task_finished(const task_spec& t, const attempt_outcome& o, task_state next) override {
        if (task_events_) push({.kind = run_event::task_finished, .task = std::make_shared<const task_spec>(t), .outcome = o, .next = next});
    }
    void on_executor_event(std::string_view ex, std::string_view msg) override {
        if (executor_events_)
            push({.kind = run_event::executor_event, .executor = std::string(ex), .message = std::string(msg)});
    }
    void on_host_changed(std::string_view ex, const host_info& h, bool left) override {
        if (host_events_)
            push({.kind = run_event::host_changed, .executor = std::string(ex), .host = std::make_shared<const host_info>(h), .left = left});
    }
    void on_progress(const progress& p) override {
        std::lock_guard lock(mu);
        // A slow consumer sees the newest counts, not a backlog of stale ones.
        if (!events.empty() && events.back().kind == run_event::progress_changed)
            events.back().counts = p;
        else
            events.push_back({.kind = run_event::progress_changed, .counts = p});
        cv.notify_one();
    }
    void on_run_finished(const run_summary& s) override { push({.kind = run_event::run_finished, .counts = s.counts}); }

    void complete(std::exception_ptr e, run_summary s) {
        std::lock_guard lock(mu);
        if (!done) {
            error = e;
            summary = std::move(s);
            done = true;
        }
        cv.notify_one();
    }

    std::mutex mu;
    std::condition_variable cv;
    std::deque<run_event> events;
    bool done = false;
    std::exception_ptr error;
    run_summary summary;

private:
    void push(run_event e) {
        std::lock_guard lock(mu);
        events.push_back(std::move(e));
        cv.notify_one();
    }
    bool task_events_, executor_events_, host_events_;
};

void deliver(python_progress& prog, const run_event& e) {
    switch (e.kind) {
    case run_event::run_started: prog.run_started(e.counts); break;
    case run_event::task_started: prog.task_started(*e.task, e.attempt, e.executor); break;
    case run_event::task_finished: prog.task_finished(*e.task, e.outcome, e.next); break;
    case run_event::executor_event: prog.executor_event(e.executor, e.message); break;
    case run_event::host_changed: prog.host_changed(e.executor, *e.host, e.left); break;
    case run_event::progress_changed: prog.progress_changed(e.counts); break;
    case run_event::run_finished: prog.run_finished(e.counts); break;
    }
}

// Joins the scheduler thread on every way out (cancelling first if the run is still on),
// without the GIL: the thread may be finishing work that ends in our queue.
struct worker_guard {
    scheduler& sched;
    std::thread thread;
    ~worker_guard() {
        if (!thread.joinable()) return;
        sched.cancel();
        py::gil_scoped_release nogil;
        thread.join();
    }
};

}  // namespace

run_request run_request_from(py::object progress, py::object on_progress, py::object on_task_started,
                             py::object on_task_finished, py::object on_executor_event, py::object on_host_changed) {
    return {std::move(progress), std::move(on_progress), std::move(on_task_started), std::move(on_task_finished),
            std::move(on_executor_event), std::move(on_host_changed)};
}

std::shared_ptr<py_run_summary> run_blocking(py_scheduler& s, const run_request& req) {
    if (s.running) throw error("this scheduler is already running");
    python_progress prog(req);
    event_queue queue(prog.wants_task_events(), prog.wants_executor_events(), prog.wants_host_events());
    s.sched->add_observer(queue);
    struct observer_registration {  // also when async_run throws: the queue dies with this call
        scheduler& sched;
        observer& o;
        ~observer_registration() { sched.remove_observer(o); }
    } registration{*s.sched, queue};

    boost::asio::io_context ctx;
    s.sched->async_run(ctx.get_executor(),
                       [&queue](std::exception_ptr e, run_summary sum) { queue.complete(e, std::move(sum)); });
    s.running = true;
    struct running_flag {
        bool& b;
        ~running_flag() { b = false; }
    } flag{s.running};

    worker_guard worker{*s.sched, std::thread([&ctx, &queue] {
                            try {
                                ctx.run();
                            } catch (...) {
                                queue.complete(std::current_exception(), {});
                            }
                        })};

    std::exception_ptr pending;  // the first Python exception (KeyboardInterrupt, a callback's)
    auto stop_with = [&](std::exception_ptr e) {
        if (pending) return;
        pending = e;
        s.sched->cancel();
        prog.close();
    };
    bool done = false;
    while (!done) {
        std::deque<run_event> batch;
        {
            py::gil_scoped_release nogil;
            std::unique_lock lock(queue.mu);
            queue.cv.wait_for(lock, wait_slice, [&] { return queue.done || !queue.events.empty(); });
            batch.swap(queue.events);
            done = queue.done;
        }
        for (auto& e : batch) {
            if (pending) break;  // the run is being cancelled: no more callbacks
            try {
                deliver(prog, e);
            } catch (...) {
                stop_with(std::current_exception());
            }
        }
        if (PyErr_CheckSignals() != 0) {
            if (pending) {
                PyErr_Clear();  // a second Ctrl-C while children are being killed: keep cleaning up
            } else {
                try {
                    throw py::error_already_set();
                } catch (...) {
                    stop_with(std::current_exception());
                }
            }
        }
    }
    {
        py::gil_scoped_release nogil;
        worker.thread.join();
    }
    prog.close();

    if (queue.error && !pending) std::rethrow_exception(queue.error);
    auto out = std::make_shared<py_run_summary>();
    out->summary = std::move(queue.summary);
    out->params.reserve(out->summary.tasks.size());
    for (const auto& t : out->summary.tasks) {
        auto spec = s.sched->find_task(t.id);
        out->params.push_back(spec ? std::move(spec->params) : std::map<std::string, std::string>{});
    }
    s.last = out;
    if (pending) {
        // The KeyboardInterrupt (or the callback's exception) carries what happened, also for
        // Job.run() whose scheduler the caller never sees.
        try {
            std::rethrow_exception(pending);
        } catch (py::error_already_set& e) {
            if (PyObject_SetAttrString(e.value().ptr(), "summary", py::cast(out).ptr()) != 0) PyErr_Clear();
            throw;
        }
    }
    return out;
}

}  // namespace drover::python
