// Warm containers without a daemon: the exec API's bodies and parsers (malformed answers
// too), the lifecycle's warm path driven by scripted answers (a failure, a cancel and a lost
// daemon at every step), and the per-host pool of warm containers.
#include <doctest/doctest.h>

#include "docker/api.hpp"
#include "docker/lifecycle.hpp"
#include "executors/docker_warm.hpp"

#include <boost/json.hpp>

#include <string>
#include <vector>

using namespace drover::docker;
using drover::failure_class;
using boost::beast::http::verb;
namespace json = boost::json;

namespace {

lifecycle make(std::string container = "c1") {
    return lifecycle("tcp://127.0.0.1:1", "drover-r-warm-1-0", "img:1", "{\"create\":1}", drover::pull_policy::never,
                     warm_exec{std::move(container), "{\"exec\":1}"});
}

const std::string exec_done = R"({"Running":false,"ExitCode":0,"Pid":12})";

action answer(lifecycle& l, step s) {
    switch (s) {
        case step::create: return l.on_response(s, 201, R"({"Id":"c1"})");
        case step::start: return l.on_response(s, 204, "");
        case step::exec_create: return l.on_response(s, 201, R"({"Id":"e1"})");
        case step::exec_start: return l.on_logs_done(200, "", "");
        case step::exec_inspect: return l.on_response(s, 200, exec_done);
        case step::remove: return l.on_response(s, 204, "");
        default: FAIL("unexpected step " << to_string(s)); return {};
    }
}

// Begins `l` and gives the normal answers until its next request is for step `s`.
action skip_to(lifecycle& l, step s) {
    auto a = l.begin();
    while (a.what == action::send && a.at != s) a = answer(l, a.at);
    REQUIRE(a.at == s);
    return a;
}

std::vector<step> drive(lifecycle& l, action a) {
    std::vector<step> seen;
    while (a.what == action::send) {
        seen.push_back(a.at);
        a = answer(l, a.at);
    }
    CHECK(a.what == action::finish);
    return seen;
}

}  // namespace

TEST_CASE("warm api: exec bodies, targets and the warm container's body") {
    drover::task_spec t{.id = "a", .command = {"echo", "it's"}, .env = {{"K", "v 1"}}, .workdir = "/w"};
    auto body = json::parse(exec_create_body(t)).as_object();
    auto& cmd = body["Cmd"].as_array();
    REQUIRE(cmd.size() == 6);
    CHECK(cmd[0] == "sh");
    CHECK(cmd[1] == "-c");
    CHECK(std::string(cmd[2].as_string()).find("setsid \"$@\"") != std::string::npos);
    CHECK(cmd[3] == "drover");  // $0; the task's argv follows unquoted (no shell parses it)
    CHECK(cmd[4] == "echo");
    CHECK(cmd[5] == "it's");
    CHECK(body["Env"].as_array() == json::array{"K=v 1"});
    CHECK(body["WorkingDir"] == "/w");
    CHECK(body["AttachStdout"] == true);
    CHECK(body["AttachStderr"] == true);
    CHECK(body["AttachStdin"] == false);
    CHECK(body["Tty"] == false);
    CHECK_FALSE(json::parse(exec_create_body({.id = "b", .command = {"x"}})).as_object().contains("WorkingDir"));

    CHECK(exec_create_target("c/1") == "/v1.41/containers/c%2F1/exec");
    CHECK(exec_start_target("e1") == "/v1.41/exec/e1/start");
    CHECK(exec_inspect_target("e1") == "/v1.41/exec/e1/json");
    CHECK(json::parse(exec_start_body) == json::parse(R"({"Detach":false,"Tty":false})"));

    container_labels l{"r1", "", 0, "s"};
    auto warm = json::parse(warm_create_body(t, "img:1", l)).as_object();
    CHECK(warm["Image"] == "img:1");
    CHECK(warm["Env"].as_array().empty());  // each exec brings its own
    CHECK_FALSE(warm.contains("WorkingDir"));
    CHECK(warm["Labels"].as_object()["drover.warm"] == "1");
    CHECK(warm["Labels"].as_object()["drover.run"] == "r1");
    CHECK(warm["HostConfig"].as_object()["NetworkMode"] == "none");
    CHECK(warm_container_name("20181231T000000Z-ab12", 7) == "drover-20181231T000000Z-ab12-warm-7");

    drover::task_spec big = t;
    big.set_extension(drover::docker_task_options{.image = "x", .container = {.memory = 64 << 20}});
    CHECK(warm_key(t, "img:1") == warm_key(drover::task_spec{.id = "other", .command = {"y"}}, "img:1"));
    CHECK(warm_key(t, "img:1") != warm_key(t, "img:2"));
    CHECK(warm_key(t, "img:1") != warm_key(big, "img:1"));
}

