// TaskSpec and Backoff: what to run, with durations as seconds, strings or timedeltas.

#include "bind.hpp"

#include <drover/executors/docker_task.hpp>

namespace drover::python {

namespace {

std::vector<std::string> to_command(py::handle h) {
    if (py::isinstance<py::str>(h) || py::isinstance<py::bytes>(h))
        throw py::type_error("command must be a list of strings (argv), not a string; to use a shell write "
                             "['sh', '-c', '...']");
    try {
        return h.cast<std::vector<std::string>>();
    } catch (const py::cast_error&) {
        throw py::type_error("command must be a list of strings (argv)");
    }
}

std::map<std::string, std::string> to_string_map(py::handle h, const char* what) {
    if (h.is_none()) return {};
    if (!py::isinstance<py::dict>(h)) throw py::type_error(std::string(what) + " must be a dict of str to str");
    std::map<std::string, std::string> out;
    for (auto [k, v] : py::reinterpret_borrow<py::dict>(h)) {
        if (!py::isinstance<py::str>(k)) throw py::type_error(std::string(what) + ": keys must be str");
        // Numbers and dates are common params; their str() is what templates see.
        out[k.cast<std::string>()] = py::str(v).cast<std::string>();
    }
    return out;
}

void check_backoff(const backoff_policy& b) {
    if (b.multiplier < 1.0) throw config_error("backoff multiplier must be >= 1, got " + std::to_string(b.multiplier));
    if (b.jitter < 0.0 || b.jitter > 1.0)
        throw config_error("backoff jitter must be between 0 and 1, got " + std::to_string(b.jitter));
}

backoff_policy make_backoff(py::handle initial, py::handle max, double multiplier, double jitter) {
    backoff_policy b;
    if (!initial.is_none()) b.initial = to_duration(initial, "backoff initial");
    if (!max.is_none()) b.max = to_duration(max, "backoff max");
    b.multiplier = multiplier;
    b.jitter = jitter;
    check_backoff(b);
    return b;
}

backoff_policy to_backoff(py::handle h) {
    if (h.is_none()) return {};
    if (py::isinstance<backoff_policy>(h)) return h.cast<backoff_policy>();
    if (py::isinstance<py::dict>(h)) {
        auto cls = py::type::of<backoff_policy>();
        return cls(**py::reinterpret_borrow<py::dict>(h)).cast<backoff_policy>();
    }
    backoff_policy b;
    b.initial = to_duration(h, "backoff");
    return b;
}

const char* network_name(container_network n) { return n == container_network::host ? "host" : "none"; }
const char* pull_name(pull_policy p) { return p == pull_policy::missing ? "missing" : "never"; }

py::dict container_to_dict(const container_options& c) {
    py::dict d;
    d["memory"] = c.memory;
    d["cpus"] = c.cpus;
    d["network"] = network_name(c.network);
    d["pull"] = pull_name(c.pull);
    return d;
}

// {"memory": bytes, "cpus": float, "network": "none"|"host", "pull": "never"|"missing"}; None = defaults.
container_options to_container(py::handle h) {
    container_options c;
    if (h.is_none()) return c;
    if (!py::isinstance<py::dict>(h))
        throw py::type_error("container must be a dict with keys memory, cpus, network, pull");
    for (auto [k, v] : py::reinterpret_borrow<py::dict>(h)) {
        if (!py::isinstance<py::str>(k)) throw py::type_error("container: keys must be str");
        auto key = k.cast<std::string>();
        if (key == "memory") {
            if (!py::isinstance<py::int_>(v) || py::isinstance<py::bool_>(v))
                throw py::type_error("container memory must be an int (bytes)");
            auto bytes = v.cast<long long>();
            if (bytes < 0) throw config_error("container memory must be >= 0 bytes, got " + std::to_string(bytes));
            c.memory = static_cast<std::uint64_t>(bytes);
        } else if (key == "cpus") {
            if (py::isinstance<py::bool_>(v) || !(py::isinstance<py::int_>(v) || py::isinstance<py::float_>(v)))
                throw py::type_error("container cpus must be a number");
            c.cpus = v.cast<double>();
            if (!(c.cpus >= 0) || c.cpus > 1e6)
                throw config_error("container cpus must be >= 0, got " + py::repr(v).cast<std::string>());
        } else if (key == "network") {
            auto n = py::str(v).cast<std::string>();
            if (n == "none")
                c.network = container_network::none;
            else if (n == "host")
                c.network = container_network::host;
            else
                throw config_error("container network must be 'none' or 'host', got '" + n + "'");
        } else if (key == "pull") {
            auto n = py::str(v).cast<std::string>();
            if (n == "never")
                c.pull = pull_policy::never;
            else if (n == "missing")
                c.pull = pull_policy::missing;
            else
                throw config_error("container pull must be 'never' or 'missing', got '" + n + "'");
        } else {
            throw config_error("container: unknown key '" + key + "' (expected memory, cpus, network, pull)");
        }
    }
    return c;
}

// A list (or tuple) of str; a single str is refused: after="a" would mean after=["a"] by
// accident of iteration otherwise.
std::vector<std::string> to_after(py::handle h) {
    std::vector<std::string> out;
    if (h.is_none()) return out;
    if (py::isinstance<py::str>(h) || !(py::isinstance<py::list>(h) || py::isinstance<py::tuple>(h)))
        throw py::type_error("after must be a list of task ids or globs, e.g. after=[\"split\"]");
    for (auto v : h) {
        if (!py::isinstance<py::str>(v)) throw py::type_error("after: every entry must be a str");
        out.push_back(v.cast<std::string>());
    }
    return out;
}

// The task's Docker settings (its docker_task_options extension), or the defaults.
docker_task_options docker_of(const task_spec& t) {
    const auto* d = t.extension<docker_task_options>();
    return d ? *d : docker_task_options{};
}

// The task's Slurm settings (its slurm_task_options extension), or none.
slurm_job_settings slurm_of(const task_spec& t) {
    const auto* s = t.extension<slurm_task_options>();
    return s ? s->job : slurm_job_settings{};
}

py::object optional_seconds(const std::optional<duration>& d) {
    if (!d) return py::none();
    return py::float_(seconds(*d));
}

}  // namespace

py::dict task_to_dict(const task_spec& t) {
    py::dict d;
    d["id"] = t.id;
    d["command"] = t.command;
    d["env"] = t.env;
    d["params"] = t.params;
    d["retries"] = t.retries;
    d["timeout"] = optional_seconds(t.timeout);
    py::dict b;
    b["initial"] = seconds(t.backoff.initial);
    b["max"] = seconds(t.backoff.max);
    b["multiplier"] = t.backoff.multiplier;
    b["jitter"] = t.backoff.jitter;
    d["backoff"] = b;
    d["pool"] = t.pool;
    d["workdir"] = t.workdir;
    d["after"] = t.after;
    d["control_lines"] = t.control_lines;
    d["speculate"] = t.speculate;
    const auto docker = docker_of(t);
    d["image"] = docker.image;
    d["container"] = container_to_dict(docker.container);
    d["slurm"] = slurm_settings_to_dict(slurm_of(t));
    return d;
}

task_spec task_from_kwargs(const py::kwargs& kw) {
    // The TaskSpec constructor checks names and types, so submit(**kw) reports the same errors.
    return py::type::of<task_spec>()(**kw).cast<task_spec>();
}

void bind_task(py::module_& m) {
    const backoff_policy d{};
    py::class_<backoff_policy>(m, "Backoff", R"doc(
Delay before retry k (k = 1 for the first retry):
d = min(max, initial * multiplier**(k-1)), then uniformly random in [d*(1-jitter), d].

Durations are seconds (float), strings like "1s" / "5m", or datetime.timedelta;
they read back as float seconds.
)doc")
        .def(py::init([](py::object initial, py::object max, double multiplier, double jitter) {
                 return make_backoff(initial, max, multiplier, jitter);
             }),
             py::kw_only(), py::arg("initial") = seconds(d.initial), py::arg("max") = seconds(d.max),
             py::arg("multiplier") = d.multiplier, py::arg("jitter") = d.jitter)
        .def_property(
            "initial", [](const backoff_policy& b) { return seconds(b.initial); },
            [](backoff_policy& b, py::object v) { b.initial = to_duration(v, "backoff initial"); },
            "Delay before the first retry, in seconds.")
        .def_property(
            "max", [](const backoff_policy& b) { return seconds(b.max); },
            [](backoff_policy& b, py::object v) { b.max = to_duration(v, "backoff max"); },
            "Upper bound for any delay, in seconds.")
        .def_property(
            "multiplier", [](const backoff_policy& b) { return b.multiplier; },
            [](backoff_policy& b, double v) {
                auto c = b;
                c.multiplier = v;
                check_backoff(c);
                b = c;
            },
            "Growth per retry (>= 1).")
        .def_property(
            "jitter", [](const backoff_policy& b) { return b.jitter; },
            [](backoff_policy& b, double v) {
                auto c = b;
                c.jitter = v;
                check_backoff(c);
                b = c;
            },
            "Fraction of each delay that is randomised (0..1).")
        .def("__repr__", [](const backoff_policy& b) {
            return "Backoff(initial=" + py::repr(py::float_(seconds(b.initial))).cast<std::string>() +
                   ", max=" + py::repr(py::float_(seconds(b.max))).cast<std::string>() +
                   ", multiplier=" + py::repr(py::float_(b.multiplier)).cast<std::string>() +
                   ", jitter=" + py::repr(py::float_(b.jitter)).cast<std::string>() + ")";
        });

    py::class_<task_spec>(m, "TaskSpec", R"doc(
One unit of work: an argv to run, where its records go (params feed partition templates),
and how hard to try.

    TaskSpec("day-2018-01-01", ["crawler", "--date", "2018-01-01"],
             params={"date": "2018-01-01"}, retries=2, timeout="30s")

id        unique within a scheduler; letters, digits, '.', '_', '-', '=' (names output files)
command   argv list; command[0] is looked up in PATH; no shell unless you run one
env       added to (and overriding) the inherited environment
params    str -> str; values are converted with str()
retries   extra attempts after the first failure (default 0)
timeout   per attempt: seconds, "30s", a timedelta, or None or 0 (no limit); kills the whole tree
backoff   a Backoff, a dict of its fields, or a duration (the first delay); default Backoff()
pool      name of a pool given to Scheduler(pools=...); "" = no pool limit
workdir   working directory; "" = the current directory
after     ids (or globs such as "crawl-*") of tasks this one runs after: it starts once they
          and every task they fanned out succeeded, and is upstream_failed when one failed
control_lines  read stdout lines {"$drover": {...}} as control lines (fanning out child
          tasks) instead of records; default True
speculate may get a backup attempt when it straggles (Scheduler(speculation=...)); False for
          tasks with side effects outside their records; default True
image     Docker image (DockerExecutor only); "" = the executor's default_image
container DockerExecutor settings: {"memory": bytes (0 = no limit), "cpus": float (0 = no
          limit), "network": "none" (default) or "host", "pull": "never" (default) or "missing"}
slurm     SlurmExecutor settings, on top of the executor's: {"partition", "account", "qos",
          "gres": str, "time_limit": duration, "memory": bytes, "cpus": int, "sbatch_args": [str]}

env and params read back as copies: assign a whole dict to change them.
)doc")
        .def(py::init([](std::string id, py::object command, py::object env, py::object params, int retries,
                         py::object timeout, py::object backoff, std::string pool, std::string workdir,
                         py::object after, bool control_lines, bool speculate, std::string image,
                         py::object container, py::object slurm) {
                 task_spec t;
                 t.id = std::move(id);
                 t.command = to_command(command);
                 t.env = to_string_map(env, "env");
                 t.params = to_string_map(params, "params");
                 t.retries = retries;
                 if (!timeout.is_none()) t.timeout = to_duration(timeout, "timeout");
                 t.backoff = to_backoff(backoff);
                 t.pool = std::move(pool);
                 t.workdir = std::move(workdir);
                 t.after = to_after(after);
                 t.control_lines = control_lines;
                 t.speculate = speculate;
                 if (!image.empty() || !container.is_none())
                     t.set_extension(docker_task_options{std::move(image), to_container(container)});
                 if (!slurm.is_none()) t.set_extension(slurm_task_options{to_slurm_settings(slurm)});
                 return t;
             }),
             py::arg("id"), py::arg("command"), py::kw_only(), py::arg("env") = py::none(),
             py::arg("params") = py::none(), py::arg("retries") = 0, py::arg("timeout") = py::none(),
             py::arg("backoff") = py::none(), py::arg("pool") = "", py::arg("workdir") = "",
             py::arg("after") = py::none(), py::arg("control_lines") = true, py::arg("speculate") = true,
             py::arg("image") = "",
             py::arg("container") = py::none(), py::arg("slurm") = py::none())
        .def_readwrite("id", &task_spec::id)
        .def_property(
            "command", [](const task_spec& t) { return t.command; },
            [](task_spec& t, py::object v) { t.command = to_command(v); })
        .def_property(
            "env", [](const task_spec& t) { return t.env; },
            [](task_spec& t, py::object v) { t.env = to_string_map(v, "env"); })
        .def_property(
            "params", [](const task_spec& t) { return t.params; },
            [](task_spec& t, py::object v) { t.params = to_string_map(v, "params"); })
        .def_readwrite("retries", &task_spec::retries)
        .def_property(
            "timeout", [](const task_spec& t) { return optional_seconds(t.timeout); },
            [](task_spec& t, py::object v) {
                if (v.is_none())
                    t.timeout.reset();
                else
                    t.timeout = to_duration(v, "timeout");
            },
            "Seconds (float) or None.")
        .def_property(
            "backoff", [](const task_spec& t) { return t.backoff; },
            [](task_spec& t, py::object v) { t.backoff = to_backoff(v); })
        .def_readwrite("pool", &task_spec::pool)
        .def_readwrite("workdir", &task_spec::workdir)
        .def_property(
            "after", [](const task_spec& t) { return t.after; },
            [](task_spec& t, py::object v) { t.after = to_after(v); },
            "Ids or globs of the tasks this one runs after (a copy: assign a whole list to change it).")
        .def_readwrite("control_lines", &task_spec::control_lines)
        .def_readwrite("speculate", &task_spec::speculate)
        .def_property(
            "image", [](const task_spec& t) { return docker_of(t).image; },
            [](task_spec& t, std::string v) {
                auto d = docker_of(t);
                d.image = std::move(v);
                t.set_extension(std::move(d));
            },
            "Docker image (DockerExecutor only); \"\" = the executor's default_image.")
        .def_property(
            "container", [](const task_spec& t) { return container_to_dict(docker_of(t).container); },
            [](task_spec& t, py::object v) {
                auto d = docker_of(t);
                d.container = to_container(v);
                t.set_extension(std::move(d));
            },
            "Docker settings as a dict (a copy: assign a whole dict to change them).")
        .def_property(
            "slurm", [](const task_spec& t) { return slurm_settings_to_dict(slurm_of(t)); },
            [](task_spec& t, py::object v) { t.set_extension(slurm_task_options{to_slurm_settings(v)}); },
            "SlurmExecutor settings as a dict (a copy: assign a whole dict to change them).")
        .def("to_dict", &task_to_dict, "The task as a plain dict (durations in seconds).")
        .def("__repr__", [](const task_spec& t) {
            std::string r = "TaskSpec(" + py::repr(py::str(t.id)).cast<std::string>() + ", " +
                            py::repr(py::cast(t.command)).cast<std::string>();
            if (!t.params.empty()) r += ", params=" + py::repr(py::cast(t.params)).cast<std::string>();
            if (t.retries) r += ", retries=" + std::to_string(t.retries);
            if (t.timeout) r += ", timeout=" + py::repr(py::float_(seconds(*t.timeout))).cast<std::string>();
            if (!t.pool.empty()) r += ", pool=" + py::repr(py::str(t.pool)).cast<std::string>();
            if (!t.after.empty()) r += ", after=" + py::repr(py::cast(t.after)).cast<std::string>();
            if (auto image = docker_of(t).image; !image.empty()) r += ", image=" + py::repr(py::str(image)).cast<std::string>();
            return r + ")";
        });
}

}  // namespace drover::python
