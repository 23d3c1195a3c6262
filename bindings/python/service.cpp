// drover.Service (a service over a directory of job files, in this process) and drover.Client
// (a client of one's HTTP API), for scripts and notebooks. Blocking calls release the GIL.

#include "bind.hpp"

#include <boost/json.hpp>

namespace drover::python {

namespace {

std::map<std::string, std::vector<std::string>> params_from(py::handle h) {
    std::map<std::string, std::vector<std::string>> out;
    if (h.is_none()) return out;
    if (!py::isinstance<py::dict>(h)) throw py::type_error("params must be a dict of names to a str or a list of str");
    for (auto [k, v] : py::reinterpret_borrow<py::dict>(h)) {
        auto name = py::cast<std::string>(k);
        if (py::isinstance<py::str>(v)) {
            out[name].push_back(py::cast<std::string>(v));
        } else if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
            for (auto x : v) {
                if (!py::isinstance<py::str>(x)) throw py::type_error("params['" + name + "']: values must be str");
                out[name].push_back(py::cast<std::string>(x));
            }
        } else {
            throw py::type_error("params['" + name + "'] must be a str or a list of str");
        }
    }
    return out;
}

trigger_options trigger_from(py::handle params, bool fresh, bool retry_dead) {
    return {.params = params_from(params), .fresh = fresh, .retry_dead = retry_dead};
}

py::dict job_dict(const service_job& j) {
    py::dict d;
    d["key"] = j.key;
    d["file"] = j.file.string();
    d["state_dir"] = j.state_dir.string();
    d["name"] = j.name;
    d["error"] = j.error.empty() ? py::object(py::none()) : py::object(py::str(j.error));
    d["tasks"] = j.tasks;
    d["schedule"] = j.schedule.empty() ? py::object(py::none()) : py::object(py::str(j.schedule));
    d["timezone"] = j.timezone;
    d["next_fire_ms"] = j.next_fire_ms ? py::object(py::int_(*j.next_fire_ms)) : py::object(py::none());
    d["run_id"] = j.run_id.empty() ? py::object(py::none()) : py::object(py::str(j.run_id));
    d["run_reason"] = j.run_reason;
    d["run_params"] = j.run_params;
    d["counts"] = j.counts;
    d["last_run_id"] = j.last_run_id.empty() ? py::object(py::none()) : py::object(py::str(j.last_run_id));
    d["last_result"] = j.last_result;
    return d;
}

py::dict host_dict(const service_host& h) {
    py::dict d;
    d["executor"] = h.executor;
    d["kind"] = h.kind;
    d["host"] = h.host.spec;
    d["state"] = std::string(to_string(h.host.state));
    d["running"] = h.host.running;
    d["started"] = h.host.started;
    d["since_ms"] = std::chrono::duration_cast<std::chrono::milliseconds>(h.host.since.time_since_epoch()).count();
    d["reason"] = h.host.reason.empty() ? py::object(py::none()) : py::object(py::str(h.host.reason));
    return d;
}

py::dict event_dict(const service_task_event& e) {
    py::dict d;
    d["seq"] = e.seq;
    d["time_ms"] = e.time_ms;
    d["run_id"] = e.run_id;
    d["kind"] = e.kind;
    auto text = [](const std::string& s) { return s.empty() ? py::object(py::none()) : py::object(py::str(s)); };
    d["task"] = text(e.task);
    d["state"] = text(e.state);
    d["attempt"] = e.attempt;
    d["executor"] = text(e.executor);
    d["failure"] = text(e.failure);
    d["exit_code"] = e.exit_code >= 0 ? py::object(py::int_(e.exit_code)) : py::object(py::none());
    d["elapsed_ms"] = e.elapsed_ms;
    d["records"] = e.records;
    d["message"] = text(e.message);
    d["tasks"] = e.tasks;
    return d;
}

// A list of JSON objects as a pandas DataFrame (with these columns when it is empty).
py::object frame(const boost::json::value& rows, std::initializer_list<const char*> columns) {
    auto pd = import_pandas("drover.Client tables");
    py::list cols;
    for (auto* c : columns) cols.append(c);
    return pd.attr("DataFrame")(to_python(rows), py::arg("columns") = cols);
}

template <class F>
auto nogil(F f) {
    py::gil_scoped_release release;
    return f();
}

}  // namespace

