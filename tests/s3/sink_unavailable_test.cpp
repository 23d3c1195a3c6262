// A sink that refuses every commit (a wrong secret, a missing bucket) is not the tasks' fault:
// the run stops dispatching at the first such commit and ends halted with one clear reason,
// without spending retries or dead-lettering; the records stay in the spool, and the next run
// with the right credentials uploads them and marks their tasks succeeded without running
// them again. Against a real s3rver (which checks SigV4 signatures).
#include <drover/executors/local.hpp>
#include <drover/scheduler.hpp>
#include <drover/sinks/s3.hpp>

#include "services/s3rver.hpp"
#include "support/support.hpp"

#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>

using namespace drover::test;

namespace {

constexpr int task_count = 12;

bool skip_without_s3rver() {
    auto why = s3rver_unavailable();
    if (why.empty()) return false;
    if (services_required()) FAIL("s3rver required: " << why);
    MESSAGE("skipped: " << why);
    return true;
}

// Each task leaves a side effect (one line per run of it) and prints two records.
std::vector<drover::task_spec> tasks(const fs::path& side) {
    std::vector<drover::task_spec> out;
    for (int i = 0; i < task_count; ++i) {
        drover::task_spec t;
        t.id = fmt::format("t{:02}", i);
        t.command = {"sh", "-c",
                     fmt::format("echo run >> {0}/{1}; sleep 0.05; echo '{{\"t\":{2},\"k\":0}}'; echo '{{\"t\":{2},\"k\":1}}'",
                                 side.string(), t.id, i)};
        t.retries = 3;
        out.push_back(std::move(t));
    }
    return out;
}

drover::run_summary run(const fs::path& state, drover::s3_sink_options o, const fs::path& side) {
    drover::scheduler s({.state_dir = state, .journal = {.enabled = true}});
    s.add_executor(std::make_shared<drover::local_executor>(drover::local_executor_options{.slots = 3}));
    s.set_sink(std::make_shared<drover::s3_sink>(std::move(o)));
    for (auto& t : tasks(side)) s.submit(std::move(t));
    return s.run();
}

int runs_of(const fs::path& side, const std::string& id) {
    return fs::exists(side / id) ? static_cast<int>(split_lines(read_file(side / id)).size()) : 0;
}

}  // namespace

TEST_CASE("s3 sink unavailable: a wrong secret halts the run at once, keeps the spool, and the next run marks "
          "the spooled tasks succeeded without running them" *
          doctest::timeout(180)) {
    if (skip_without_s3rver()) return;
    s3rver srv;
    temp_dir d;
    fs::create_directories(d / "side");
    auto bad = srv.sink_options("unavail");
    bad.credentials->secret_access_key = "WRONG-SECRET-VALUE";
    auto first = run(d / "state", bad, d / "side");

    CHECK_FALSE(first.ok());
    CHECK(first.exit_code() == 1);
    CHECK(first.halted);
    INFO("halt reason: " << first.halt_reason);
    CHECK(first.halt_reason.find("SignatureDoesNotMatch") != std::string::npos);
    CHECK(first.halt_reason.find("WRONG-SECRET-VALUE") == std::string::npos);
    CHECK(first.counts.dead == 0);  // nobody's fault: no dead letters, no retries spent
    int attempted = 0;
    for (const auto& t : first.tasks) {
        INFO(t.id);
        CHECK(t.attempts <= 1);
        CHECK(t.state != drover::task_state::dead);
        attempted += t.attempts;
    }
    CHECK(attempted >= 1);
    CHECK(attempted <= 3);  // what was running when the first commit failed (3 slots)
    CHECK(first.counts.skipped == static_cast<std::size_t>(task_count));
    CHECK_FALSE(fs::exists(d / "state/runs" / first.run_id / "dead-letter.jsonl"));
    auto pending = list_files(d / "state/s3-spool/pending");
    CHECK(std::count_if(pending.begin(), pending.end(), [](auto& f) { return f.ends_with("/index"); }) == attempted);

    auto second = run(d / "state", srv.sink_options("unavail"), d / "side");
    CHECK(second.ok());
    CHECK(second.exit_code() == 0);
    std::size_t resumed = 0;
    for (const auto& t : second.tasks) {
        INFO(t.id);
        CHECK(t.state == drover::task_state::succeeded);
        CHECK(runs_of(d / "side", t.id) == 1);  // each task ran exactly once over both runs
        resumed += t.resumed;
    }
    CHECK(resumed == static_cast<std::size_t>(attempted));
    CHECK(second.counts.resumed == static_cast<std::size_t>(attempted));
    CHECK(list_files(d / "state/s3-spool/pending").empty());

    // Every record once, from both runs.
    auto r = run_shell(srv.aws() + " cp --recursive --quiet s3://test/unavail/ " + (d / "down").string() + " 2>&1");
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    auto records = read_records(d / "down");
    CHECK(records.size() == 2 * task_count);
    std::sort(records.begin(), records.end());
    CHECK(std::adjacent_find(records.begin(), records.end()) == records.end());
}

TEST_CASE("s3 sink unavailable: a missing bucket halts the run with NoSuchBucket, tasks keep their retries" *
          doctest::timeout(120)) {
    if (skip_without_s3rver()) return;
    s3rver srv;
    temp_dir d;
    fs::create_directories(d / "side");
    auto o = srv.sink_options("x");
    o.url = "s3://no-such-bucket/x";
    auto sum = run(d / "state", o, d / "side");
    CHECK(sum.halted);
    INFO("halt reason: " << sum.halt_reason);
    CHECK(sum.halt_reason.find("NoSuchBucket") != std::string::npos);
    CHECK(sum.counts.dead == 0);
    for (const auto& t : sum.tasks) CHECK(t.attempts <= 1);
}
