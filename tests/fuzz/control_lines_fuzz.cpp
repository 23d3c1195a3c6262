// Task control lines: `{"$drover": {"submit": {task}}}` on a task's stdout, read as the attempt
// reads them (scheduler/attempt.cpp: JSON with the record parser's depth limit, then the task
// codec, task_from_json, over a job's defaults with the Docker extension known). Only
// config_error may come out for bad input, and it must say which key is wrong. A task that
// reads back must survive the journal's round trip (task_to_json, then task_from_journal)
// unchanged in everything the journal keeps. Secret env variables are not kept: their values
// never reach the JSON, and a recreated task takes them from the defaults, or goes without
// (docs/workflows.md, "Secrets are not journaled").
//
// Input: the control line's "submit" value, or a whole line when it starts with '{"$'.
#include "fuzz/fuzz.hpp"

#include "detail/secrets.hpp"
#include "scheduler/task_json.hpp"

#include <drover/error.hpp>
#include <drover/executors/docker_task.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>

namespace drover::fuzz {

namespace {

const task_spec& defaults() {
    static const task_spec d = [] {
        task_spec t;
        t.retries = 2;
        t.env = {{"REGION", "eu-{date}"}, {"AWS_SECRET_ACCESS_KEY", "s3cr3t-{date}"}};
        t.set_extension(docker_task_options{.image = "base:1", .container = {.memory = 64u << 20}});
        return t;
    }();
    return d;
}

}  // namespace

void control_lines(std::string_view in) {
    boost::json::parse_options po;
    po.max_depth = 64;  // as the attempt's record parser
    boost::json::parser p(boost::json::storage_ptr(), po);
    boost::system::error_code ec;
    p.write(in.data(), in.size(), ec);
    if (ec) return;  // not JSON: a bad record, not a control line
    boost::json::value v = p.release();
    if (!v.is_object()) return;
    const boost::json::value* body = &v;
    if (const auto* ctl = v.get_object().if_contains("$drover")) {
        if (!ctl->is_object() || ctl->get_object().size() != 1) return;
        body = ctl->get_object().if_contains("submit");
        if (!body) return;
    }
    if (!body->is_object()) return;
    task_spec t;
    try {
        t = detail::task_from_json(body->get_object(), defaults());
    } catch (const config_error& e) {
        std::string_view what = e.what();
        DROVER_FUZZ_CHECK(!what.empty() && what.find(':') != std::string_view::npos, what);
        return;
    }
    DROVER_FUZZ_CHECK(!t.id.empty(), "a task read without an id");
    DROVER_FUZZ_CHECK(!t.command.empty(), "a task read without a command");

    auto json = detail::task_to_json(t);
    task_spec back;
    try {
        back = detail::task_from_journal(boost::json::parse(json).as_object(), defaults());
    } catch (const std::exception& e) {
        DROVER_FUZZ_CHECK(false, std::string("the journal's JSON of a task does not read back: ") + e.what() + ": " + json);
    }
    DROVER_FUZZ_CHECK(back.id == t.id && back.command == t.command && back.params == t.params && back.after == t.after,
                      json);
    DROVER_FUZZ_CHECK(back.retries == t.retries && back.timeout == t.timeout && back.pool == t.pool &&
                          back.workdir == t.workdir && back.control_lines == t.control_lines &&
                          back.speculate == t.speculate,
                      json);
    // The journal's JSON names the secrets without their values; everything else comes back as
    // it was, a secret from the defaults' template of that name or not at all.
    const auto written = boost::json::parse(json).as_object();
    const auto& env = written.at("env").as_object();
    std::size_t secrets = 0;
    for (const auto& [k, v] : t.env) {
        if (detail::is_secret_env(k, v)) {
            ++secrets;
            DROVER_FUZZ_CHECK(!env.contains(k), "a secret's value in the journal: " + json);
            DROVER_FUZZ_CHECK(back.env.contains(k) == defaults().env.contains(k), json);
        } else {
            DROVER_FUZZ_CHECK(back.env.contains(k) && back.env.at(k) == v, json);
        }
    }
    DROVER_FUZZ_CHECK(secrets == (written.contains("redacted_env") ? written.at("redacted_env").as_array().size() : 0),
                      json);
    for (const auto& [k, v] : back.env) DROVER_FUZZ_CHECK(t.env.contains(k), "a variable the task did not have: " + json);
    const auto* a = t.extension<docker_task_options>();
    const auto* b = back.extension<docker_task_options>();
    DROVER_FUZZ_CHECK((a == nullptr) == (b == nullptr), json);
    if (a && b) DROVER_FUZZ_CHECK(a->image == b->image && a->container.memory == b->container.memory, json);
}

}  // namespace drover::fuzz
