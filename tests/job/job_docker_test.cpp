// Job files with a Docker executor and container keys: what is read, and every mistake
// reported as file:line:column, key and problem.

#include <doctest/doctest.h>

#include <drover/error.hpp>
#include <drover/executors/docker.hpp>
#include <drover/job_file.hpp>

#include <cstdlib>

namespace {

std::string error_of(std::string_view text) {
    try {
        (void)drover::parse_job(text, "d.toml");
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

const std::string task_a = "[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\n";

std::string docker_exec(std::string_view body) {
    return "name = \"j\"\n[[executors]]\nkind = \"docker\"\n" + std::string(body) + "\n" + task_a;
}

}  // namespace

#define CHECK_HAS(msg, part) CHECK_MESSAGE((msg).find(part) != std::string::npos, "message: " << (msg))

TEST_CASE("job docker: executor and container keys are read") {
    auto j = drover::parse_job(R"(name = "crawl"
[[executors]]
kind = "docker"
hosts = ["unix:///run/d.sock", "tcp://10.0.0.5:2376", "https://h:2376"]
slots = 3
tls = true
tls_ca = "/c/ca.pem"
tls_cert = "/c/cert.pem"
tls_key = "/c/key.pem"
default_image = "base:1"
ping_interval = "2s"
down_timeout = "1m"
reap = false

[defaults]
image = "news-crawler"
memory = "256MiB"

[[tasks]]
id = "a"
command = ["crawl"]
cpus = 1.5
network = "host"
pull = "missing"

[[tasks]]
id = "b"
command = ["crawl"]
image = "other:2"
memory = 0
)", "d.toml");
    REQUIRE(j.executors.size() == 1);
    auto& e = j.executors[0];
    CHECK(e.kind == "docker");
    const auto& docker = e.options_as<drover::docker_executor_options>();
    CHECK(docker.hosts == std::vector<std::string>{"unix:///run/d.sock", "tcp://10.0.0.5:2376", "https://h:2376"});
    CHECK(docker.slots_per_host == 3);
    CHECK(docker.tls.enabled);
    CHECK(docker.tls.ca_file == "/c/ca.pem");
    CHECK(docker.tls.cert_file == "/c/cert.pem");
    CHECK(docker.tls.key_file == "/c/key.pem");
    CHECK(docker.default_image == "base:1");
    CHECK(docker.ping_interval == std::chrono::seconds(2));
    CHECK(docker.down_timeout == std::chrono::minutes(1));
    CHECK_FALSE(docker.reap);
    REQUIRE(j.tasks.size() == 2);
    CHECK(j.tasks[0].extension<drover::docker_task_options>()->image == "news-crawler");
    CHECK(j.tasks[0].extension<drover::docker_task_options>()->container.memory == 256u << 20);
    CHECK(j.tasks[0].extension<drover::docker_task_options>()->container.cpus == 1.5);
    CHECK(j.tasks[0].extension<drover::docker_task_options>()->container.network == drover::container_network::host);
    CHECK(j.tasks[0].extension<drover::docker_task_options>()->container.pull == drover::pull_policy::missing);
    CHECK(j.tasks[1].extension<drover::docker_task_options>()->image == "other:2");
    CHECK(j.tasks[1].extension<drover::docker_task_options>()->container.memory == 0);
    CHECK(j.tasks[1].extension<drover::docker_task_options>()->container.network == drover::container_network::none);
    CHECK(j.tasks[1].extension<drover::docker_task_options>()->container.pull == drover::pull_policy::never);
}

TEST_CASE("job docker: no hosts means DOCKER_HOST and friends at run time") {
    auto j = drover::parse_job(docker_exec(""), "d.toml");
    CHECK(j.executors[0].options_as<drover::docker_executor_options>().hosts.empty());
    ::setenv("DOCKER_HOST", "tcp://127.0.0.1:4243", 1);
    ::setenv("DOCKER_TLS_VERIFY", "1", 1);
    ::setenv("DOCKER_CERT_PATH", "/certs", 1);
    auto o = drover::docker_options_from_env(j.executors[0].options_as<drover::docker_executor_options>());
    ::unsetenv("DOCKER_HOST");
    ::unsetenv("DOCKER_TLS_VERIFY");
    ::unsetenv("DOCKER_CERT_PATH");
    CHECK(o.hosts == std::vector<std::string>{"tcp://127.0.0.1:4243"});
    CHECK(o.tls.enabled);
    CHECK(o.tls.ca_file == "/certs/ca.pem");
    CHECK(o.tls.cert_file == "/certs/cert.pem");
    CHECK(o.tls.key_file == "/certs/key.pem");
    auto d = drover::docker_options_from_env({});
    CHECK(d.hosts == std::vector<std::string>{"unix:///var/run/docker.sock"});
    CHECK_FALSE(d.tls.enabled);
}

TEST_CASE("job docker: mistakes name line, column, key and problem") {
    auto m = error_of(docker_exec("hosts = [\"ssh://u@h\"]"));
    CHECK_HAS(m, "d.toml:4:10");
    CHECK_HAS(m, "executors[0].hosts[0]");
    CHECK_HAS(m, "expected unix:///path, tcp://host:port");

    m = error_of(docker_exec("hosts = []"));
    CHECK_HAS(m, "d.toml:4:");
    CHECK_HAS(m, "must name at least one host");

    m = error_of(docker_exec("hosts = \"tcp://h:1\""));
    CHECK_HAS(m, "executors[0].hosts: expected an array of strings, got string");

    m = error_of(docker_exec("hosts = [\"tcp://h:notaport\"]"));
    CHECK_HAS(m, "executors[0].hosts[0]");

    m = error_of(docker_exec("slots = 0"));
    CHECK_HAS(m, "d.toml:4:9");
    CHECK_HAS(m, "executors[0].slots");

    m = error_of(docker_exec("tls_cert = \"/c.pem\""));
    CHECK_HAS(m, "executors[0].tls_cert");
    CHECK_HAS(m, "give both or neither");

    m = error_of(docker_exec("tls_verfy = false"));
    CHECK_HAS(m, "d.toml:4:1");
    CHECK_HAS(m, "did you mean 'tls_verify'");

    m = error_of(docker_exec("ping_interval = \"0s\""));
    CHECK_HAS(m, "executors[0].ping_interval: must be more than 0s");

    m = error_of(docker_exec("default_image = \"\""));
    CHECK_HAS(m, "executors[0].default_image: must not be empty");

    m = error_of(docker_exec("reuse = \"container\""));
    CHECK_HAS(m, "d.toml:4:9");
    CHECK_HAS(m, "executors[0].reuse: must be \"none\" (a container per attempt) or \"slot\" (warm containers), got "
                 "\"container\"");
    m = error_of(docker_exec("reuse = true"));
    CHECK_HAS(m, "executors[0].reuse: expected a string, got boolean");
}

TEST_CASE("job docker: reuse = \"slot\" turns on warm containers") {
    auto reuse_of = [](std::string_view line) {
        auto j = drover::parse_job(docker_exec("hosts = [\"tcp://h:1\"]\n" + std::string(line)), "d.toml");
        return j.executors.at(0).options_as<drover::docker_executor_options>().reuse;
    };
    CHECK(reuse_of("reuse = \"slot\"") == drover::container_reuse::slot);
    CHECK(reuse_of("reuse = \"none\"") == drover::container_reuse::none);
    CHECK(reuse_of("") == drover::container_reuse::none);
}

TEST_CASE("job docker: container key mistakes") {
    auto task = [](std::string_view line) {
        return "name = \"j\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\n" + std::string(line) + "\n";
    };
    auto m = error_of(task("network = \"bridge\""));
    CHECK_HAS(m, "d.toml:5:11");
    CHECK_HAS(m, "tasks[0].network");
    CHECK_HAS(m, "use \"none\" (the default) or \"host\"");

    m = error_of(task("pull = \"always\""));
    CHECK_HAS(m, "tasks[0].pull");
    CHECK_HAS(m, "\"never\" (the default) or \"missing\"");

    m = error_of(task("memory = \"lots\""));
    CHECK_HAS(m, "tasks[0].memory");
    CHECK_HAS(m, "invalid size");

    m = error_of(task("memory = \"1MiB\""));
    CHECK_HAS(m, "at least 6MiB");

    m = error_of(task("cpus = -1"));
    CHECK_HAS(m, "tasks[0].cpus: must be between 0 (no limit) and 1024");

    m = error_of(task("cpus = \"two\""));
    CHECK_HAS(m, "tasks[0].cpus: expected a number");

    m = error_of(task("image = 5"));
    CHECK_HAS(m, "tasks[0].image: expected a string, got integer");

    m = error_of(task("imgae = \"x\""));
    CHECK_HAS(m, "did you mean 'image'");

    m = error_of("name = \"j\"\n[defaults]\nnetwork = \"nat\"\n" + task_a);
    CHECK_HAS(m, "d.toml:3:11");
    CHECK_HAS(m, "defaults.network");
}
