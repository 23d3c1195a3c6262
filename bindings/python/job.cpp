// Job files from Python: load_job / parse_job, exec_job (no file: `drover exec`), the Job they
// return, make_scheduler.

#include "bind.hpp"

#include <drover/exec.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
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

// A value of params={...}: a str, an int or a float, as text (bool is refused: True is not
// how a job file writes true).
std::string param_text(const std::string& name, py::handle v) {
    if (py::isinstance<py::str>(v)) return v.cast<std::string>();
    if (!py::isinstance<py::bool_>(v) && (py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v)))
        return py::str(v).cast<std::string>();
    throw py::type_error("params['" + name + "']: expected a str, an int or a list of them, got " +
                         py::str(py::type::handle_of(v).attr("__name__")).cast<std::string>());
}

// load_job's keyword arguments as job_load_options: params={"date": "2018-01-06"} or
// {"date": ["2018-01-06", "2018-01-07"]}, only="crawl-*" or ["crawl-*", "merge"], deps.
job_load_options load_options(const std::optional<py::dict>& params, const py::object& only, bool deps,
                              std::optional<std::size_t> max_tasks) {
    job_load_options o;
    o.max_tasks = max_tasks;
    if (params)
        for (auto [k, v] : *params) {
            if (!py::isinstance<py::str>(k)) throw py::type_error("params: names must be str");
            auto name = k.cast<std::string>();
            auto& values = o.params[name];
            if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
                for (auto x : v) values.push_back(param_text(name, x));
            } else {
                values.push_back(param_text(name, v));
            }
        }
    if (py::isinstance<py::str>(only)) {
        o.only.push_back(only.cast<std::string>());
    } else if (!only.is_none()) {
        for (auto g : only) {
            if (!py::isinstance<py::str>(g)) throw py::type_error("only: expected a str or a list of str");
            o.only.push_back(g.cast<std::string>());
        }
    }
    if (!deps && o.only.empty()) throw config_error("deps=False needs only=... (the tasks to keep)");
    o.with_dependencies = deps;
    return o;
}

constexpr const char* load_doc = R"doc(
Reads and validates a job file. Raises ConfigError ('file:line:column: key: problem').

params: values that replace the file's, by name, like `drover run --param`: a param of the
tasks takes one value (str or int, literally: no placeholders); a foreach variable takes one
value or a list of them instead of its list or range, each checked like the range (a date
for a date range). A name no task has is a ConfigError.
only: a glob (or a list) over task ids, like `--only`: only the matching tasks, with every task
they come after; deps=False (`--no-deps`) keeps only the matching ones, dropping their
`after` on tasks left out. A glob matching no task is a ConfigError.
max_tasks: the most tasks the job may expand to, like `--max-tasks` (instead of the file's
max_tasks key or 10,000,000); more is a ConfigError at the foreach that goes over.
)doc";

// One exec_job argument: a str, an int or a float, or a path, as text.
std::string exec_value(py::handle v) {
    if (py::isinstance<py::str>(v)) {
        Py_ssize_t n = 0;
        const char* p = PyUnicode_AsUTF8AndSize(v.ptr(), &n);  // UnicodeEncodeError for lone surrogates
        if (!p) throw py::error_already_set();
        return std::string(p, static_cast<std::size_t>(n));
    }
    if (!py::isinstance<py::bool_>(v) && (py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v)))
        return py::str(v).cast<std::string>();
    if (py::hasattr(v, "__fspath__")) return py::str(v.attr("__fspath__")()).cast<std::string>();
    throw py::type_error("exec_job: an argument must be a str, an int, a float or a path, got " +
                         py::str(py::type::handle_of(v).attr("__name__")).cast<std::string>());
}

constexpr const char* exec_doc = R"doc(
A Job without a job file, like `drover exec`: `command` runs once per combination of the
argument groups (each a list; several make their cross product, the first outermost).

    job = drover.exec_job(["crawler", "--day", "{}"], ["2018-01-01", "2018-01-02"],
                          slots=4, retries=2, timeout="30s", out="out")
    summary = job.run(progress=True)

