// Scheduler: options as keyword arguments, executors, a sink, tasks, run().

#include "bind.hpp"

namespace drover::python {

namespace {

halt_policy to_halt(py::handle h) {
    if (h.is_none()) return {};
    if (py::isinstance<halt_policy>(h)) return h.cast<halt_policy>();
    if (py::isinstance<py::dict>(h))
        return py::type::of<halt_policy>()(**py::reinterpret_borrow<py::dict>(h)).cast<halt_policy>();
    throw py::type_error("halt must be a HaltPolicy, a dict like {'max_dead': 10}, or None");
}

// None or False: off; True: on with the defaults; a dict: on, with the keys it gives.
speculation_options to_speculation(py::handle h) {
    speculation_options s;
    if (h.is_none()) return s;
    if (py::isinstance<py::bool_>(h)) {
        s.enabled = h.cast<bool>();
        return s;
    }
    if (!py::isinstance<py::dict>(h))
        throw py::type_error("speculation must be True, False, None or a dict like {'multiplier': 2.0}");
    s.enabled = true;
    for (auto [k, v] : py::reinterpret_borrow<py::dict>(h)) {
        auto key = py::str(k).cast<std::string>();
        if (key == "enabled") s.enabled = v.cast<bool>();
        else if (key == "multiplier") s.multiplier = v.cast<double>();
        else if (key == "quantile") s.quantile = v.cast<double>();
        else if (key == "min_runtime") s.min_runtime = to_duration(v, "speculation.min_runtime");
        else if (key == "before_queued") s.before_queued = v.cast<bool>();
        else throw config_error("speculation: unknown key '" + key +
                                "' (enabled, multiplier, quantile, min_runtime, before_queued)");
    }
    return s;
}

void add_executor(py_scheduler& s, std::shared_ptr<executor> ex) {
    if (!ex) throw py::type_error("add_executor: expected an Executor, got None");
    s.sched->add_executor(std::move(ex));
    ++s.executors;
}

void set_sink(py_scheduler& s, std::shared_ptr<sink> out) {
    if (!out) throw py::type_error("set_sink: expected a Sink, got None");
    s.sched->set_sink(std::move(out));
    s.has_sink = true;
}

task_spec task_of(py::handle task, const char* what) {
    if (!py::isinstance<task_spec>(task))
        throw py::type_error(std::string(what) + " expects a TaskSpec, got " +
                             py::repr(py::type::of(task)).cast<std::string>());
    return task.cast<task_spec>();
}

// While a run goes, submit() waits for the journal: never with the GIL held (the run's
// callbacks and other Python threads go on meanwhile).
void submit(py_scheduler& s, py::object task, py::kwargs kw) {
    task_spec t;
    if (!task.is_none()) {
        if (kw.size() > 0) throw py::type_error("submit() takes a TaskSpec or keyword arguments, not both");
        t = task_of(task, "submit()");
    } else {
        t = task_from_kwargs(kw);
    }
    py::gil_scoped_release nogil;
    s.sched->submit(std::move(t));
}

void submit_many(py_scheduler& s, py::iterable tasks) {
    std::vector<task_spec> all;
    for (auto t : tasks) all.push_back(task_of(t, "submit_many()"));
    py::gil_scoped_release nogil;
    s.sched->submit_many(std::move(all));
}

task_spec defaults_from(py::handle h) {
    if (h.is_none()) return {};
    if (py::isinstance<task_spec>(h)) return h.cast<task_spec>();
    if (py::isinstance<py::dict>(h)) {
        // Every TaskSpec keyword but id and command, which defaults do not have.
        py::dict d = py::reinterpret_borrow<py::dict>(h);
        if (d.contains("id") || d.contains("command"))
            throw config_error("defaults: id and command are the fanned-out task's own");
        py::dict kw;
        for (auto [k, v] : d) kw[k] = v;
        kw["id"] = "defaults";
        kw["command"] = py::make_tuple("true");
        auto t = py::type::of<task_spec>()(**kw).cast<task_spec>();
        t.id.clear();
        t.command.clear();
        return t;
    }
    throw py::type_error("defaults must be a TaskSpec, a dict of TaskSpec keyword arguments, or None");
}

std::string repr(const py_scheduler& s) {
    return "Scheduler(state_dir=" + py::repr(py::str(s.sched->options().state_dir.string())).cast<std::string>() +
           ", " + std::to_string(s.sched->size()) + " task(s), " + std::to_string(s.executors) + " executor(s)" +
           (s.sched->options().open ? ", open" : "") + (s.running ? ", running" : "") + ")";
}

}  // namespace

void bind_scheduler(py::module_& m) {
    py::class_<halt_policy>(m, "HaltPolicy", R"doc(
Stop dispatching new tasks once too many are dead: running attempts finish, tasks never
started end as 'skipped'. Either limit may be None; the first reached halts.
)doc")
        .def(py::init([](std::optional<std::size_t> max_dead, std::optional<double> max_dead_percent) {
                 return halt_policy{max_dead, max_dead_percent};
             }),
             py::kw_only(), py::arg("max_dead") = py::none(), py::arg("max_dead_percent") = py::none())
        .def_readwrite("max_dead", &halt_policy::max_dead, "Halt when dead >= max_dead.")
        .def_readwrite("max_dead_percent", &halt_policy::max_dead_percent,
                       "Halt when dead >= this percent of all tasks.")
        .def("__repr__", [](const halt_policy& h) {
            return "HaltPolicy(max_dead=" + py::repr(py::cast(h.max_dead)).cast<std::string>() +
                   ", max_dead_percent=" + py::repr(py::cast(h.max_dead_percent)).cast<std::string>() + ")";
        });

    const scheduler_options d{};
    py::class_<py_scheduler>(m, "Scheduler", R"doc(
Schedules tasks over executors into a sink: an idle slot takes the next ready task.

    s = drover.Scheduler(state_dir=".drover/news", pools={"net": 4})
    s.add_executor(drover.LocalExecutor(slots=4))
    s.set_sink(drover.FileSink("out/news", partition="date={date}"))
    for d in dates:
        s.submit(id=f"crawl-{d}", command=["news_crawler", "--date", d],
                 params={"date": d}, retries=2, timeout="30s")
    summary = s.run(progress=True)
    df = drover.read_output("out/news")

Options (keyword arguments):
  state_dir          run state: runs/<run-id>/ holds attempt logs, dead letters, summary.json
  halt               HaltPolicy or {'max_dead': n, 'max_dead_percent': p}
  pools              {name: max running tasks}; tasks name a pool with pool=...
  stderr_tail_lines  stderr lines kept in each attempt's outcome
  stderr_log_bytes   per attempt: the stderr log keeps its start and end within this (0: no limit)
  bad_record_bytes   per attempt: its lines in bad-records.jsonl, the same way (0: no limit)
  max_bad_records    per attempt: more bad stdout lines fail it (0: no limit)
  seed               for backoff jitter (random when None)
  executors          executors to add (default: one LocalExecutor with a slot per core)
  sink               where records go (default: FileSink(state_dir + "/output"))

  journal            True: durable runs (state_dir/journal.db); a run on a state directory
                     with a journal resumes it: succeeded tasks do not run again
  retry_dead         on resume, run dead (and cancelled) tasks again
  fresh              forget earlier runs' task states
  job_name           recorded in the journal; resuming another job's journal is an error
  open               keep running when the queue is empty, until close()
  defaults           what tasks fanned out by control lines start from: a TaskSpec or a
                     dict of TaskSpec keyword arguments (env values may use {param} placeholders)
  order              "history" (default): longest expected first, from the journal's history
                     (tasks with no history first); "submission": in the order they became ready
  speculation        backup attempts for stragglers: None/False (default: off), True, or a dict
                     {"multiplier": 1.5, "quantile": 0.75, "min_runtime": 1.0,
                     "before_queued": False} (docs/workflows.md)
  deadline           stop a run still going after this long (seconds, "2h", a timedelta): running
                     tasks killed, the rest skipped, the run halted (reason "deadline: ...")

A scheduler runs once. run() releases the GIL while it works; Ctrl-C or a notebook
interrupt cancels the run (running tasks killed, their output discarded) and then raises
KeyboardInterrupt; last_summary holds what happened. submit(), close(), cancel(),
cancel_task() and retry_task() work from any thread, also while run() waits (from another
thread, or from its callbacks).
)doc")
        .def(py::init([](const std::string& state_dir, py::object halt, std::map<std::string, std::size_t> pools,
                         std::size_t stderr_tail_lines, std::uint64_t stderr_log_bytes,
                         std::uint64_t bad_record_bytes, std::uint64_t max_bad_records,
                         std::optional<std::uint64_t> seed, py::object executors,
                         py::object out, bool journal, bool retry_dead, bool fresh, std::string job_name, bool open,
                         py::object defaults, const std::string& order, py::object speculation, py::object deadline) {
                 scheduler_options o;
                 o.state_dir = state_dir;
                 o.halt = to_halt(halt);
                 o.pools = std::move(pools);
                 o.stderr_tail_lines = stderr_tail_lines;
                 o.limits = {stderr_log_bytes, bad_record_bytes, max_bad_records};
                 o.seed = seed;
                 o.journal.enabled = journal;
                 o.journal.retry_dead = retry_dead;
                 o.journal.fresh = fresh;
                 o.journal.job_name = std::move(job_name);
                 o.open = open;
                 o.defaults = defaults_from(defaults);
                 if (order == "history") o.order = task_order::history;
                 else if (order == "submission") o.order = task_order::submission;
                 else throw config_error("order must be \"history\" or \"submission\", got \"" + order + "\"");
                 o.speculation = to_speculation(speculation);
                 if (!deadline.is_none()) o.deadline = to_duration(deadline, "deadline");
                 py_scheduler s;
                 s.sched = std::make_unique<scheduler>(std::move(o));
                 if (!executors.is_none())
                     for (auto e : executors) add_executor(s, e.cast<std::shared_ptr<executor>>());
                 if (!out.is_none()) set_sink(s, out.cast<std::shared_ptr<sink>>());
                 return s;
             }),
             py::kw_only(), py::arg("state_dir") = d.state_dir.string(), py::arg("halt") = py::none(),
             py::arg("pools") = d.pools, py::arg("stderr_tail_lines") = d.stderr_tail_lines,
             py::arg("stderr_log_bytes") = d.limits.stderr_log_bytes,
             py::arg("bad_record_bytes") = d.limits.bad_record_bytes,
             py::arg("max_bad_records") = d.limits.max_bad_records,
             py::arg("seed") = py::none(), py::arg("executors") = py::none(), py::arg("sink") = py::none(),
             py::arg("journal") = false, py::arg("retry_dead") = false, py::arg("fresh") = false,
             py::arg("job_name") = "", py::arg("open") = false, py::arg("defaults") = py::none(),
             py::arg("order") = "history", py::arg("speculation") = py::none(), py::arg("deadline") = py::none())
        .def("add_executor", &add_executor, py::arg("executor"), "Adds an executor; raises ConfigError when it has no slots.")
        .def("set_sink", &set_sink, py::arg("sink"), "Sets where records go.")
        .def("submit", &submit, py::arg("task") = py::none(), py::pos_only(), R"doc(
Adds a task: submit(TaskSpec(...)) or submit(id=..., command=[...], params=..., ...) with
the TaskSpec keyword arguments. Raises ConfigError for an invalid or duplicate id, an
empty command, or an unknown pool. Any thread, any time: while run() goes the task joins
the run (its `after` must name tasks already in it; a glob is resolved now), and with a
journal it is durable when submit() returns. Raises Error once the run was closed or ended.
)doc")
        .def("submit_many", &submit_many, py::arg("tasks"),
             "Adds TaskSpecs: all of them or, on an error, none (one journal commit while running).")
        .def("close", [](py_scheduler& s) { s.sched->close(); },
             "An open run ends once its last task ended; submit() refuses tasks from then on.")
        .def(
            "cancel_task",
            [](py_scheduler& s, const std::string& id) {
                py::gil_scoped_release nogil;
                return s.sched->cancel_task(id);
            },
            py::arg("id"),
            "Cancels one task of the running run (a running attempt is killed); tasks after it become "
            "upstream_failed. False when it had already finished; ConfigError for an unknown id.")
        .def(
            "retry_task",
            [](py_scheduler& s, const std::string& id) {
                py::gil_scoped_release nogil;
                return s.sched->retry_task(id);
            },
            py::arg("id"),
            "Runs one dead or cancelled task of the running run again, retries renewed; what failed "
            "because of it waits for it again. False when the task is not dead or cancelled.")
        .def(
            "mark_succeeded",
            [](py_scheduler& s, const std::string& id) {
                py::gil_scoped_release nogil;
                return s.sched->mark_succeeded(id);
            },
            py::arg("id"),
            "Marks one task of the running run succeeded without running it (no output); what comes after "
            "it runs. False for a running, succeeded or skipped task.")
        .def(
            "find_task",
            [](const py_scheduler& s, const std::string& id) -> py::object {
                auto t = s.sched->find_task(id);
                return t ? py::cast(std::move(*t)) : py::none();
            },
            py::arg("id"), "The TaskSpec with this id (also a fanned-out one), or None.")
        .def(
            "run",
            [](py_scheduler& s, py::object progress, py::object on_progress, py::object on_task_started,
               py::object on_task_finished, py::object on_executor_event, py::object on_host_changed) {
                return run_blocking(s, run_request_from(progress, on_progress, on_task_started, on_task_finished,
                                                        on_executor_event, on_host_changed));
            },
            py::kw_only(), py::arg("progress") = false, py::arg("on_progress") = py::none(),
            py::arg("on_task_started") = py::none(), py::arg("on_task_finished") = py::none(),
            py::arg("on_executor_event") = py::none(), py::arg("on_host_changed") = py::none(), R"doc(
Runs every task to completion and returns a RunSummary.

progress           True: a tqdm bar (tqdm.auto: a widget in notebooks); a dict: the same
                   with these tqdm keyword arguments (e.g. {'desc': 'crawl'})
on_progress        fn(Progress) after state changes, at most every 100 ms, and at the end
on_task_started    fn(TaskSpec, attempt: int, executor: str)
on_task_finished   fn(TaskSpec, outcome: dict, state: str); state is succeeded, retry_wait,
                   dead, skipped or ready (lost with its executor, queued again)
on_executor_event  fn(executor: str, message: str), e.g. a host went down
on_host_changed    fn(executor: str, host: dict, left: bool): a host of an SshExecutor or
                   DockerExecutor joined, changed state or left (see HostPoolExecutor.hosts)

Callbacks run on this thread, holding the GIL, while the scheduler works on a thread of
its own (other Python threads keep running). An exception in a callback cancels the run
like Ctrl-C does and is re-raised once it has ended. Raises ConfigError when the setup is
unusable and Error when the scheduler has run before.
)doc")
        .def("cancel", [](py_scheduler& s) { s.sched->cancel(); },
             "Stops dispatching, kills running attempts, discards their staged output. Thread-safe; "
             "before run() it makes the run end at once.")
        .def_property_readonly("last_summary", [](const py_scheduler& s) { return s.last; },
                               "The RunSummary of the run, also after KeyboardInterrupt; None before.")
        .def_property_readonly("state_dir", [](const py_scheduler& s) { return s.sched->options().state_dir.string(); })
        .def_property_readonly("task_ids", [](const py_scheduler& s) { return s.sched->task_ids(); },
                               "Ids of every task, in the order they entered (fanned-out ones too).")
        .def_property_readonly("running", [](const py_scheduler& s) { return s.running; })
        .def_property_readonly("open", [](const py_scheduler& s) { return s.sched->options().open; })
        .def("__len__", [](const py_scheduler& s) { return s.sched->size(); })
        .def("__repr__", &repr);
}

}  // namespace drover::python
