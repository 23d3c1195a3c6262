// HostPoolExecutor: what SshExecutor and DockerExecutor share (hosts that join, drain and
// leave while a run goes on, and their states).

#include "bind.hpp"

#include <pybind11/chrono.h>

namespace drover::python {

py::dict host_to_dict(const host_info& h) {
    py::dict d;
    d["spec"] = h.spec;
    d["state"] = std::string(to_string(h.state));
    d["running"] = h.running;
    d["started"] = h.started;
    d["since"] = h.since;
    d["reason"] = h.reason;
    return d;
}

void set_host_pool(host_pool_options& o, const host_pool_args& a) {
    o.hosts = a.hosts;
    o.slots_per_host = a.slots_per_host;
    o.hosts_file = a.hosts_file;
    o.hosts_command = a.hosts_command;
    o.hosts_refresh = to_duration(a.hosts_refresh, "hosts_refresh");
    o.hosts_timeout = to_duration(a.hosts_timeout, "hosts_timeout");
    o.reprobe_initial = to_duration(a.reprobe_initial, "reprobe_initial");
    o.reprobe_max = to_duration(a.reprobe_max, "reprobe_max");
    o.down_timeout = to_duration(a.down_timeout, "down_timeout");
}

void bind_host_pool_executor(py::module_& m) {
    py::class_<host_pool_executor, executor, std::shared_ptr<host_pool_executor>>(m, "HostPoolExecutor", R"doc(
An executor that runs attempts on a pool of hosts (SshExecutor, DockerExecutor). Hosts may
be added, drained and removed from any thread, before or while a run goes on:

  ex.add_host("tcp://10.0.0.7:2375")   # probed, then takes attempts
  ex.drain_host("tcp://10.0.0.5:2375") # no new attempts; leaves when its running ones end
  ex.remove_host("tcp://10.0.0.6:2375")# leaves now; its attempts go back to the queue
                                       # without spending the tasks' retries
  ex.hosts()                           # [{"spec", "state", "running", "started", "since", "reason"}]

Host sources (constructor keywords): hosts_file (re-read when it changes) and hosts_command
(run every hosts_refresh): hosts that appear join, hosts that disappear drain.
)doc")
        .def("add_host", &host_pool_executor::add_host, py::arg("spec"),
             "Adds a host; ConfigError for a malformed one. A draining host is taken back.")
        .def("drain_host", &host_pool_executor::drain_host, py::arg("spec"),
             "The host takes no new attempts and leaves when its running attempts end.")
        .def("remove_host", &host_pool_executor::remove_host, py::arg("spec"),
             "The host leaves now; its running attempts are retried elsewhere without spending retries.")
        .def(
            "hosts",
            [](const host_pool_executor& e) {
                py::list out;
                for (auto& h : e.hosts()) out.append(host_to_dict(h));
                return out;
            },
            "The hosts that have not left: [{spec, state (probing|up|down|rejected|draining), running, "
            "started, since (datetime, UTC-naive local), reason}].")
        .def("attempts_per_host", &host_pool_executor::attempts_per_host,
             "[(host, attempts started)] in this executor's life, in the order the hosts joined.")
        .def("__repr__", [](py::object self) {
            const auto& e = self.cast<const host_pool_executor&>();
            std::string r = py::str(py::type::of(self).attr("__name__")).cast<std::string>() + "([";
            auto per_host = e.attempts_per_host();
            for (std::size_t i = 0; i < per_host.size(); ++i)
                r += (i ? ", " : "") + py::repr(py::str(per_host[i].first)).cast<std::string>();
            return r + "], slots=" + std::to_string(e.slots()) + ")";
        });
}

}  // namespace drover::python