TEST_CASE("warm api: exec answers that are malformed or hostile are protocol errors") {
    CHECK(parse_exec_create(R"({"Id":"e1"})") == "e1");
    CHECK_THROWS_WITH_AS(parse_exec_create("{"), doctest::Contains("exec create response: invalid JSON"), protocol_error);
    CHECK_THROWS_WITH_AS(parse_exec_create("[]"), "exec create response: expected a JSON object", protocol_error);
    CHECK_THROWS_WITH_AS(parse_exec_create(R"({"Id":""})"), "exec create response: no Id", protocol_error);
    CHECK_THROWS_WITH_AS(parse_exec_create(R"({"Id":"../../x?y"})"), doctest::Contains("implausible Id"),
                         protocol_error);
    CHECK_THROWS_WITH_AS(parse_exec_create(R"({"Id":")" + std::string(5000, 'a') + "\"}"),
                         doctest::Contains("implausible Id"), protocol_error);

    auto done = parse_exec_inspect(exec_done);
    CHECK_FALSE(done.running);
    CHECK(done.exit_code == 0);
    CHECK(parse_exec_inspect(R"({"Running":true,"ExitCode":null})").running);
    CHECK(parse_exec_inspect(R"({"Running":false,"ExitCode":137})").exit_code == 137);
    CHECK_THROWS_WITH_AS(parse_exec_inspect(R"({"ExitCode":0})"), "exec inspect response: no Running", protocol_error);
    CHECK_THROWS_WITH_AS(parse_exec_inspect(R"({"Running":"no","ExitCode":0})"), "exec inspect response: no Running",
                         protocol_error);
    CHECK_THROWS_WITH_AS(parse_exec_inspect(R"({"Running":false})"), "exec inspect response: no ExitCode",
                         protocol_error);
    CHECK_THROWS_WITH_AS(parse_exec_inspect(R"({"Running":false,"ExitCode":"0"})"),
                         "exec inspect response: ExitCode is not an integer", protocol_error);
    CHECK_THROWS_AS(parse_exec_inspect(std::string(100, '[') + std::string(100, ']')), protocol_error);
}

TEST_CASE("warm lifecycle: an exec in the slot's container, which stays for the next task") {
    auto l = make();
    auto a = l.begin();
    REQUIRE(a.at == step::exec_create);
    CHECK(a.method == verb::post);
    CHECK(a.target == "/v1.41/containers/c1/exec");
    CHECK(a.body == "{\"exec\":1}");
    a = answer(l, a.at);
    REQUIRE(a.at == step::exec_start);
    CHECK(a.streamed);
    CHECK(a.unbounded);
    CHECK(a.target == "/v1.41/exec/e1/start");
    a = answer(l, a.at);
    REQUIRE(a.at == step::exec_inspect);
    CHECK(a.target == "/v1.41/exec/e1/json");
    a = answer(l, a.at);
    CHECK(a.what == action::finish);
    CHECK(l.result().failure == failure_class::none);
    CHECK(l.keep_container());
    CHECK(l.container_id() == "c1");
}

