// Job files from Python: load_job / parse_job, the Job they return, make_scheduler.

#include "bind.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace drover::python {

namespace {

// What the kind shows of an entry (kinds::describe), with its kind first.
py::object executor_config_dict(const job& j, const executor_config& c) {
    boost::json::object o;
    o["kind"] = c.kind;
    j.kinds.describe(c, o);
    return to_python(boost::json::value(std::move(o)));
}

py::object sink_config_dict(const job& j) {
    if (!j.sink) return py::none();
    boost::json::object o;
    o["kind"] = j.sink->kind;
    j.kinds.describe(*j.sink, o);
    return to_python(boost::json::value(std::move(o)));
}

py_scheduler scheduler_for(const job& j, const std::optional<std::string>& state_dir, bool retry_dead, bool fresh) {
    py_scheduler s;
    s.sched = std::make_unique<scheduler>(make_scheduler(j));
    auto& o = s.sched->options();
    if (state_dir) o.state_dir = *state_dir;
    o.journal.retry_dead = retry_dead;
    o.journal.fresh = fresh;
    s.executors = j.executors.size();
    s.has_sink = j.sink.has_value();
    return s;
}

}  // namespace

void bind_job(py::module_& m) {
    py::class_<job>(m, "Job", R"doc(
A parsed, validated job file with its tasks expanded (foreach) and templated.

    job = drover.load_job("examples/jobs/hello.toml")
    len(job.tasks), job.tasks[0].params
    summary = job.run(progress=True)          # or job.make_scheduler() to add more

name, source, state_dir, executors (list of dicts), sink (dict or None), tasks (TaskSpec list)
)doc")
        .def_readonly("name", &job::name)
        .def_property_readonly("source", [](const job& j) { return j.source.string(); }, "The file it came from.")
        .def_property(
            "state_dir", [](const job& j) { return j.options.state_dir.string(); },
            [](job& j, const std::string& v) { j.options.state_dir = v; },
            "Where run state goes; assign to override (like `drover run --state`).")
        .def_property_readonly("executors", [](const job& j) {
            py::list out;
            for (auto& e : j.executors) out.append(executor_config_dict(j, e));
            return out;
        })
        .def_property_readonly("sink", [](const job& j) { return sink_config_dict(j); })
        .def_property_readonly("pools", [](const job& j) { return j.options.pools; })
        .def_property_readonly("halt", [](const job& j) { return j.options.halt; })
        .def_property_readonly(
            "limits",
            [](const job& j) {
                py::dict d;
                d["stderr_log_bytes"] = j.options.limits.stderr_log_bytes;
                d["bad_record_bytes"] = j.options.limits.bad_record_bytes;
                d["max_bad_records"] = j.options.limits.max_bad_records;
                return d;
            },
            "The [limits] table: what is kept of each attempt's stderr and bad lines.")
        .def_readonly("tasks", &job::tasks)
        .def("make_scheduler", &scheduler_for, py::kw_only(), py::arg("state_dir") = py::none(),
             py::arg("retry_dead") = false, py::arg("fresh") = false,
             "A Scheduler set up with the job's options, executors, sink and tasks (submit more before or "
             "during run()). Its journal is on: a run resumes the state directory's earlier runs.")
        .def(
            "run",
            [](const job& j, std::optional<std::string> state_dir, bool retry_dead, bool fresh, py::object progress,
               py::object on_progress, py::object on_task_started, py::object on_task_finished,
               py::object on_executor_event, py::object on_host_changed) {
                auto s = scheduler_for(j, state_dir, retry_dead, fresh);
                return run_blocking(s, run_request_from(progress, on_progress, on_task_started, on_task_finished,
                                                        on_executor_event, on_host_changed));
            },
            py::kw_only(), py::arg("state_dir") = py::none(), py::arg("retry_dead") = false, py::arg("fresh") = false,
            py::arg("progress") = false, py::arg("on_progress") = py::none(), py::arg("on_task_started") = py::none(),
            py::arg("on_task_finished") = py::none(), py::arg("on_executor_event") = py::none(), py::arg("on_host_changed") = py::none(),
            "make_scheduler(state_dir=..., retry_dead=..., fresh=...).run(...): what `drover run JOB.toml "
            "[--state DIR] [--retry-dead] [--fresh]` does, resuming like it. See Scheduler.run.")
        .def("__repr__", [](const job& j) {
            return "Job(" + py::repr(py::str(j.name)).cast<std::string>() + ", " + std::to_string(j.tasks.size()) +
                   " task(s), source=" + py::repr(py::str(j.source.string())).cast<std::string>() + ")";
        });

    m.def(
        "load_job", [](const std::string& path) { return load_job(path); }, py::arg("path"),
        "Reads and validates a job file. Raises ConfigError ('file:line:column: key: problem').");
    m.def(
        "parse_job", [](std::string_view text, const std::string& source_name) { return parse_job(text, source_name); },
        py::arg("text"), py::arg("source_name") = "<string>",
          "Same as load_job, from TOML text; source_name is used in error messages.");
    m.def("make_scheduler", &scheduler_for, py::arg("job"), py::kw_only(), py::arg("state_dir") = py::none(),
          py::arg("retry_dead") = false, py::arg("fresh") = false,
          "A Scheduler set up from a Job (the same as job.make_scheduler()).");
    m.def(
        "parse_duration", [](std::string_view text) { return seconds(parse_duration(text)); }, py::arg("text"),
        "Seconds (float) from a job-file duration: '250ms', '30s', '1h30m', '2d'. Raises ConfigError.");
}

}  // namespace drover::python
