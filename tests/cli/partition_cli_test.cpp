// Time-based partitions end to end (issue 17 section 2): `drover run` with a file sink
// partitioned by the record's own timestamp in Asia/Seoul; bad values go to __missing__, or
// with bad_values = "bad_records" to runs/<id>/bad-records.jsonl with task, line and reason.
#include <doctest/doctest.h>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <set>

using namespace drover::test;

namespace {

command_result drover_cli(const temp_dir& d, const std::string& args) {
    return run_shell("cd " + d.path().string() + " && " + DROVER_CLI_PATH + " " + args + " 2>&1");
}

// Every published file under `root` (relative, sorted), without the sink's .drover/.
std::set<std::string> published(const fs::path& root) {
    std::set<std::string> out;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
        if (it->path().filename() == ".drover") {
            it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file()) out.insert(fs::relative(it->path(), root).string());
    }
    return out;
}

std::string zcat(const fs::path& f) { return run_shell("zcat '" + f.string() + "'").output; }

// One task printing: a good record at 2019-01-01T00:00Z (09 in Seoul), one in epoch ms at
// 15:00Z (00 the next day in Seoul), one with an unparseable ts, one without ts; and its
// command takes `-a date=20190101` from the param date = 2019-01-01.
std::string job(const std::string& sink_extra) {
    return "name = \"tp\"\n[sink]\nkind = \"file\"\npath = \"out\"\n"
           "partition = \"dt={record.ts|%Y-%m-%d}/hour={record.ts|%H}\"\ntimezone = \"Asia/Seoul\"\n" +
           sink_extra +
           "[[tasks]]\nid = \"t-{date|%Y%m%d}\"\nparams = { date = \"2019-01-01\" }\n"
           "command = [\"sh\", \"-c\", \"echo '{\\\"ts\\\":1546300800,\\\"arg\\\":\\\"'$1'\\\"}'; "
           "echo '{\\\"ts\\\":1546354800000}'; echo '{\\\"ts\\\":\\\"2019-13-01\\\"}'; echo '{\\\"x\\\":1}'\", "
           "\"sh\", \"-a date={date|%Y%m%d}\"]\n";
}

}  // namespace

TEST_CASE("cli partitions: hourly buckets in Asia/Seoul, bad values under __missing__" * doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", job(""));
    auto r = drover_cli(d, "run job.toml --quiet");
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    // TZ=Asia/Seoul date -d @1546300800 +%Y-%m-%d/%H -> 2019-01-01/09
    // TZ=Asia/Seoul date -d @1546354800 +%Y-%m-%d/%H -> 2019-01-02/00
    CHECK(published(d / "out") == std::set<std::string>{"dt=2019-01-01/hour=09/t-20190101.jsonl.gz",
                                                        "dt=2019-01-02/hour=00/t-20190101.jsonl.gz",
                                                        "dt=__missing__/hour=__missing__/t-20190101.jsonl.gz"});
    CHECK(zcat(d / "out/dt=2019-01-01/hour=09/t-20190101.jsonl.gz") ==
          "{\"ts\":1546300800,\"arg\":\"-a date=20190101\"}\n");
    CHECK(zcat(d / "out/dt=__missing__/hour=__missing__/t-20190101.jsonl.gz") ==
          "{\"ts\":\"2019-13-01\"}\n{\"x\":1}\n");
    CHECK_FALSE(fs::exists(d / ".drover/tp/runs/latest/bad-records.jsonl"));
}

TEST_CASE("cli partitions: bad_values = bad_records keeps them as bad records with task, line and reason" *
          doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", job("bad_values = \"bad_records\"\n"));
    auto r = drover_cli(d, "run job.toml --quiet");
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);  // bad records do not fail a task (see [limits])
    CHECK(published(d / "out") == std::set<std::string>{"dt=2019-01-01/hour=09/t-20190101.jsonl.gz",
                                                        "dt=2019-01-02/hour=00/t-20190101.jsonl.gz"});
    auto bad = split_lines(read_file(d / ".drover/tp/runs/latest/bad-records.jsonl"));
    REQUIRE(bad.size() == 2);
    auto b0 = boost::json::parse(bad[0]).as_object();
    CHECK(b0.at("task").as_string() == "t-20190101");
    CHECK(b0.at("line").as_int64() == 3);
    CHECK(b0.at("error").as_string() ==
          "partition {record.ts|%Y-%m-%d}: field 'ts': '2019-13-01' has no such month");
    CHECK(b0.at("text").as_string() == "{\"ts\":\"2019-13-01\"}");
    auto b1 = boost::json::parse(bad[1]).as_object();
    CHECK(b1.at("line").as_int64() == 4);
    CHECK(b1.at("error").as_string() == "partition {record.ts|%Y-%m-%d}: field 'ts' is missing");
    auto summary = boost::json::parse(read_file(d / ".drover/tp/runs/latest/summary.json")).as_object();
    CAPTURE(summary);
    CHECK(summary.at("records").as_int64() == 2);
    CHECK(summary.at("bad_records").as_int64() == 2);
}
