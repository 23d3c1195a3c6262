// A program using the installed drover the way the README and docs/ show, built with
// -Wall -Wextra -Werror (tests/install/check.cmake): against a static and a shared libdrover,
// through CMake and through pkg-config. Run in an empty directory; exits non-zero with a
// message on the first check that fails.
#include <drover/drover.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <iostream>
#include <memory>
#include <string>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
    if (!ok) {
        std::cerr << "consumer: FAILED: " << what << "\n";
        ++failures;
    }
}

// An observer of the consumer's own: libdrover calls it through its vtable.
struct counting_observer : drover::observer {
    int finished = 0;
    void on_task_finished(const drover::task_spec&, const drover::attempt_outcome&, drover::task_state) override {
        ++finished;
    }
};

void submit_days(drover::scheduler& s, int days) {
    for (int day = 1; day <= days; ++day) {
        auto date = "2018-01-0" + std::to_string(day);
        s.submit({.id = "crawl-" + date,
                  .command = {"sh", "-c", "echo '{\"date\":\"" + date + "\"}'"},
                  .params = {{"date", date}},
                  .retries = 2,
                  .timeout = std::chrono::seconds(30)});
    }
}

// The README's embedding example, with a journal (docs/open-runs.md's style of options).
void readme_run() {
    drover::scheduler s{{.state_dir = "state", .journal = {.enabled = true, .job_name = "consumer"}}};
    s.add_executor(drover::local_executor{{.slots = 2}});
    s.set_sink(drover::file_sink{{.root = "out", .partition = "date={date}"}});
    counting_observer obs;
    s.add_observer(obs);
    submit_days(s, 3);
    auto summary = s.run();
    std::cout << "consumer: " << summary.counts.succeeded << " succeeded\n";
    check(summary.ok() && summary.counts.succeeded == 3, "the README's run succeeds");
    check(obs.finished == 3, "the observer saw 3 tasks finish, got " + std::to_string(obs.finished));
}

// async_run on the consumer's own io_context.
void async_run() {
    boost::asio::io_context io;
    drover::scheduler s{{.state_dir = "state-async"}};
    s.add_executor(drover::local_executor{{.slots = 2}});
    s.set_sink(drover::file_sink{{.root = "out-async"}});
    submit_days(s, 2);
    bool done = false;
    s.async_run(io.get_executor(), [&](std::exception_ptr e, drover::run_summary summary) {
        done = true;
        check(!e && summary.ok() && summary.counts.succeeded == 2, "async_run succeeds");
    });
    io.run();
    check(done, "async_run completes");
}

// s3_sink by value, as docs/sinks.md writes it (not run: no S3 here).
void s3_by_value() {
    drover::scheduler s{{.state_dir = "state-s3"}};
    s.set_sink(drover::s3_sink{{.url = "s3://news-bucket/crawl", .partition = "date={date}"}});
    drover::s3_sink a{{.url = "s3://news-bucket/other", .endpoint = "http://127.0.0.1:9", .path_style = true}};
    drover::s3_sink b = std::move(a);
    check(b.options().url == "s3://news-bucket/other", "a moved s3_sink keeps its options");
}

// Executors and task extensions as docs/executors.md writes them (constructed, not run).
void executors() {
    drover::ssh_executor_options ssh;
    ssh.hosts = {"crawler@node1", "crawler@node2:2222"};
    ssh.slots_per_host = 4;
    auto ex = std::make_shared<drover::ssh_executor>(ssh);
    check(ex->name() == "ssh", "ssh executor");

    drover::docker_executor_options docker;
    docker.hosts = {"tcp://127.0.0.1:2375", "unix:///var/run/docker.sock"};
    docker.slots_per_host = 2;
    docker.default_image = "drover-test:latest";
    check(std::make_shared<drover::docker_executor>(docker)->name() == "docker", "docker executor");

    drover::task_spec t{.id = "t1", .command = {"sh", "-c", "echo '{}'"}};
    t.set_extension(drover::docker_task_options{.image = "news-crawler", .container = {.memory = 256u << 20, .cpus = 1}});
    const auto* d = t.extension<drover::docker_task_options>();
    check(d && d->image == "news-crawler" && d->container.memory == 256u << 20, "docker task extension");
}

// Job files: a kind's options cross the library boundary in a std::any, and a config_error
// thrown inside libdrover is caught here with its location.
void job_files() {
    auto j = drover::parse_job(R"(name = "consumer"
[[executors]]
kind = "local"
slots = 3
[[tasks]]
id = "a"
command = ["true"]
)",
                               "consumer.toml");
    check(j.executors.size() == 1 && j.executors[0].options_as<drover::local_executor_options>().slots == 3,
          "options_as<local_executor_options>");
    try {
        drover::parse_job("name = \"x\"\nslots = 3\n", "bad.toml");
        check(false, "an unknown key throws");
    } catch (const drover::config_error& e) {
        check(e.file() == "bad.toml" && e.line() == 2, std::string("config_error location: ") + e.what());
    }
    check(drover::parse_duration("1m30s") == std::chrono::seconds(90), "parse_duration");
    auto exec = drover::make_exec_job({.command = {"echo", "{}"}, .groups = {{"a", "b"}}, .slots = 1});
    check(exec.tasks.size() == 2, "make_exec_job");
}

}  // namespace

int main() {
    try {
        readme_run();
        async_run();
        s3_by_value();
        executors();
        job_files();
    } catch (const std::exception& e) {
        std::cerr << "consumer: FAILED: " << e.what() << "\n";
        return 1;
    }
    return failures == 0 ? 0 : 1;
}