TEST_CASE("warm lifecycle: a slot without a container creates and starts one first") {
    auto l = make("");
    CHECK(drive(l, l.begin()) ==
          std::vector<step>{step::create, step::start, step::exec_create, step::exec_start, step::exec_inspect});
    CHECK(l.keep_container());
    CHECK(l.container_id() == "c1");
}

TEST_CASE("warm lifecycle: a failing task gets its container removed, and an exec still running is asked again") {
    auto l = make();
    auto a = skip_to(l, step::exec_inspect);
    a = l.on_response(step::exec_inspect, 200, R"({"Running":true,"ExitCode":null})");
    REQUIRE(a.at == step::exec_inspect);
    a = l.on_response(step::exec_inspect, 200, R"({"Running":false,"ExitCode":3})");
    REQUIRE(a.at == step::remove);
    CHECK(a.target == "/v1.41/containers/c1?force=1&v=1");
    a = answer(l, a.at);
    CHECK(a.what == action::finish);
    CHECK(l.result().failure == failure_class::exit_code);
    CHECK(l.result().exit_code == 3);
    CHECK(l.result().message == "exit code 3 on tcp://127.0.0.1:1");
    CHECK_FALSE(l.keep_container());

    // Killed by SIGKILL: perhaps the memory limit (Docker's OOMKilled is about PID 1 only).
    auto k = make();
    a = skip_to(k, step::exec_inspect);
    a = k.on_response(step::exec_inspect, 200, R"({"Running":false,"ExitCode":137})");
    REQUIRE(a.at == step::remove);
    answer(k, a.at);
    CHECK(k.result().failure == failure_class::exit_code);
    CHECK(k.result().message == "exit code 137 on tcp://127.0.0.1:1: killed (SIGKILL; over the container's memory "
                                "limit?)");

    // An exec that never stops running after its output ended: a bounded number of asks.
    auto r = make();
    a = skip_to(r, step::exec_inspect);
    int asks = 0;
    while (a.at == step::exec_inspect && asks < 1000) {
        a = r.on_response(step::exec_inspect, 200, R"({"Running":true})");
        ++asks;
    }
    CHECK(asks < 1000);
    REQUIRE(a.at == step::remove);
    answer(r, a.at);
    CHECK(r.result().failure == failure_class::spawn_error);
}

TEST_CASE("warm lifecycle: the slot's container is gone - the attempt is lost, not failed") {
    for (unsigned status : {404u, 409u}) {
        CAPTURE(status);
        auto l = make();
        auto a = l.on_response(step::exec_create, 0, "");  // not the current step yet: ignored
        CHECK(a.what == action::wait);
        a = l.begin();
        a = l.on_response(step::exec_create, status, R"({"message":"No such container: c1"})");
        REQUIRE(a.at == step::remove);
        answer(l, a.at);
        CHECK(l.result().failure == failure_class::executor_lost);
        CHECK(l.result().message ==
              "warm container drover-r-warm-1-0 on tcp://127.0.0.1:1 is gone: No such container: c1");
        CHECK_FALSE(l.keep_container());
    }
    auto l = make();
    l.begin();
    auto a = l.on_response(step::exec_create, 500, R"({"message":"boom"})");
    answer(l, a.at);
    CHECK(l.result().failure == failure_class::spawn_error);
    CHECK(l.result().message == "cannot exec in container drover-r-warm-1-0 on tcp://127.0.0.1:1: boom");
}

