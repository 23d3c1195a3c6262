// run(progress=True) and the callbacks: a tqdm bar (tqdm.auto, a widget in notebooks) and
// user functions, all called on the Python thread that called run(), with the GIL held.

#include "bind.hpp"

namespace drover::python {

namespace {
bool truthy(const py::object& o) { return o && !o.is_none() && PyObject_IsTrue(o.ptr()) == 1; }
bool callable(const py::object& o) { return o && !o.is_none(); }
}  // namespace

python_progress::python_progress(const run_request& req) : req_(req) {
    for (auto* cb : {&req.on_progress, &req.on_task_started, &req.on_task_finished, &req.on_executor_event,
                     &req.on_host_changed})
        if (callable(*cb) && !PyCallable_Check(cb->ptr()))
            throw py::type_error("run(): callbacks must be callable, got " + py::repr(*cb).cast<std::string>());
    if (truthy(req.progress) && !py::isinstance<py::bool_>(req.progress) && !py::isinstance<py::dict>(req.progress))
        throw py::type_error("run(): progress must be True, False or a dict of tqdm keyword arguments");
    if (truthy(req.progress)) {
        try {
            py::module_::import("tqdm.auto");
        } catch (py::error_already_set& e) {
            if (!e.matches(PyExc_ImportError)) throw;
            PyErr_SetString(PyExc_ImportError, "run(progress=True) needs tqdm (Debian: apt-get install python3-tqdm)");
            throw py::error_already_set();
        }
    }
}

bool python_progress::wants_task_events() const noexcept {
    return truthy(req_.progress) || callable(req_.on_task_started) || callable(req_.on_task_finished);
}
bool python_progress::wants_executor_events() const noexcept {
    return truthy(req_.progress) || callable(req_.on_executor_event);
}

void python_progress::run_started(const progress& p) {
    if (truthy(req_.progress)) {
        py::dict kw;
        kw["total"] = p.total;
        kw["unit"] = "task";
        kw["desc"] = "drover";
        if (py::isinstance<py::dict>(req_.progress))
            for (auto [k, v] : py::reinterpret_borrow<py::dict>(req_.progress)) kw[k] = v;
        bar_ = py::module_::import("tqdm.auto").attr("tqdm")(**kw);
    }
    if (callable(req_.on_progress)) req_.on_progress(p);
}

void python_progress::task_started(const task_spec& t, int attempt, const std::string& executor) {
    if (callable(req_.on_task_started)) req_.on_task_started(t, attempt, executor);
}

void python_progress::task_finished(const task_spec& t, const attempt_outcome& o, task_state next) {
    // Like the CLI: retries and dead tasks get a line above the bar; successes only move it.
    if (bar_ && (next == task_state::retry_wait || next == task_state::dead)) {
        std::string line = (next == task_state::retry_wait ? "retry  " + t.id + " attempt " : "dead   " + t.id + " after ");
        line += std::to_string(o.attempt) + (next == task_state::retry_wait ? " failed: " : " attempt(s): ") + o.message;
        bar_.attr("write")(line);
    }
    if (callable(req_.on_task_finished)) req_.on_task_finished(t, outcome_to_dict(o), std::string(to_string(next)));
}

void python_progress::executor_event(const std::string& executor, const std::string& message) {
    if (bar_) bar_.attr("write")(executor + ": " + message);
    if (callable(req_.on_executor_event)) req_.on_executor_event(executor, message);
}

bool python_progress::wants_host_events() const noexcept { return callable(req_.on_host_changed); }

void python_progress::host_changed(const std::string& executor, const host_info& h, bool left) {
    if (callable(req_.on_host_changed)) req_.on_host_changed(executor, host_to_dict(h), left);
}

void python_progress::progress_changed(const progress& p) {
    if (bar_) {
        bar_.attr("n") = p.finished();
        std::string post = "running " + std::to_string(p.running);
        if (p.retry_wait) post += ", retrying " + std::to_string(p.retry_wait);
        if (p.dead) post += ", dead " + std::to_string(p.dead);
        if (p.upstream_failed) post += ", upstream-failed " + std::to_string(p.upstream_failed);
        if (p.resumed) post += ", resumed " + std::to_string(p.resumed);
        if (p.skipped) post += ", skipped " + std::to_string(p.skipped);
        bar_.attr("set_postfix_str")(post, py::arg("refresh") = false);
        bar_.attr("refresh")();
    }
    if (callable(req_.on_progress)) req_.on_progress(p);
}

void python_progress::run_finished(const progress& p) {
    if (bar_) {
        bar_.attr("n") = p.finished();
        bar_.attr("refresh")();
    }
    close();
}

void python_progress::close() noexcept {
    if (!bar_) return;
    py::object bar = std::move(bar_);
    bar_ = py::object();
    try {
        bar.attr("close")();
    } catch (py::error_already_set&) {
        // Closing a bar must not hide the run's own outcome.
    }
}

}  // namespace drover::python
