// SlurmExecutor, and the `slurm` settings of a TaskSpec (slurm_task_options) as a dict.

#include "bind.hpp"

#include <drover/executors/slurm.hpp>

#include <boost/json/object.hpp>

namespace drover::python {

namespace {

std::string str_of(py::handle v, const std::string& key) {
    if (!py::isinstance<py::str>(v)) throw py::type_error("slurm " + key + " must be a str");
    return v.cast<std::string>();
}

long long int_of(py::handle v, const std::string& key) {
    if (!py::isinstance<py::int_>(v) || py::isinstance<py::bool_>(v)) throw py::type_error("slurm " + key + " must be an int");
    return v.cast<long long>();
}

std::vector<std::string> args_of(py::handle v) {
    if (py::isinstance<py::str>(v) || !(py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)))
        throw py::type_error("slurm sbatch_args must be a list of str, e.g. [\"--constraint=avx2\"]");
    std::vector<std::string> out;
    for (auto a : v) out.push_back(str_of(a, "sbatch_args entries"));
    return out;
}

}  // namespace

slurm_job_settings to_slurm_settings(py::handle h) {
    slurm_job_settings s;
    if (h.is_none()) return s;
    if (!py::isinstance<py::dict>(h))
        throw py::type_error("slurm must be a dict with keys partition, account, qos, time_limit, memory, cpus, gres, sbatch_args");
    for (auto [k, v] : py::reinterpret_borrow<py::dict>(h)) {
        if (!py::isinstance<py::str>(k)) throw py::type_error("slurm: keys must be str");
        auto key = k.cast<std::string>();
        if (key == "partition") s.partition = str_of(v, key);
        else if (key == "account") s.account = str_of(v, key);
        else if (key == "qos") s.qos = str_of(v, key);
        else if (key == "gres") s.gres = str_of(v, key);
        else if (key == "time_limit") s.time_limit = v.is_none() ? duration(0) : to_duration(v, "slurm time_limit");
        else if (key == "memory") {
            auto m = int_of(v, key);
            if (m < 0) throw config_error("slurm memory must be >= 0 bytes, got " + std::to_string(m));
            s.memory = static_cast<std::uint64_t>(m);
        } else if (key == "cpus") {
            auto c = int_of(v, key);
            if (c < 0 || c > (1 << 20)) throw config_error("slurm cpus must be between 0 and 1048576, got " + std::to_string(c));
            s.cpus = static_cast<int>(c);
        } else if (key == "sbatch_args") s.sbatch_args = args_of(v);
        else
            throw config_error("slurm: unknown key '" + key +
                               "' (known: partition, account, qos, time_limit, memory, cpus, gres, sbatch_args)");
    }
    // The same checks as job files and task JSON (sbatch_args drover sets itself, ...).
    boost::json::object probe;
    slurm_task_options{s}.to_json(probe);
    try {
        (void)slurm_task_options::from_json(probe, {});
    } catch (const std::exception& e) {
        throw config_error(e.what());
    }
    return s;
}

py::dict slurm_settings_to_dict(const slurm_job_settings& s) {
    boost::json::object task;  // the task JSON form: seconds and bytes, as Python reads them back
    slurm_task_options{s}.to_json(task);
    return to_python(task.at("slurm")).cast<py::dict>();
}

void bind_slurm_executor(py::module_& m) {
    const slurm_executor_options d{};
    py::class_<slurm_executor, executor, std::shared_ptr<slurm_executor>>(m, "SlurmExecutor", R"doc(
Runs each attempt as a Slurm batch job through sbatch, squeue and scancel (the commands must be
on PATH and find the cluster, e.g. through SLURM_CONF). One squeue per poll_interval covers
every job; stdout lines are records (read from a file under shared_dir while the job runs),
stderr is the attempt's log. A timeout or cancel runs scancel. Jobs an earlier run of the same
state directory left behind (drover was killed) are cancelled before the run submits anything.

slots               most jobs in Slurm's queue at once; the rest wait in drover's queue
shared_dir          directory both this host and the compute nodes see at the same path, for
                    job scripts and output; "" = <state_dir>/slurm
workdir             the job's working directory ("" = this process's current directory)
partition, account, qos, gres    sbatch's options for every job (a TaskSpec's slurm= wins)
time_limit          --time (seconds, "2h", timedelta); 0 = the task's timeout plus a minute,
                    or the partition's limit
memory              --mem in bytes (0 = the cluster's default); cpus: --cpus-per-task
sbatch_args         more sbatch options, e.g. ["--constraint=avx2"]
poll_interval, command_timeout, controller_timeout   seconds, "1s" strings or timedeltas
max_submits         sbatch commands at once
check_settings      check the settings with sbatch --test-only when the run starts
sbatch, squeue, scancel   the commands to run
)doc")
        .def(py::init([](std::size_t slots, std::string shared_dir, std::string workdir, std::string partition,
                         std::string account, std::string qos, py::object time_limit, std::uint64_t memory, int cpus,
                         std::string gres, std::vector<std::string> sbatch_args, py::object poll_interval,
                         py::object command_timeout, py::object controller_timeout, std::size_t max_submits,
                         std::size_t max_line_bytes, bool check_settings, std::string sbatch, std::string squeue,
                         std::string scancel) {
                 slurm_executor_options o;
                 o.slots = slots;
                 o.shared_dir = shared_dir;
                 o.workdir = std::move(workdir);
                 py::dict settings;
                 settings["partition"] = partition;
                 settings["account"] = account;
                 settings["qos"] = qos;
                 settings["time_limit"] = time_limit;
                 settings["memory"] = memory;
                 settings["cpus"] = cpus;
                 settings["gres"] = gres;
                 settings["sbatch_args"] = sbatch_args;
                 o.defaults = to_slurm_settings(settings);
                 o.poll_interval = to_duration(poll_interval, "poll_interval");
                 o.command_timeout = to_duration(command_timeout, "command_timeout");
                 o.controller_timeout = to_duration(controller_timeout, "controller_timeout");
                 o.max_submits = max_submits;
                 o.max_line_bytes = max_line_bytes;
                 o.check_settings = check_settings;
                 o.sbatch = std::move(sbatch);
                 o.squeue = std::move(squeue);
                 o.scancel = std::move(scancel);
                 return std::make_shared<slurm_executor>(std::move(o));
             }),
             py::kw_only(), py::arg("slots") = d.slots, py::arg("shared_dir") = "", py::arg("workdir") = "",
             py::arg("partition") = "", py::arg("account") = "", py::arg("qos") = "", py::arg("time_limit") = 0.0,
             py::arg("memory") = 0, py::arg("cpus") = 0, py::arg("gres") = "",
             py::arg("sbatch_args") = std::vector<std::string>{}, py::arg("poll_interval") = seconds(d.poll_interval),
             py::arg("command_timeout") = seconds(d.command_timeout),
             py::arg("controller_timeout") = seconds(d.controller_timeout), py::arg("max_submits") = d.max_submits,
             py::arg("max_line_bytes") = d.max_line_bytes, py::arg("check_settings") = d.check_settings,
             py::arg("sbatch") = d.sbatch, py::arg("squeue") = d.squeue, py::arg("scancel") = d.scancel)
        .def("__repr__", [](const slurm_executor& e) { return "SlurmExecutor(slots=" + std::to_string(e.slots()) + ")"; });
}

}  // namespace drover::python
