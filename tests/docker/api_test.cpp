// Engine API bodies and targets, and parsers fed with canned, malformed and hostile answers.
#include <doctest/doctest.h>

#include "docker/api.hpp"

#include <boost/json.hpp>

using namespace drover::docker;
namespace json = boost::json;

TEST_CASE("api: container names are Docker-safe and carry run, task and attempt") {
    CHECK(container_name("20261122T043512Z-3fa9", "day-2018-01-01", 2) == "drover-20261122T043512Z-3fa9-day-2018-01-01-2");
    CHECK(container_name("r", "k=v.x_y", 1) == "drover-r-k_v.x_y-1");
    // Bytes past ASCII are never letters, whatever the C locale says.
    CHECK(container_name("r", "caf\xc3\xa9 \xe9/x", 1) == "drover-r-caf_____x-1");
}

TEST_CASE("api: ids, names and filters in request targets are percent-encoded") {
    CHECK(url_encode("abc-._~XYZ019") == "abc-._~XYZ019");
    CHECK(url_encode("a/b?c#d%e f&g=h+i") == "a%2Fb%3Fc%23d%25e%20f%26g%3Dh%2Bi");
    CHECK(url_encode(std::string("caf\xc3\xa9\x00\x7f\xff", 8)) == "caf%C3%A9%00%7F%FF");
    CHECK(url_encode("%41") == "%2541");  // an escape in a name is data, encoded again
    CHECK(start_target("../x?y") == "/v1.41/containers/..%2Fx%3Fy/start");
}

TEST_CASE("api: create body has command, env, labels, no network and the limits") {
    drover::task_spec t{.id = "t1", .command = {"sh", "-c", "echo \"$X\" 'q'"}, .env = {{"X", "a b=c"}}};
    t.workdir = "/tmp";
    t.set_extension(drover::docker_task_options{.container = {.memory = 64u << 20, .cpus = 0.5}});
    auto v = json::parse(create_body(t, "img:1", {"run1", "t1", 3, "abcd"})).as_object();
    CHECK(v["Image"] == "img:1");
    CHECK(v["Cmd"] == json::array{"sh", "-c", "echo \"$X\" 'q'"});
    CHECK(v["Env"] == json::array{"X=a b=c"});
    CHECK(v["WorkingDir"] == "/tmp");
    CHECK(v["Tty"] == false);
    auto& labels = v["Labels"].as_object();
    CHECK(labels["drover.run"] == "run1");
    CHECK(labels["drover.task"] == "t1");
    CHECK(labels["drover.attempt"] == "3");
    CHECK(labels["drover.state"] == "abcd");
    auto& host = v["HostConfig"].as_object();
    CHECK(host["NetworkMode"] == "none");
    CHECK(host["Memory"].to_number<std::int64_t>() == 64 << 20);
    CHECK(host["MemorySwap"].to_number<std::int64_t>() == 64 << 20);
    CHECK(host["NanoCpus"].to_number<std::int64_t>() == 500'000'000);

    drover::task_spec plain{.id = "p", .command = {"true"}};
    plain.set_extension(drover::docker_task_options{.container = {.network = drover::container_network::host}});
    auto p = json::parse(create_body(plain, "i", {"r", "p", 1, "s"})).as_object();
    CHECK(p["HostConfig"].as_object()["NetworkMode"] == "host");
    CHECK_FALSE(p["HostConfig"].as_object().contains("Memory"));
    CHECK_FALSE(p["HostConfig"].as_object().contains("NanoCpus"));
    CHECK_FALSE(p.contains("WorkingDir"));
}

TEST_CASE("api: targets are versioned and encoded") {
    CHECK(create_target("drover-a-b-1") == "/v1.41/containers/create?name=drover-a-b-1");
    CHECK(remove_target("abc") == "/v1.41/containers/abc?force=1&v=1");
    CHECK(logs_target("abc") == "/v1.41/containers/abc/logs?follow=1&stdout=1&stderr=1");
    CHECK(wait_target("abc") == "/v1.41/containers/abc/wait?condition=not-running");
    CHECK(list_target("drover.run=r1") ==
          "/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22drover.run%3Dr1%22%5D%7D");
    CHECK(pull_target("busybox") == "/v1.41/images/create?fromImage=busybox&tag=latest");
    CHECK(pull_target("127.0.0.1:5000/x/y:2") == "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fx%2Fy&tag=2");
    CHECK(pull_target("127.0.0.1:5000/x") == "/v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fx&tag=latest");
    CHECK(start_target("a/../b") == "/v1.41/containers/a%2F..%2Fb/start");
}