TEST_CASE("warm lifecycle: a corrupt or refused exec stream and malformed answers fail the attempt and remove") {
    auto corrupt = make();
    auto a = skip_to(corrupt, step::exec_start);
    a = corrupt.on_logs_done(200, "", "frame header says stream 7");
    REQUIRE(a.at == step::remove);
    answer(corrupt, a.at);
    CHECK(corrupt.result().failure == failure_class::spawn_error);
    CHECK(corrupt.result().message == "corrupt exec stream from tcp://127.0.0.1:1: frame header says stream 7");

    auto refused = make();
    a = skip_to(refused, step::exec_start);
    a = refused.on_logs_done(404, R"({"message":"No such exec instance"})", "");
    answer(refused, a.at);
    CHECK(refused.result().message == "cannot start exec on tcp://127.0.0.1:1: No such exec instance");

    auto garbage = make();
    a = garbage.begin();
    a = garbage.on_response(step::exec_create, 201, "<html>");
    REQUIRE(a.at == step::remove);
    answer(garbage, a.at);
    CHECK(garbage.result().failure == failure_class::spawn_error);
    CHECK(garbage.result().message.find("exec create response: invalid JSON") != std::string::npos);

    auto bad_inspect = make();
    a = skip_to(bad_inspect, step::exec_inspect);
    a = bad_inspect.on_response(step::exec_inspect, 200, R"({"Running":false})");
    REQUIRE(a.at == step::remove);
    answer(bad_inspect, a.at);
    CHECK(bad_inspect.result().failure == failure_class::spawn_error);
    CHECK_FALSE(bad_inspect.keep_container());
}

TEST_CASE("warm lifecycle: a cancel at every step removes the container - a daemon lost at every step loses it") {
    const std::vector<step> steps{step::create, step::start, step::exec_create, step::exec_start, step::exec_inspect};
    for (std::size_t k = 0; k < steps.size(); ++k) {
        CAPTURE(to_string(steps[k]));
        auto l = make("");
        skip_to(l, steps[k]);
        auto c = l.on_cancel();
        if (steps[k] == step::create) {
            CHECK(c.what == action::wait);  // the create's answer decides what to remove
            c = answer(l, step::create);
        } else {
            CHECK(c.abort_current);
        }
        REQUIRE(c.at == step::remove);
        CHECK(c.target == "/v1.41/containers/c1?force=1&v=1");
        c = answer(l, c.at);
        CHECK(c.what == action::finish);
        CHECK(l.result().failure == failure_class::cancelled);
        CHECK_FALSE(l.keep_container());

        auto lost = make("");
        skip_to(lost, steps[k]);
        auto a = lost.on_transport_error(steps[k], "connection refused");
        CHECK(a.what == action::finish);
        CHECK(lost.daemon_lost());
        CHECK(lost.result().failure == failure_class::executor_lost);
        CHECK_FALSE(lost.keep_container());
    }
}

TEST_CASE("warm pool: one container per slot and key, idle ones reused, evicted for another key") {
    drover::detail::warm_pool pool(2);
    int made = 0;
    auto name = [&] { return "w" + std::to_string(++made); };
    auto a = pool.acquire("img:1", name);
    CHECK(a.name == "w1");
    CHECK(a.id.empty());  // create it first
    auto b = pool.acquire("img:1", name);
    CHECK(b.name == "w2");
    pool.release("w1", std::string("c1"));
    auto c = pool.acquire("img:1", name);
    CHECK(c.name == "w1");
    CHECK(c.id == "c1");
    CHECK_FALSE(c.evicted);
    pool.release("w1", std::string("c1"));
    // Another image with both slots taken: the idle container of the other key makes room.
    auto d = pool.acquire("img:2", name);
    CHECK(d.name == "w3");
    REQUIRE(d.evicted);
    CHECK(d.evicted->name == "w1");
    CHECK(d.evicted->id == "c1");
    CHECK(pool.size() == 2);
    // A failed attempt's container is forgotten (the lifecycle removed it).
    pool.release("w2", std::nullopt);
    CHECK(pool.size() == 1);
    pool.release("w3", std::string("c3"));
    pool.release("nope", std::string("x"));  // unknown: nothing
    CHECK(pool.size() == 1);
    auto idle = pool.take_idle();
    REQUIRE(idle.size() == 1);
    CHECK(idle[0].id == "c3");
    CHECK(pool.size() == 0);
    // A creation that failed (no id) is not kept.
    auto e = pool.acquire("img:1", name);
    pool.release(e.name, std::string());
    CHECK(pool.size() == 0);
}
