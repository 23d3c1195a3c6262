// The container lifecycle state machine, driven by scripted daemon answers: the happy path,
// a failure injected at every step, cancellation at every step, and a daemon lost at every step.
#include <doctest/doctest.h>

#include "docker/lifecycle.hpp"

#include <string>
#include <vector>

using namespace drover::docker;
using drover::failure_class;
using boost::beast::http::verb;

namespace {

lifecycle make(drover::pull_policy pull = drover::pull_policy::never) {
    return lifecycle("tcp://127.0.0.1:1", "drover-r-t-1", "img:1", "{}", pull);
}

const std::string inspect_ok = R"({"State":{"Running":false,"OOMKilled":false,"ExitCode":0,"Error":""}})";

// The normal answer to each step.
action answer(lifecycle& l, step s) {
    switch (s) {
        case step::create: return l.on_response(s, 201, R"({"Id":"c1"})");
        case step::start: return l.on_response(s, 204, "");
        case step::logs:
        case step::rest: return l.on_logs_done(200, "", "");
        case step::wait: return l.on_response(s, 200, R"({"StatusCode":0})");
        case step::inspect: return l.on_response(s, 200, inspect_ok);
        case step::remove: return l.on_response(s, 204, "");
        default: FAIL("unexpected step"); return {};
    }
}

const std::vector<step> happy = {step::create, step::start, step::logs, step::inspect, step::rest, step::remove};

}  // namespace

TEST_CASE("lifecycle: create, start, logs, inspect, the rest of the logs, remove") {
    auto l = make();
    auto a = l.begin();
    std::vector<step> seen;
    while (a.what == action::send) {
        seen.push_back(a.at);
        if (a.at == step::create) {
            CHECK(a.method == verb::post);
            CHECK(a.target == "/v1.41/containers/create?name=drover-r-t-1");
            CHECK(a.body == "{}");
        }
        if (a.at == step::logs) CHECK(a.streamed);
        if (a.at == step::logs) CHECK(a.unbounded);
        if (a.at == step::logs) CHECK(a.target == "/v1.41/containers/c1/logs?follow=1&stdout=1&stderr=1");
        if (a.at == step::rest) CHECK(a.target == "/v1.41/containers/c1/logs?stdout=1&stderr=1");
        if (a.at == step::rest) CHECK(a.streamed);
        if (a.at == step::remove) CHECK(a.method == verb::delete_);
        a = answer(l, a.at);
    }
    CHECK(a.what == action::finish);
    CHECK(seen == happy);
    CHECK(l.result().failure == failure_class::none);
    CHECK(l.result().exit_code == 0);
}

TEST_CASE("lifecycle: a container still running after its logs ended is waited for, then inspected again") {
    auto l = make();
    auto a = l.begin();
    while (a.at != step::inspect) a = answer(l, a.at);
    a = l.on_response(step::inspect, 200, R"({"State":{"Running":true,"ExitCode":0}})");
    REQUIRE(a.at == step::wait);
    CHECK(a.unbounded);
    CHECK(a.target == "/v1.41/containers/c1/wait?condition=not-running");
    a = l.on_response(step::wait, 200, R"({"StatusCode":5})");
    REQUIRE(a.at == step::inspect);
    a = l.on_response(step::inspect, 200, R"({"State":{"Running":true,"ExitCode":5}})");  // waited once only
    CHECK(a.at == step::rest);
    CHECK(answer(l, step::rest).at == step::remove);
    answer(l, step::remove);
    CHECK(l.result().failure == failure_class::exit_code);
    CHECK(l.result().exit_code == 5);
}

TEST_CASE("lifecycle: exit code and OOM come from inspect, the container is removed either way") {
    for (bool oom : {false, true}) {
        auto l = make();
        auto a = l.begin();
        while (a.what == action::send && a.at != step::inspect) a = answer(l, a.at);
        REQUIRE(a.at == step::inspect);
        a = l.on_response(step::inspect, 200,
                          std::string(R"({"State":{"OOMKilled":)") + (oom ? "true" : "false") + R"(,"ExitCode":)" +
                              (oom ? "137" : "3") + "}}");
        CHECK(a.at == step::rest);
        CHECK(answer(l, step::rest).at == step::remove);
        CHECK(answer(l, step::remove).what == action::finish);
        CHECK(l.result().failure == (oom ? failure_class::oom_killed : failure_class::exit_code));
        CHECK(l.result().exit_code == (oom ? 137 : 3));
        CHECK(l.result().message.find("tcp://127.0.0.1:1") != std::string::npos);
    }
}

TEST_CASE("lifecycle: a missing image is image_missing with the daemon's message, or pulled when allowed") {
    auto l = make();
    l.begin();
    auto a = l.on_response(step::create, 404, R"({"message":"No such image: img:1"})");
    CHECK(a.what == action::finish);
    CHECK(l.result().failure == failure_class::image_missing);
    CHECK(l.result().message == "image img:1 not found on tcp://127.0.0.1:1: No such image: img:1");

    auto p = make(drover::pull_policy::missing);
    p.begin();
    a = p.on_response(step::create, 404, R"({"message":"No such image: img:1"})");
    REQUIRE(a.at == step::pull);
    CHECK(a.target == "/v1.41/images/create?fromImage=img&tag=1");
    a = p.on_response(step::pull, 200, "{\"status\":\"ok\"}\n");
    CHECK(a.at == step::create);
    a = p.on_response(step::create, 404, R"({"message":"No such image: img:1"})");  // pulled once only
    CHECK(a.what == action::finish);
    CHECK(p.result().failure == failure_class::image_missing);

    auto q = make(drover::pull_policy::missing);
    q.begin();
    q.on_response(step::create, 404, "{}");
    a = q.on_response(step::pull, 200, "{\"errorDetail\":{\"message\":\"connection refused\"}}\n");
    CHECK(a.what == action::finish);
    CHECK(q.result().failure == failure_class::image_missing);
    CHECK(q.result().message.find("connection refused") != std::string::npos);
}