TEST_CASE("api: the daemon's own error message is kept") {
    CHECK(error_message(404, R"({"message":"No such image: nope:latest"})") == "No such image: nope:latest");
    CHECK(error_message(500, "plain text failure\n") == "plain text failure");
    CHECK(error_message(502, "") == "HTTP 502");
    CHECK(error_message(400, "Client sent an HTTP request to an HTTPS server.\n") ==
          "Client sent an HTTP request to an HTTPS server.");
    auto huge = error_message(500, std::string(100000, 'x'));
    CHECK(huge.size() < 400);
    CHECK(error_message(500, R"({"message": 42})") == R"({"message": 42})");
    // Found by tests/fuzz (docker_api): a message of only spaces gave an empty error.
    CHECK(error_message(500, R"({"message":" "})") == R"({"message":" "})");
    CHECK(error_message(500, "{\"message\":\"\\n\"}\n") == R"({"message":"\n"})");
}

TEST_CASE("api: create, wait and inspect answers") {
    CHECK(parse_create(R"({"Id":"4fa6e0f0c678","Warnings":[]})") == "4fa6e0f0c678");
    auto w = parse_wait(R"({"StatusCode":137,"Error":null})");
    CHECK(w.status_code == 137);
    auto w2 = parse_wait(R"({"StatusCode":1,"Error":{"Message":"boom"}})");
    CHECK(w2.error == "boom");
    auto s = parse_inspect(R"({"Id":"x","State":{"Status":"exited","Running":false,"OOMKilled":true,"ExitCode":137,"Error":""}})");
    CHECK(s.oom_killed);
    CHECK(s.exit_code == 137);
    CHECK_FALSE(s.running);
    auto s2 = parse_inspect(R"({"State":{"Running":true,"ExitCode":0,"Error":"exec: \"nope\": not found"}})");
    CHECK(s2.running);
    CHECK(s2.error == "exec: \"nope\": not found");
}

TEST_CASE("api: malformed and hostile answers are protocol errors that say what was wrong") {
    auto msg = [](auto f) -> std::string {
        try {
            f();
        } catch (const protocol_error& e) {
            return e.what();
        }
        return "(no error)";
    };
    CHECK(msg([] { parse_create("{\"Id\":\"abc"); }).find("container create response: invalid JSON") == 0);
    CHECK(msg([] { parse_create("[]"); }) == "container create response: expected a JSON object");
    CHECK(msg([] { parse_create("{}"); }) == "container create response: no Id");
    CHECK(msg([] { parse_create(R"({"Id":"../../etc"})"); }).find("implausible Id") != std::string::npos);
    CHECK(msg([] { parse_wait(R"({"StatusCode":"zero"})"); }) == "container wait response: StatusCode is not an integer");
    CHECK(msg([] { parse_wait("{}"); }) == "container wait response: no StatusCode");
    CHECK(msg([] { parse_inspect(R"({"State":7})"); }) == "container inspect response: no State");
    CHECK(msg([] { parse_inspect(R"({"State":{}})"); }) == "container inspect response State: no ExitCode");
    CHECK(msg([] { parse_inspect(""); }).find("invalid JSON") != std::string::npos);
    // Nesting bombs are refused, not recursed into.
    CHECK(msg([] { parse_inspect(std::string(100000, '[') + std::string(100000, ']')); }).find("invalid JSON") !=
          std::string::npos);
    CHECK(msg([] { parse_list(R"({"not":"a list"})"); }) == "container list: expected a JSON array");
    CHECK(msg([] { parse_list(R"([{"Names":["/x"]}])"); }) == "container list entry: no Id");
    CHECK(msg([] { parse_wait(std::string("\xff\xfe{", 3)); }).find("invalid JSON") != std::string::npos);
}

TEST_CASE("api: container list with labels, odd entries tolerated") {
    auto l = parse_list(R"([{"Id":"a1","Names":["/drover-r-t-1"],"State":"exited","Labels":{"drover.run":"r","x":"y"}},
                            {"Id":"b2","Names":[],"Labels":null}])");
    REQUIRE(l.size() == 2);
    CHECK(l[0].name == "drover-r-t-1");
    CHECK(l[0].state == "exited");
    CHECK(l[0].labels.at("drover.run") == "r");
    CHECK(l[1].name.empty());
    CHECK(l[1].labels.empty());
}

TEST_CASE("api: pull progress with an error line") {
    CHECK(pull_error("{\"status\":\"Pulling\"}\r\n{\"status\":\"Downloading\"}\r\n") == std::nullopt);
    CHECK(pull_error("{\"status\":\"x\"}\n{\"errorDetail\":{\"message\":\"manifest unknown\"},\"error\":\"manifest unknown\"}\n") ==
          "manifest unknown");
    CHECK(pull_error("garbage\n{\"errorDetail\":{\"message\":\"denied\"}}") == "denied");
    CHECK(pull_error("") == std::nullopt);
    // A blank error message still fails the pull, and says what the daemon sent.
    CHECK(pull_error("{\"status\":\"x\"}\n{\"error\":\"  \"}\n") == R"({"error":"  "})");
}
