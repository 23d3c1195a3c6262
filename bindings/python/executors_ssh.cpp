// SshExecutor: attempts on remote hosts through the system OpenSSH client.

#include "bind.hpp"

namespace drover::python {

void bind_ssh_executor(py::module_& m) {
    const ssh_executor_options d{};
    py::class_<ssh_executor, host_pool_executor, std::shared_ptr<ssh_executor>>(m, "SshExecutor", R"doc(
Runs attempts on remote hosts through the system OpenSSH client: one multiplexed master
connection per host, BatchMode, strict host key checking unless accept_new_host_keys.
A timeout, cancel or lost connection kills the task's whole session on the remote host;
a host that goes down is re-probed with backoff while its tasks run elsewhere.

hosts                 ["host", "user@host", "user@host:port", "[::1]:port", ssh_config alias]
slots_per_host        attempts at once on each host
hosts_file            more hosts, one per line, re-read when it changes
hosts_command         argv printing the current hosts, run every hosts_refresh (killed
                      after hosts_timeout); hosts that appear join, hosts that disappear drain
identity              -i FILE
ssh_options           extra "-o Key=Value" options, e.g. ["UserKnownHostsFile=/x"]
config_file           -F FILE ("" = ~/.ssh/config)
workdir               remote working directory (a task's workdir wins)
accept_new_host_keys  StrictHostKeyChecking=accept-new instead of yes
connect_timeout, kill_grace, hosts_refresh, hosts_timeout, reprobe_initial, reprobe_max,
down_timeout          seconds, "10s" strings or timedeltas
ssh_program           the ssh client to run
max_line_bytes        longer stdout lines become bad records
)doc")
        .def(py::init([](std::vector<std::string> hosts, std::size_t slots_per_host, std::string hosts_file,
                         std::vector<std::string> hosts_command, py::object hosts_refresh, py::object hosts_timeout,
                         std::string identity, std::vector<std::string> ssh_options, std::string config_file,
                         std::string workdir, bool accept_new_host_keys, py::object connect_timeout,
                         py::object kill_grace, py::object reprobe_initial, py::object reprobe_max,
                         py::object down_timeout, std::string ssh_program, std::size_t max_line_bytes) {
                 ssh_executor_options o;
                 set_host_pool(o, {std::move(hosts), slots_per_host, std::move(hosts_file), std::move(hosts_command),
                                   hosts_refresh, hosts_timeout, reprobe_initial, reprobe_max, down_timeout});
                 o.identity = std::move(identity);
                 o.ssh_options = std::move(ssh_options);
                 o.config_file = std::move(config_file);
                 o.workdir = std::move(workdir);
                 o.accept_new_host_keys = accept_new_host_keys;
                 o.connect_timeout = to_duration(connect_timeout, "connect_timeout");
                 o.kill_grace = to_duration(kill_grace, "kill_grace");
                 o.ssh_program = std::move(ssh_program);
                 o.max_line_bytes = max_line_bytes;
                 return std::make_shared<ssh_executor>(std::move(o));
             }),
             py::arg("hosts") = d.hosts, py::kw_only(), py::arg("slots_per_host") = d.slots_per_host,
             py::arg("hosts_file") = d.hosts_file, py::arg("hosts_command") = d.hosts_command,
             py::arg("hosts_refresh") = seconds(d.hosts_refresh), py::arg("hosts_timeout") = seconds(d.hosts_timeout),
             py::arg("identity") = d.identity, py::arg("ssh_options") = d.ssh_options,
             py::arg("config_file") = d.config_file, py::arg("workdir") = d.workdir,
             py::arg("accept_new_host_keys") = d.accept_new_host_keys,
             py::arg("connect_timeout") = seconds(d.connect_timeout), py::arg("kill_grace") = seconds(d.kill_grace),
             py::arg("reprobe_initial") = seconds(d.reprobe_initial), py::arg("reprobe_max") = seconds(d.reprobe_max),
             py::arg("down_timeout") = seconds(d.down_timeout), py::arg("ssh_program") = d.ssh_program,
             py::arg("max_line_bytes") = d.max_line_bytes);
}

}  // namespace drover::python