void bind_service(py::module_& m) {
    py::class_<service>(m, "Service", R"doc(
A long-running service over a directory of job files (what `drover serve` runs), in this
process: their schedules, runs started on request with parameters, runs a stop or a crash
interrupted resumed with the same parameters, and the HTTP API with /metrics (docs/service.md).

    with drover.Service("jobs", "state", listen="127.0.0.1:0") as svc:
        run_id = svc.trigger("news", params={"date": ["2018-01-06", "2018-01-07"]})

jobs_dir: every *.toml is a job, its file name without .toml its key. state_dir: each job's
state directory is state_dir/<key>. listen: "host:port" (port 0: a free one, see .port), ""
for no HTTP. tokens_file: lines "admin TOKEN" / "read TOKEN"; without one the API only reads.
pools: {name: places}, pools every job's tasks may name, capped across jobs.
)doc")
        .def(py::init([](const std::string& jobs_dir, const std::string& state_dir, const std::string& listen,
                         py::object tokens_file, py::object reload_interval, std::size_t max_body_bytes,
                         py::object tls_cert_file, py::object tls_key_file, double rate_limit, py::object pools) {
                 service_options o;
                 o.jobs_dir = jobs_dir;
                 o.state_dir = state_dir;
                 o.listen = listen;
                 if (!tokens_file.is_none()) o.tokens_file = py::cast<std::string>(tokens_file);
                 if (!reload_interval.is_none())
                     o.reload_interval = std::chrono::duration_cast<std::chrono::milliseconds>(
                         to_duration(reload_interval, "reload_interval"));
                 o.max_body_bytes = max_body_bytes;
                 if (!tls_cert_file.is_none()) o.tls_cert_file = py::cast<std::string>(tls_cert_file);
                 if (!tls_key_file.is_none()) o.tls_key_file = py::cast<std::string>(tls_key_file);
                 o.rate_limit = rate_limit;
                 if (!pools.is_none()) o.pools = py::cast<std::map<std::string, std::size_t>>(pools);
                 return std::make_unique<service>(std::move(o));
             }),
             py::arg("jobs_dir"), py::arg("state_dir"), py::kw_only(), py::arg("listen") = "127.0.0.1:8080",
             py::arg("tokens_file") = py::none(), py::arg("reload_interval") = py::none(),
             py::arg("max_body_bytes") = std::size_t{1} << 20, py::arg("tls_cert_file") = py::none(),
             py::arg("tls_key_file") = py::none(), py::arg("rate_limit") = 0.0, py::arg("pools") = py::none())
        .def("start", [](service& s) { nogil([&] { s.start(); }); },
             "Loads the jobs, resumes interrupted runs, arms schedules, opens the HTTP listener.")
        .def("stop", [](service& s) { nogil([&] { s.stop(); }); },
             "Cancels the runs going (the next start resumes them) and closes everything.")
        .def("wait", [](service& s) { nogil([&] { s.wait(); }); }, "Blocks until stop() has finished.")
        .def_property_readonly("port", &service::port, "The HTTP API's port (0 without HTTP).")
        .def("jobs", [](const service& s) {
                 py::list out;
                 for (auto& j : s.jobs()) out.append(job_dict(j));
                 return out;
             }, "Every job file as a dict (key, name, error, tasks, schedule, run_id, counts, last_result, ...).")
        .def("job", [](const service& s, const std::string& key) { return job_dict(s.job(key)); }, py::arg("key"))
        .def("trigger",
             [](service& s, const std::string& key, py::object params, bool fresh, bool retry_dead) {
                 auto o = trigger_from(params, fresh, retry_dead);
                 return nogil([&] { return s.trigger(key, o); });
             },
             py::arg("key"), py::kw_only(), py::arg("params") = py::none(), py::arg("fresh") = false,
             py::arg("retry_dead") = false, "Starts a run now; returns its run id. params: {name: str or [str, ...]}.")
        .def("cancel", &service::cancel, py::arg("key"), "Cancels the job's run; False when none is going.")
        .def("cancel_task", &service::cancel_task, py::arg("key"), py::arg("task"))
        .def("retry_task", &service::retry_task, py::arg("key"), py::arg("task"))
        .def("mark_succeeded", &service::mark_succeeded, py::arg("key"), py::arg("task"),
             "Marks a task of the job's running run succeeded without running it; False for a running, succeeded "
             "or skipped task.")
        .def("hosts", [](const service& s, const std::string& key) {
                 py::list out;
                 for (auto& h : s.hosts(key)) out.append(host_dict(h));
                 return out;
             }, py::arg("key"), "The hosts of the fleet executors of the job's running run, as dicts.")
        .def("add_host",
             [](service& s, const std::string& key, const std::string& host, std::optional<std::size_t> executor) {
                 nogil([&] { s.add_host(key, host, executor); });
             },
             py::arg("key"), py::arg("host"), py::kw_only(), py::arg("executor") = py::none(),
             "Adds a host to a fleet executor of the job's running run.")
        .def("drain_host",
             [](service& s, const std::string& key, const std::string& host, bool remove) {
                 nogil([&] { s.drain_host(key, host, remove); });
             },
             py::arg("key"), py::arg("host"), py::kw_only(), py::arg("remove") = false,
             "The host takes no new attempts (remove=True: leaves now, its attempts run again elsewhere).")
        .def("submit", &service::submit, py::arg("key"), py::arg("tasks"), "Adds TaskSpecs to the job's running run.")
        .def("pools", [](const service& s) {
                 py::list out;
                 for (auto& p : s.pools()) {
                     py::dict d;
                     d["name"] = p.name;
                     d["limit"] = p.limit;
                     d["in_use"] = p.in_use;
                     d["waiting"] = p.waiting;
                     out.append(d);
                 }
                 return out;
             }, "The shared pools as dicts (name, limit, in_use, waiting).")
        .def("task_events",
             [](const service& s, const std::string& key, std::uint64_t after, std::size_t limit) {
                 auto got = s.task_events(key, after, limit);
                 py::list events;
                 for (auto& e : got.events) events.append(event_dict(e));
                 py::dict d;
                 d["events"] = events;
                 d["lost"] = got.lost;
                 d["last_seq"] = got.last_seq;
                 return d;
             },
             py::arg("key"), py::kw_only(), py::arg("after") = 0, py::arg("limit") = 1000,
             "The job's events numbered after `after` (runs started and finished, attempts started, tasks' new "
             "states): {'events': [dict, ...], 'lost': N, 'last_seq': N}. Follow a job with after=the last seq.")
        .def("reload", [](service& s) { nogil([&] { s.reload(); }); }, "Looks at jobs_dir for changes now.")
        .def("metrics", &service::metrics, "The Prometheus text of every job's metrics.")
        .def("__enter__", [](service& s) -> service& {
                 nogil([&] { s.start(); });
                 return s;
             }, py::return_value_policy::reference)
        .def("__exit__", [](service& s, py::args) { nogil([&] { s.stop(); }); });

    py::class_<service_client>(m, "Client", R"doc(
A client of a drover service's HTTP API (`drover serve`, or a drover.Service with listen=...).

    c = drover.Client("http://127.0.0.1:8080", token=open("token").read().strip())
    run_id = c.trigger("news", params={"date": "2018-01-06"})
    c.runs("news")            # a pandas DataFrame
    c.tasks("news", state="dead")

Errors carry the service's message: NotFoundError (404), ConflictError (409), ConfigError (a
bad request), Error (no connection, 401, 403, 5xx).
)doc")
        .def(py::init([](const std::string& url, py::object token, py::object timeout, py::object ca_file) {
                 service_client_options o;
                 o.url = url;
                 if (!token.is_none()) o.token = py::cast<std::string>(token);
                 if (!timeout.is_none())
                     o.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(to_duration(timeout, "timeout"));
                 if (!ca_file.is_none()) o.ca_file = py::cast<std::string>(ca_file);
                 return std::make_unique<service_client>(std::move(o));
             }),
             py::arg("url") = "http://127.0.0.1:8080", py::kw_only(), py::arg("token") = py::none(),
             py::arg("timeout") = py::none(), py::arg("ca_file") = py::none())
        .def("jobs", [](service_client& c) {
                 auto v = nogil([&] { return c.jobs(); });
                 return to_python(v.at("jobs"));
             }, "Every job as a dict.")
        .def("job", [](service_client& c, const std::string& key) {
                 auto v = nogil([&] { return c.job(key); });
                 return to_python(v);
             }, py::arg("key"), "The job with its journal's status.")
        .def("runs", [](service_client& c, const std::string& key, std::size_t limit) {
                 auto v = nogil([&] { return c.runs(key, limit); });
                 return frame(v.at("runs"), {"run_id", "status", "started_ms", "finished_ms", "total", "resumed",
                                             "succeeded", "dead", "upstream_failed", "skipped", "records"});
             }, py::arg("key"), py::kw_only(), py::arg("limit") = 50, "The job's runs, newest first, as a DataFrame.")
        .def("tasks",
             [](service_client& c, const std::string& key, py::object state, std::size_t limit, std::size_t offset) {
                 std::string st = state.is_none() ? std::string() : py::cast<std::string>(state);
                 auto v = nogil([&] { return c.tasks(key, st, limit, offset); });
                 return frame(v.at("tasks"), {"id", "state", "attempts", "run_id", "updated_ms", "failure", "message"});
             },
             py::arg("key"), py::kw_only(), py::arg("state") = py::none(), py::arg("limit") = 100, py::arg("offset") = 0,
             "The job's tasks (in id order, those in `state` only when given) as a DataFrame.")
        .def("task", [](service_client& c, const std::string& key, const std::string& id) {
                 auto v = nogil([&] { return c.task(key, id); });
                 return to_python(v);
             }, py::arg("key"), py::arg("task"), "A task with its attempts and their stderr tails.")
        .def("attempt_stderr",
             [](service_client& c, const std::string& key, const std::string& id, int attempt, std::size_t bytes,
                py::object run) {
                 std::string r = run.is_none() ? std::string() : py::cast<std::string>(run);
                 auto v = nogil([&] { return c.attempt_stderr(key, id, attempt, bytes, r); });
                 return to_python(v);
             },
             py::arg("key"), py::arg("task"), py::arg("attempt"), py::kw_only(), py::arg("bytes") = 64 * 1024,
             py::arg("run") = py::none(),
             "The end of an attempt's stderr log (at most 16 MiB) as a dict: task, run_id, attempt, size (of the "
             "whole log), offset (where text starts), text.")
        .def("task_events",
             [](service_client& c, const std::string& key, std::uint64_t after, std::size_t limit) {
                 auto v = nogil([&] { return c.task_events(key, after, limit); });
                 auto df = frame(v.at("events"), {"seq", "time_ms", "run_id", "kind", "task", "state", "attempt",
                                                  "executor", "failure", "exit_code", "elapsed_ms", "records", "message"});
                 df.attr("attrs")["lost"] = to_python(v.at("lost"));
                 df.attr("attrs")["last_seq"] = to_python(v.at("last_seq"));
                 return df;
             },
             py::arg("key"), py::kw_only(), py::arg("after") = 0, py::arg("limit") = 1000,
             "The job's events numbered after `after` as a DataFrame (attrs: lost, last_seq); follow a job with "
             "after=the last seq.")
        .def("trigger",
             [](service_client& c, const std::string& key, py::object params, bool fresh, bool retry_dead) {
                 auto o = trigger_from(params, fresh, retry_dead);
                 return nogil([&] { return c.trigger(key, o); });
             },
             py::arg("key"), py::kw_only(), py::arg("params") = py::none(), py::arg("fresh") = false,
             py::arg("retry_dead") = false, "Starts a run; returns its run id.")
        .def("cancel", [](service_client& c, const std::string& key) { return nogil([&] { return c.cancel(key); }); },
             py::arg("key"))
        .def("cancel_task", [](service_client& c, const std::string& key, const std::string& id) {
                 return nogil([&] { return c.cancel_task(key, id); });
             }, py::arg("key"), py::arg("task"))
        .def("retry_task", [](service_client& c, const std::string& key, const std::string& id) {
                 return nogil([&] { return c.retry_task(key, id); });
             }, py::arg("key"), py::arg("task"))
        .def("mark_succeeded", [](service_client& c, const std::string& key, const std::string& id) {
                 return nogil([&] { return c.mark_succeeded(key, id); });
             }, py::arg("key"), py::arg("task"))
        .def("hosts", [](service_client& c, const std::string& key) {
                 auto v = nogil([&] { return c.hosts(key); });
                 return frame(v.at("hosts"), {"executor", "kind", "host", "state", "running", "started", "since_ms", "reason"});
             }, py::arg("key"), "The hosts of the job's running run, with their health, as a DataFrame.")
        .def("add_host",
             [](service_client& c, const std::string& key, const std::string& host, std::optional<std::size_t> executor) {
                 nogil([&] { c.add_host(key, host, executor); });
             },
             py::arg("key"), py::arg("host"), py::kw_only(), py::arg("executor") = py::none())
        .def("drain_host",
             [](service_client& c, const std::string& key, const std::string& host, bool remove) {
                 nogil([&] { c.drain_host(key, host, remove); });
             },
             py::arg("key"), py::arg("host"), py::kw_only(), py::arg("remove") = false)
        .def("submit", [](service_client& c, const std::string& key, py::object tasks) {
                 auto text = py::cast<std::string>(py::module_::import("json").attr("dumps")(tasks));
                 boost::system::error_code ec;
                 auto v = boost::json::parse(text, ec);
                 if (ec || !v.is_array()) throw py::type_error("tasks must be a list of dicts");
                 return nogil([&] { return c.submit(key, v.as_array()); });
             }, py::arg("key"), py::arg("tasks"),
             "Adds tasks (dicts with the keys of a control line's submit) to the job's running run.")
        .def("pools", [](service_client& c) {
                 auto v = nogil([&] { return c.pools(); });
                 return frame(v.at("pools"), {"name", "limit", "in_use", "waiting"});
             }, "The pools the service's jobs share, as a DataFrame.")
        .def("metrics", [](service_client& c) { return nogil([&] { return c.metrics(); }); })
        .def("reachable", [](service_client& c) { return nogil([&] { return c.reachable(); }); },
             "True when the service answers.");
}

}  // namespace drover::python