TEST_CASE("lifecycle: an error status at any step after create still removes the container") {
    for (std::size_t k = 1; k < happy.size() - 1; ++k) {  // start .. inspect
        CAPTURE(to_string(happy[k]));
        auto l = make();
        auto a = l.begin();
        while (a.what == action::send && a.at != happy[k]) a = answer(l, a.at);
        REQUIRE(a.at == happy[k]);
        a = happy[k] == step::logs ? l.on_logs_done(500, R"({"message":"daemon says no"})", "")
                                   : l.on_response(happy[k], 500, R"({"message":"daemon says no"})");
        CHECK(a.at == step::remove);
        CHECK(answer(l, step::remove).what == action::finish);
        CHECK(l.result().failure == failure_class::spawn_error);
        CHECK(l.result().message.find("daemon says no") != std::string::npos);
    }
    auto w = make();  // and wait, reached when inspect still saw the container running
    auto a = w.begin();
    while (a.at != step::inspect) a = answer(w, a.at);
    a = w.on_response(step::inspect, 200, R"({"State":{"Running":true,"ExitCode":0}})");
    REQUIRE(a.at == step::wait);
    a = w.on_response(step::wait, 500, R"({"message":"daemon says no"})");
    CHECK(a.at == step::remove);
    CHECK(w.result().message.find("cannot wait for container on tcp://127.0.0.1:1: daemon says no") == 0);

    auto c = make();
    c.begin();
    a = c.on_response(step::create, 409, R"({"message":"Conflict. The container name is already in use"})");
    CHECK(a.what == action::finish);  // nothing was created: nothing to remove
    CHECK(c.result().failure == failure_class::spawn_error);
}

TEST_CASE("lifecycle: a failed read of the rest of the logs fails even an attempt that exited 0") {
    auto l = make();
    auto a = l.begin();
    while (a.at != step::rest) a = answer(l, a.at);
    a = l.on_logs_done(200, "", "log stream ended inside a frame header (3 of 8 bytes)");
    CHECK(a.at == step::remove);
    answer(l, step::remove);
    CHECK(l.result().failure == failure_class::spawn_error);
    CHECK(l.result().message.find("corrupt log stream from tcp://127.0.0.1:1: log stream ended") == 0);
}

TEST_CASE("lifecycle: garbage answers and corrupt log frames fail the attempt clearly") {
    auto l = make();
    l.begin();
    auto a = l.on_response(step::create, 201, "{\"Id\":");
    CHECK(a.what == action::finish);
    CHECK(l.result().failure == failure_class::spawn_error);
    CHECK(l.result().message.find("invalid JSON") != std::string::npos);

    auto f = make();
    a = f.begin();
    while (a.at != step::logs) a = answer(f, a.at);
    a = f.on_logs_done(200, "", "bad log frame header 07 00 00 00 (frame 3)");
    CHECK(a.at == step::remove);
    answer(f, step::remove);
    CHECK(f.result().message.find("corrupt log stream from tcp://127.0.0.1:1: bad log frame header") == 0);
}

TEST_CASE("lifecycle: cancel at every step removes what exists and ends as cancelled") {
    for (std::size_t k = 0; k < happy.size(); ++k) {
        CAPTURE(to_string(happy[k]));
        auto l = make();
        auto a = l.begin();
        while (a.what == action::send && a.at != happy[k]) a = answer(l, a.at);
        auto c = l.on_cancel();
        if (happy[k] == step::create) {
            CHECK(c.what == action::wait);  // let create answer, then remove what it made
            c = answer(l, step::create);
            CHECK(c.at == step::remove);
        } else if (happy[k] == step::remove) {
            CHECK(c.what == action::wait);
            c = answer(l, step::remove);
        } else {
            CHECK(c.at == step::remove);
            CHECK(c.abort_current);
            CHECK(l.on_response(happy[k], 200, "{}").what == action::wait);  // the aborted answer is ignored
        }
        if (c.what == action::send) c = answer(l, step::remove);
        CHECK(c.what == action::finish);
        CHECK(l.result().failure == failure_class::cancelled);
        CHECK(l.on_cancel().what == action::wait);  // once
    }
    auto l = make();
    l.begin();
    l.on_cancel();
    CHECK(l.on_response(step::create, 500, "{}").what == action::finish);  // create failed: nothing to remove
    CHECK(l.result().failure == failure_class::cancelled);
}

TEST_CASE("lifecycle: a daemon lost at any step is executor_lost naming the step") {
    for (auto s : happy) {
        CAPTURE(to_string(s));
        auto l = make();
        auto a = l.begin();
        while (a.what == action::send && a.at != s) a = answer(l, a.at);
        a = l.on_transport_error(s, "tcp://127.0.0.1:1: connect: Connection refused");
        CHECK(a.what == action::finish);
        CHECK(l.daemon_lost());
        CHECK(l.result().failure == failure_class::executor_lost);
        CHECK(l.result().message ==
              "Docker daemon unreachable during " + std::string(to_string(s)) + ": tcp://127.0.0.1:1: connect: Connection refused");
    }
    auto l = make();
    auto a = l.begin();
    while (a.at != step::logs) a = answer(l, a.at);
    l.on_cancel();
    CHECK(l.on_transport_error(step::remove, "reset").what == action::finish);
    CHECK(l.result().failure == failure_class::cancelled);
}
