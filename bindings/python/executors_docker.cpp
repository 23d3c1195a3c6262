// DockerExecutor: attempts as containers on a fleet of Docker daemons (Engine API).

#include "bind.hpp"

#include <drover/executors/docker.hpp>

namespace drover::python {

void bind_docker_executor(py::module_& m) {
    const docker_executor_options d{};
    const docker_tls_options dt{};
    py::class_<docker_executor, host_pool_executor, std::shared_ptr<docker_executor>>(m, "DockerExecutor", R"doc(
Runs attempts as containers on Docker daemons, over the Engine API: create, start, follow
logs (stdout lines are records), wait, inspect, remove. A timeout or cancel removes the
container by force. Tasks choose their image (TaskSpec image=) and their limits, network and
pull policy (TaskSpec container={"memory": bytes, "cpus": 1.5, "network": "none"|"host",
"pull": "never"|"missing"}). A daemon that stops answering is marked down, its attempts are
retried elsewhere, and it is re-probed with backoff; when every daemon has been down for
down_timeout the run fails with an ExecutorError-style message naming the hosts.

hosts            ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375", "https://host:2376"];
                 [] = DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH, as the docker CLI
slots_per_host   containers at once on each daemon (>= 1)
hosts_file       more daemons, one per line, re-read when it changes
hosts_command    argv printing the current daemons, run every hosts_refresh (killed after
                 hosts_timeout); daemons that appear join, daemons that disappear drain
tls              TLS on every tcp:// host (https:// hosts always use TLS)
tls_ca_file, tls_cert_file, tls_key_file
                 PEM files: CA of the daemons ("" = system CAs), client certificate and key
tls_verify       verify the daemon's certificate and address
default_image    image of tasks without one; "" = such tasks fail
connect_timeout, request_timeout, ping_interval, hosts_refresh, hosts_timeout,
reprobe_initial, reprobe_max, down_timeout
                 seconds, "10s" strings or timedeltas
max_line_bytes   longer stdout lines become bad records
reap             remove leftover containers of dead runs of the same state directory
reuse            "none": a container per attempt; "slot": warm containers, one per slot,
                 each task an exec in it (shared filesystem; a failed task's container is
                 replaced). The image needs sh and setsid.

A malformed host raises ConfigError naming it.
)doc")
        .def(py::init([](std::vector<std::string> hosts, std::size_t slots_per_host, std::string hosts_file,
                         std::vector<std::string> hosts_command, py::object hosts_refresh, py::object hosts_timeout,
                         bool tls, std::string tls_ca_file,
                         std::string tls_cert_file, std::string tls_key_file, bool tls_verify,
                         std::string default_image, py::object connect_timeout, py::object request_timeout,
                         py::object ping_interval, py::object reprobe_initial, py::object reprobe_max,
                         py::object down_timeout, std::size_t max_line_bytes, bool reap,
                         const std::string& reuse) {
                 docker_executor_options o;
                 set_host_pool(o, {std::move(hosts), slots_per_host, std::move(hosts_file), std::move(hosts_command),
                                   hosts_refresh, hosts_timeout, reprobe_initial, reprobe_max, down_timeout});
                 o.tls.enabled = tls;
                 o.tls.ca_file = std::move(tls_ca_file);
                 o.tls.cert_file = std::move(tls_cert_file);
                 o.tls.key_file = std::move(tls_key_file);
                 o.tls.verify = tls_verify;
                 o.default_image = std::move(default_image);
                 o.connect_timeout = to_duration(connect_timeout, "connect_timeout");
                 o.request_timeout = to_duration(request_timeout, "request_timeout");
                 o.ping_interval = to_duration(ping_interval, "ping_interval");
                 o.max_line_bytes = max_line_bytes;
                 o.reap = reap;
                 if (reuse == "slot") o.reuse = container_reuse::slot;
                 else if (reuse != "none")
                     throw config_error("reuse must be \"none\" or \"slot\", got \"" + reuse + "\"");
                 return std::make_shared<docker_executor>(std::move(o));
             }),
             py::kw_only(), py::arg("hosts") = d.hosts, py::arg("slots_per_host") = d.slots_per_host,
             py::arg("hosts_file") = d.hosts_file, py::arg("hosts_command") = d.hosts_command,
             py::arg("hosts_refresh") = seconds(d.hosts_refresh), py::arg("hosts_timeout") = seconds(d.hosts_timeout),
             py::arg("tls") = dt.enabled, py::arg("tls_ca_file") = dt.ca_file,
             py::arg("tls_cert_file") = dt.cert_file, py::arg("tls_key_file") = dt.key_file,
             py::arg("tls_verify") = dt.verify, py::arg("default_image") = d.default_image,
             py::arg("connect_timeout") = seconds(d.connect_timeout),
             py::arg("request_timeout") = seconds(d.request_timeout),
             py::arg("ping_interval") = seconds(d.ping_interval),
             py::arg("reprobe_initial") = seconds(d.reprobe_initial), py::arg("reprobe_max") = seconds(d.reprobe_max),
             py::arg("down_timeout") = seconds(d.down_timeout), py::arg("max_line_bytes") = d.max_line_bytes,
             py::arg("reap") = d.reap, py::arg("reuse") = "none");
}

}  // namespace drover::python
