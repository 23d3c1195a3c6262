#pragma once
// Shared declarations of the pybind11 module `drover`: one bind_* function per concept,
// each in its own .cpp, called from module.cpp in dependency order.
//
// Adding an executor or sink (Docker, S3) is: a bind_<kind>(py::module_&) in its own file
// following executors_ssh.cpp / sinks_file.cpp, one line in module.cpp, one in CMakeLists.txt,
// and its class in drover.pyi. Scheduler.add_executor / set_sink take any Executor / Sink.

#include <drover/drover.hpp>

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <boost/json/fwd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace drover::python {

namespace py = pybind11;

void bind_errors(py::module_& m);
void bind_task(py::module_& m);
void bind_executor_base(py::module_& m);
void bind_local_executor(py::module_& m);
void bind_host_pool_executor(py::module_& m);
void bind_ssh_executor(py::module_& m);
void bind_docker_executor(py::module_& m);
void bind_slurm_executor(py::module_& m);
void bind_sink_base(py::module_& m);
void bind_file_sink(py::module_& m);
void bind_s3_sink(py::module_& m);
void bind_summary(py::module_& m);
void bind_scheduler(py::module_& m);
void bind_job(py::module_& m);
void bind_output_reader(py::module_& m);
void bind_service(py::module_& m);

// ---- conversions (convert.cpp) ----

/// A duration from Python: seconds as int/float, a string like "30s" / "1h30m", or a
/// datetime.timedelta. `what` names the option in error messages. Throws config_error
/// (bad value) or py::type_error (bad type).
duration to_duration(py::handle value, const std::string& what);
/// Seconds as a float, the way durations come back to Python.
double seconds(duration d);
/// A JSON value (Boost.JSON) as Python objects: dict, list, str, int, float, bool, None.
py::object to_python(const boost::json::value& v);
/// pandas, or an ImportError that says which Debian package provides it.
py::module_ import_pandas(const char* for_what);

// ---- executors_slurm.cpp ----

/// A TaskSpec's slurm= dict (partition, account, qos, time_limit, memory, cpus, gres,
/// sbatch_args); None = no settings. Throws config_error or py::type_error.
slurm_job_settings to_slurm_settings(py::handle h);
py::dict slurm_settings_to_dict(const slurm_job_settings& s);

// ---- executors_host_pool.cpp ----

/// The host_pool_options keywords of SshExecutor and DockerExecutor.
struct host_pool_args {
    std::vector<std::string> hosts;
    std::size_t slots_per_host;
    std::string hosts_file;
    std::vector<std::string> hosts_command;
    py::object hosts_refresh, hosts_timeout, reprobe_initial, reprobe_max, down_timeout;
};
void set_host_pool(host_pool_options& o, const host_pool_args& a);

// ---- sinks_file.cpp ----

/// bad_value_policy from its job-file name ("missing_partition", "bad_records"); throws
/// config_error for any other.
bad_value_policy bad_values_from(const std::string& name);
const char* bad_values_name(bad_value_policy p);

// ---- sinks_s3.cpp ----

/// A host_info as {spec, state, running, started, since, reason} (executors_host_pool.cpp).
py::dict host_to_dict(const host_info& h);

/// Explicit S3 credentials from keyword arguments; nullopt when all are empty. Throws
/// config_error (without the values) when only one of key id and secret is given.
std::optional<s3_credentials> s3_credentials_from(std::string access_key_id, std::string secret_access_key,
                                                  std::string session_token);

// ---- task.cpp ----

/// A task_spec from keyword arguments (the TaskSpec constructor and Scheduler.submit).
task_spec task_from_kwargs(const py::kwargs& kw);
/// The whole task as a plain dict (repr, to_dict).
py::dict task_to_dict(const task_spec& t);

// ---- summary.cpp ----

py::dict progress_to_dict(const progress& p);
py::dict outcome_to_dict(const attempt_outcome& o);

/// What run() returns: the C++ summary plus each task's params (for result tables).
struct py_run_summary {
    run_summary summary;
    std::vector<std::map<std::string, std::string>> params;  ///< by task, in summary order
};

// ---- scheduler.cpp / run_loop.cpp ----

/// The Python Scheduler: a drover::scheduler plus what Python needs to know about it.
struct py_scheduler {
    std::unique_ptr<scheduler> sched;
    std::size_t executors = 0;
    bool has_sink = false;
    bool running = false;
    std::shared_ptr<py_run_summary> last;  ///< the last run's summary (also after an interrupt)
};

/// Options of a Python run(): progress bar and callbacks.
struct run_request {
    py::object progress;           ///< False/None, True, or a dict of tqdm keyword arguments
    py::object on_progress;        ///< fn(Progress)
    py::object on_task_started;    ///< fn(TaskSpec, attempt, executor)
    py::object on_task_finished;   ///< fn(TaskSpec, outcome dict, state str)
    py::object on_executor_event;  ///< fn(executor, message)
    py::object on_host_changed;    ///< fn(executor, host dict, left)
};

/// Runs `s` to completion with the GIL released; delivers observer events to the Python
/// callbacks on the calling thread; turns a KeyboardInterrupt (or a callback's exception)
/// into a clean cancel and re-raises it once the run has ended.
std::shared_ptr<py_run_summary> run_blocking(py_scheduler& s, const run_request& req);

/// The keyword arguments run() takes, shared by Scheduler.run and Job.run.
run_request run_request_from(py::object progress, py::object on_progress, py::object on_task_started,
                             py::object on_task_finished, py::object on_executor_event, py::object on_host_changed);

// ---- progress.cpp ----

/// Receives observer events on the Python thread (GIL held) and drives tqdm + callbacks.
class python_progress {
public:
    explicit python_progress(const run_request& req);
    void run_started(const progress& p);
    void task_started(const task_spec& t, int attempt, const std::string& executor);
    void task_finished(const task_spec& t, const attempt_outcome& o, task_state next);
    void executor_event(const std::string& executor, const std::string& message);
    void host_changed(const std::string& executor, const host_info& h, bool left);
    void progress_changed(const progress& p);
    void run_finished(const progress& p);
    /// Closes the bar (also after an error); never throws.
    void close() noexcept;
    bool wants_task_events() const noexcept;
    bool wants_executor_events() const noexcept;
    bool wants_host_events() const noexcept;

private:
    const run_request& req_;
    py::object bar_;  ///< the tqdm bar, None when progress is off
};

}  // namespace drover::python