In the command, {} is the task's arguments, {1} {2} ... one group's, {#} the task number;
{.} {/} {//} {/.} (also {1.} ...) as in GNU parallel; no placeholder appends {}. shell=True
joins the words into an `sh -c` script with the arguments quoted. Task ids come from the
arguments (exec_task_id). out: the file sink's directory; None writes each task's records to
the process's stdout when it succeeds. partition (with out): {record.FIELD}, {n}, {arg1} ...
state_dir: run again on the same one to resume. Raises ConfigError for bad input (empty
command, {9} beyond the groups, an empty group, non-UTF-8 values, more than 1,000,000 tasks).
)doc";

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
        .def(
            "describe",
            [](const job& j, std::size_t next_fires) {
                return to_python(boost::json::parse(to_json(j, {.next_fires = next_fires})));
            },
            py::kw_only(), py::arg("next_fires") = 5,
            "What `drover validate --json` prints, as a dict: job, source, state_dir, executors (with slots), "
            "slots, pools, sink, schedule (cron, timezone, overlap, next: the next fire times in the job's zone, "
            "RFC 3339) and tasks (id, command, command_line quoted for a POSIX shell, after resolved to ids, "
            "pool, executor settings, params, env without secrets, retries, timeout, workdir).")
        .def("__repr__", [](const job& j) {
            return "Job(" + py::repr(py::str(j.name)).cast<std::string>() + ", " + std::to_string(j.tasks.size()) +
                   " task(s), source=" + py::repr(py::str(j.source.string())).cast<std::string>() + ")";
        });

    m.def(
        "load_job",
        [](const std::string& path, const std::optional<py::dict>& params, const py::object& only, bool deps,
           std::optional<std::size_t> max_tasks) {
            return load_job(path, load_options(params, only, deps, max_tasks));
        },
        py::arg("path"), py::kw_only(), py::arg("params") = py::none(), py::arg("only") = py::none(),
        py::arg("deps") = true, py::arg("max_tasks") = py::none(), load_doc);
    m.def(
        "parse_job",
        [](std::string_view text, const std::string& source_name, const std::optional<py::dict>& params,
           const py::object& only, bool deps, std::optional<std::size_t> max_tasks) {
            return parse_job(text, source_name, load_options(params, only, deps, max_tasks));
        },
        py::arg("text"), py::arg("source_name") = "<string>", py::kw_only(), py::arg("params") = py::none(),
        py::arg("only") = py::none(), py::arg("deps") = true, py::arg("max_tasks") = py::none(),
        "Same as load_job, from TOML text; source_name is used in error messages.");
    m.def(
        "exec_job",
        [](const std::vector<std::string>& command, py::args groups, bool shell, std::size_t slots, int retries,
           py::object timeout, py::object out, std::string partition, std::string state_dir) {
            exec_spec s;
            s.command = command;
            for (auto g : groups) {
                if (py::isinstance<py::str>(g)) throw py::type_error("exec_job: each argument group must be a list, got a str");
                auto& values = s.groups.emplace_back();
                for (auto v : g) values.push_back(exec_value(v));
            }
            s.shell = shell;
            s.slots = slots;
            s.retries = retries;
            if (!timeout.is_none()) s.timeout = to_duration(timeout, "timeout");
            if (!out.is_none()) s.out = exec_value(out);
            s.partition = std::move(partition);
            s.state_dir = state_dir;
            return make_exec_job(s);
        },
        py::arg("command"), py::arg("shell") = false, py::arg("slots") = 0, py::arg("retries") = 0,
        py::arg("timeout") = py::none(), py::arg("out") = py::none(), py::arg("partition") = "",
        py::arg("state_dir") = ".drover/exec", exec_doc);
    m.def("exec_task_id", &exec_task_id, py::arg("values"),
          "The task id exec_job gives the arguments `values` (one per group): letters, digits, . and - as they "
          "are, _ as __, other bytes as _XX, values joined by =; stable and distinct for distinct values.");
    m.def("shell_command_line", &shell_command_line, py::arg("argv"),
          "argv as one POSIX shell command line (what validate --json calls command_line): words "
          "of letters, digits and _@%+=:,./- as they are, the others single-quoted.");
    m.def("make_scheduler", &scheduler_for, py::arg("job"), py::kw_only(), py::arg("state_dir") = py::none(),
          py::arg("retry_dead") = false, py::arg("fresh") = false,
          "A Scheduler set up from a Job (the same as job.make_scheduler()).");
    m.def(
        "parse_duration", [](std::string_view text) { return seconds(parse_duration(text)); }, py::arg("text"),
        "Seconds (float) from a job-file duration: '250ms', '30s', '1h30m', '2d'. Raises ConfigError.");
}

}  // namespace drover::python
