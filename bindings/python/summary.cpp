// Progress snapshots and RunSummary: counts, per-task results as dicts, to_pandas().

#include "bind.hpp"

namespace drover::python {

namespace {

std::string s(std::string_view v) { return std::string(v); }

// What tasks print is bytes: what is not UTF-8 reads as U+FFFD (Python's "replace") instead
// of raising UnicodeDecodeError when a summary or an outcome is read.
py::str text(const std::string& v) {
    PyObject* o = PyUnicode_DecodeUTF8(v.data(), static_cast<Py_ssize_t>(v.size()), "replace");
    if (!o) throw py::error_already_set();
    return py::reinterpret_steal<py::str>(o);
}

py::list lines(const std::vector<std::string>& v) {
    py::list out;
    for (const auto& l : v) out.append(text(l));
    return out;
}

py::dict task_result_dict(const task_result& t, const std::map<std::string, std::string>* params) {
    py::dict d;
    d["id"] = t.id;
    d["state"] = s(to_string(t.state));
    d["ok"] = t.state == task_state::succeeded;
    d["attempts"] = t.attempts;
    d["failure"] = s(to_string(t.last.failure));
    d["exit_code"] = t.last.exit_code;
    d["signal"] = t.last.signal;
    d["message"] = text(t.last.message);
    d["executor"] = t.last.executor;
    d["records"] = t.last.records;
    d["bad_records"] = t.last.bad_records;
    d["elapsed"] = seconds(t.last.elapsed);
    d["stderr_tail"] = lines(t.last.stderr_tail);
    d["resumed"] = t.resumed;
    d["params"] = params ? py::cast(*params) : py::dict();
    return d;
}

py::list task_results(const py_run_summary& r) {
    py::list out;
    for (std::size_t i = 0; i < r.summary.tasks.size(); ++i)
        out.append(task_result_dict(r.summary.tasks[i], i < r.params.size() ? &r.params[i] : nullptr));
    return out;
}

py::dict summary_dict(const py_run_summary& r) {
    const auto& x = r.summary;
    py::dict d;
    d["run_id"] = x.run_id;
    d["ok"] = x.ok();
    d["exit_code"] = x.exit_code();
    d["cancelled"] = x.cancelled;
    d["halted"] = x.halted;
    d["halt_reason"] = x.halt_reason;
    d["run_dir"] = x.run_dir.string();
    d["output"] = x.output;
    d["counts"] = progress_to_dict(x.counts);
    d["elapsed"] = seconds(x.counts.elapsed);
    d["tasks"] = task_results(r);
    return d;
}

// One row per task; each param becomes a column of its own (prefixed "param_" when its
// name is already a column), so results join naturally with read_output() on e.g. date.
py::object summary_to_pandas(const py_run_summary& r) {
    auto pd = import_pandas("RunSummary.to_pandas()");
    py::list rows = task_results(r);
    py::list flat;
    for (auto row : rows) {
        py::dict d = py::reinterpret_borrow<py::dict>(row);
        py::dict params = d["params"];
        PyDict_DelItemString(d.ptr(), "params");
        for (auto [k, v] : params) {
            py::str key = py::reinterpret_borrow<py::str>(k);
            if (d.contains(key)) key = py::str("param_") + key;
            d[key] = v;
        }
        flat.append(d);
    }
    py::list columns;
    for (const char* c : {"id", "state", "ok", "attempts", "failure", "exit_code", "signal", "message", "executor",
                          "records", "bad_records", "elapsed", "stderr_tail", "resumed"})
        columns.append(c);
    if (flat.empty()) return pd.attr("DataFrame")(py::arg("columns") = columns);
    return pd.attr("DataFrame")(flat);
}

}  // namespace

py::dict progress_to_dict(const progress& p) {
    py::dict d;
    d["total"] = p.total;
    d["pending"] = p.pending;
    d["running"] = p.running;
    d["retry_wait"] = p.retry_wait;
    d["succeeded"] = p.succeeded;
    d["dead"] = p.dead;
    d["skipped"] = p.skipped;
    d["upstream_failed"] = p.upstream_failed;
    d["cancelled"] = p.cancelled;
    d["resumed"] = p.resumed;
    d["backups"] = p.backups;
    d["resumed_dead"] = p.resumed_dead;
    d["committing"] = p.committing;
    d["finished"] = p.finished();
    d["ran"] = p.ran();
    d["records"] = p.records;
    d["bad_records"] = p.bad_records;
    d["elapsed"] = seconds(p.elapsed);
    return d;
}

py::dict outcome_to_dict(const attempt_outcome& o) {
    py::dict d;
    d["attempt"] = o.attempt;
    d["ok"] = o.ok();
    d["failure"] = s(to_string(o.failure));
    d["exit_code"] = o.exit_code;
    d["signal"] = o.signal;
    d["message"] = text(o.message);
    d["executor"] = o.executor;
    d["stderr_tail"] = lines(o.stderr_tail);
    d["records"] = o.records;
    d["bad_records"] = o.bad_records;
    d["elapsed"] = seconds(o.elapsed);
    return d;
}

void bind_summary(py::module_& m) {
    py::class_<progress>(m, "Progress", "Counts at one moment of a run (what on_progress callbacks get).")
        .def_readonly("total", &progress::total)
        .def_readonly("pending", &progress::pending, "Tasks not started yet (including ready ones).")
        .def_readonly("running", &progress::running)
        .def_readonly("retry_wait", &progress::retry_wait, "Tasks waiting out a retry backoff.")
        .def_readonly("succeeded", &progress::succeeded)
        .def_readonly("dead", &progress::dead)
        .def_readonly("skipped", &progress::skipped, "Never finished: the run was cancelled or halted.")
        .def_readonly("upstream_failed", &progress::upstream_failed,
                      "Not run: a task they come after (or a task it fanned out) failed.")
        .def_readonly("cancelled", &progress::cancelled, "Cancelled one by one (Scheduler.cancel_task).")
        .def_readonly("resumed", &progress::resumed,
                      "Succeeded in an earlier run of the journal (counted in succeeded, not run again).")
        .def_readonly("backups", &progress::backups, "Backup attempts started for stragglers (speculation).")
        .def_readonly("resumed_dead", &progress::resumed_dead,
                      "Dead in an earlier run of the journal (counted in dead, not run again).")
        .def_readonly("committing", &progress::committing,
                      "Of running: tasks whose process ended and whose output is being committed "
                      "(their slots already run other tasks).")
        .def_readonly("records", &progress::records, "Committed records.")
        .def_readonly("bad_records", &progress::bad_records, "Non-JSON lines tasks printed (kept aside).")
        .def_property_readonly("finished", &progress::finished,
                               "succeeded + dead + skipped + upstream_failed + cancelled.")
        .def_property_readonly("ran", &progress::ran,
                               "Tasks this run took to an end by running them: succeeded or dead, not resumed.")
        .def_property_readonly("elapsed", [](const progress& p) { return seconds(p.elapsed); }, "Seconds.")
        .def("to_dict", &progress_to_dict)
        .def("__repr__", [](const progress& p) {
            return "Progress(" + std::to_string(p.finished()) + "/" + std::to_string(p.total) + " finished, " +
                   std::to_string(p.running) + " running, " + std::to_string(p.dead) + " dead)";
        });

    py::class_<py_run_summary, std::shared_ptr<py_run_summary>>(m, "RunSummary", R"doc(
What run() returns.

ok / exit_code     exit_code follows the CLI: 0 all succeeded, 1 some dead or skipped, 130 cancelled
counts             a Progress with the final counts; succeeded/dead/... are shortcuts
elapsed            seconds
tasks              per-task results, a list of dicts in submission order: id, state, ok,
                   attempts, failure, exit_code, signal, message, executor, records,
                   bad_records, elapsed, stderr_tail (of the last attempt), resumed, params
to_pandas()        the same as a DataFrame, one column per param (needs pandas)
to_dict() / to_json()
)doc")
        .def_property_readonly("run_id", [](const py_run_summary& r) { return r.summary.run_id; })
        .def_property_readonly("ok", [](const py_run_summary& r) { return r.summary.ok(); },
                               "True when every task succeeded and the run was not cancelled.")
        .def_property_readonly("exit_code", [](const py_run_summary& r) { return r.summary.exit_code(); })
        .def_property_readonly("cancelled", [](const py_run_summary& r) { return r.summary.cancelled; })
        .def_property_readonly("halted", [](const py_run_summary& r) { return r.summary.halted; },
                               "Dispatching stopped early: the halt policy, or the sink refused commits.")
        .def_property_readonly("halt_reason", [](const py_run_summary& r) { return r.summary.halt_reason; },
                               "Why the run halted (\"\" when it did not).")
        .def_property_readonly("run_dir", [](const py_run_summary& r) { return r.summary.run_dir.string(); },
                               "Logs, dead letters and bad records of this run.")
        .def_property_readonly("output", [](const py_run_summary& r) { return r.summary.output; },
                               "Where the sink put records.")
        .def_property_readonly("counts", [](const py_run_summary& r) { return r.summary.counts; })
        .def_property_readonly("elapsed", [](const py_run_summary& r) { return seconds(r.summary.counts.elapsed); })
        .def_property_readonly("total", [](const py_run_summary& r) { return r.summary.counts.total; })
        .def_property_readonly("succeeded", [](const py_run_summary& r) { return r.summary.counts.succeeded; })
        .def_property_readonly("dead", [](const py_run_summary& r) { return r.summary.counts.dead; })
        .def_property_readonly("skipped", [](const py_run_summary& r) { return r.summary.counts.skipped; })
        .def_property_readonly("upstream_failed",
                               [](const py_run_summary& r) { return r.summary.counts.upstream_failed; })
        .def_property_readonly("cancelled_tasks", [](const py_run_summary& r) { return r.summary.counts.cancelled; },
                               "Tasks cancelled one by one (`cancelled` says whether the run was).")
        .def_property_readonly("resumed", [](const py_run_summary& r) { return r.summary.counts.resumed; },
                               "Tasks that succeeded in an earlier run of the journal and did not run again.")
        .def_property_readonly("records", [](const py_run_summary& r) { return r.summary.counts.records; })
        .def_property_readonly("tasks", &task_results, "Per-task results: a list of dicts.")
        .def("to_dict", &summary_dict)
        .def("to_json", [](const py_run_summary& r) { return to_json(r.summary); },
             "The summary as JSON, the same as `drover run --json` prints.")
        .def("to_pandas", &summary_to_pandas, "Per-task results as a pandas DataFrame.")
        .def("__repr__", [](const py_run_summary& r) {
            const auto& c = r.summary.counts;
            return "RunSummary(" + std::to_string(c.succeeded) + "/" + std::to_string(c.total) + " succeeded, " +
                   std::to_string(c.dead) + " dead, " + std::to_string(c.skipped) + " skipped, " +
                   std::to_string(c.records) + " records, " +
                   py::repr(py::float_(seconds(c.elapsed))).cast<std::string>() + "s" +
                   (r.summary.cancelled ? ", cancelled" : "") + (r.summary.halted ? ", halted" : "") + ")";
        });
}

}  // namespace drover::python
