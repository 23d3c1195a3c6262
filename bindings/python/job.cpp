// Job files from Python: load_job / parse_job, the Job they return, make_scheduler.

#include "bind.hpp"

namespace drover::python {

namespace {

py::dict executor_config_dict(const executor_config& c) {
    py::dict d;
    d["kind"] = c.kind;
    if (c.kind == "local") {
        d["slots"] = c.local.slots;
        d["kill_grace"] = seconds(c.local.kill_grace);
        d["max_line_bytes"] = c.local.max_line_bytes;
        d["hold_stdin"] = c.local.hold_stdin;
        d["kill_leftovers"] = c.local.kill_leftovers;
    } else if (c.kind == "ssh") {
        d["hosts"] = c.ssh.hosts;
        d["slots_per_host"] = c.ssh.slots_per_host;
        d["identity"] = c.ssh.identity;
        d["ssh_options"] = c.ssh.ssh_options;
        d["config_file"] = c.ssh.config_file;
        d["workdir"] = c.ssh.workdir;
        d["accept_new_host_keys"] = c.ssh.accept_new_host_keys;
        d["connect_timeout"] = seconds(c.ssh.connect_timeout);
        d["kill_grace"] = seconds(c.ssh.kill_grace);
    } else if (c.kind == "docker") {
        d["hosts"] = c.docker.hosts;
        d["slots_per_host"] = c.docker.slots_per_host;
        d["tls"] = c.docker.tls.enabled;
        d["default_image"] = c.docker.default_image;
        d["connect_timeout"] = seconds(c.docker.connect_timeout);
        d["request_timeout"] = seconds(c.docker.request_timeout);
        d["down_timeout"] = seconds(c.docker.down_timeout);
    }
    return d;
}

py::object sink_config_dict(const std::optional<sink_config>& s) {
    if (!s) return py::none();
    py::dict d;
    d["kind"] = s->kind;
    if (s->kind == "file") {
        d["root"] = s->file.root.string();
        d["partition"] = s->file.partition;
        d["max_records"] = s->file.max_records;
        d["max_bytes"] = s->file.max_bytes;
        d["compression_level"] = s->file.compression_level;
        d["fsync"] = s->file.fsync;
    } else if (s->kind == "s3") {
        // Where the output goes, never the credentials.
        d["url"] = s->s3.url;
        d["endpoint"] = s->s3.endpoint;
        d["region"] = s->s3.region;
        d["path_style"] = s->s3.path_style;
        d["profile"] = s->s3.profile;
        d["partition"] = s->s3.partition;
        d["max_records"] = s->s3.max_records;
        d["max_bytes"] = s->s3.max_bytes;
        d["compression_level"] = s->s3.compression_level;
        d["part_size"] = s->s3.part_size;
    }
    return d;
}

py_scheduler scheduler_for(const job& j, const std::optional<std::string>& state_dir) {
    py_scheduler s;
    if (state_dir) {
        job copy = j;
        copy.options.state_dir = *state_dir;
        s.sched = std::make_unique<scheduler>(make_scheduler(copy));
    } else {
        s.sched = std::make_unique<scheduler>(make_scheduler(j));
    }
    for (auto& t : j.tasks) s.tasks.emplace_back(t.id, t.params);
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
            for (auto& e : j.executors) out.append(executor_config_dict(e));
            return out;
        })
        .def_property_readonly("sink", [](const job& j) { return sink_config_dict(j.sink); })
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
             "A Scheduler set up with the job's options, executors, sink and tasks (submit more before run()).")
        .def(
            "run",
            [](const job& j, std::optional<std::string> state_dir, py::object progress, py::object on_progress,
               py::object on_task_started, py::object on_task_finished, py::object on_executor_event) {
                auto s = scheduler_for(j, state_dir);
                return run_blocking(s, run_request_from(progress, on_progress, on_task_started, on_task_finished,
                                                        on_executor_event));
            },
            py::kw_only(), py::arg("state_dir") = py::none(), py::arg("progress") = false,
            py::arg("on_progress") = py::none(), py::arg("on_task_started") = py::none(),
            py::arg("on_task_finished") = py::none(), py::arg("on_executor_event") = py::none(),
            "make_scheduler(state_dir=...).run(...): what `drover run JOB.toml` does. See Scheduler.run.")
        .def("__repr__", [](const job& j) {
            return "Job(" + py::repr(py::str(j.name)).cast<std::string>() + ", " + std::to_string(j.tasks.size()) +
                   " task(s), source=" + py::repr(py::str(j.source.string())).cast<std::string>() + ")";
        });

    m.def(
        "load_job", [](const std::string& path) { return load_job(path); }, py::arg("path"),
        "Reads and validates a job file. Raises ConfigError ('file:line:column: key: problem').");
    m.def("parse_job", &parse_job, py::arg("text"), py::arg("source_name") = "<string>",
          "Same as load_job, from TOML text; source_name is used in error messages.");
    m.def("make_scheduler", &scheduler_for, py::arg("job"), py::kw_only(), py::arg("state_dir") = py::none(),
          "A Scheduler set up from a Job (the same as job.make_scheduler()).");
    m.def(
        "parse_duration", [](std::string_view text) { return seconds(parse_duration(text)); }, py::arg("text"),
        "Seconds (float) from a job-file duration: '250ms', '30s', '1h30m', '2d'. Raises ConfigError.");
}

}  // namespace drover::python
