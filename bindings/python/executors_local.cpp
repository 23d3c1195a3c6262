// Executor (the base every executor binds under) and LocalExecutor.

#include "bind.hpp"

namespace drover::python {

void bind_executor_base(py::module_& m) {
    py::class_<executor, std::shared_ptr<executor>>(m, "Executor", R"doc(
Where attempts run. Not constructed directly: use LocalExecutor, SshExecutor, DockerExecutor
and pass it to Scheduler(executors=[...]) or Scheduler.add_executor().
)doc")
        .def_property_readonly("name", &executor::name, "Short name for logs and summaries, e.g. 'local'.")
        .def_property_readonly("slots", &executor::slots, "How many attempts may run at once.");
}

void bind_local_executor(py::module_& m) {
    const local_executor_options d{};
    py::class_<local_executor, executor, std::shared_ptr<local_executor>>(m, "LocalExecutor", R"doc(
Runs attempts as local child processes, each leading its own process group.

stdout lines are records, stderr is the attempt's log. A timeout or cancel sends SIGTERM
to the whole group, then SIGKILL after kill_grace; whatever the main process leaves running
in its group is killed when it exits (no orphans).

slots            attempts at once; 0 = number of cores
kill_grace       seconds (or "2s", timedelta) between SIGTERM and SIGKILL
max_line_bytes   longer stdout lines become bad records
hold_stdin       stdin is a pipe held open until the attempt ends (EOF = drover is gone)
kill_leftovers   kill what the main process left in its group when it exits
)doc")
        .def(py::init([](std::size_t slots, py::object kill_grace, std::size_t max_line_bytes, bool hold_stdin,
                         bool kill_leftovers) {
                 local_executor_options o;
                 o.slots = slots;
                 o.kill_grace = to_duration(kill_grace, "kill_grace");
                 o.max_line_bytes = max_line_bytes;
                 o.hold_stdin = hold_stdin;
                 o.kill_leftovers = kill_leftovers;
                 return std::make_shared<local_executor>(o);
             }),
             py::kw_only(), py::arg("slots") = d.slots, py::arg("kill_grace") = seconds(d.kill_grace),
             py::arg("max_line_bytes") = d.max_line_bytes, py::arg("hold_stdin") = d.hold_stdin,
             py::arg("kill_leftovers") = d.kill_leftovers)
        .def("__repr__", [](const local_executor& e) { return "LocalExecutor(slots=" + std::to_string(e.slots()) + ")"; });
}

}  // namespace drover::python
