// file_sink with time-formatted partitions (issue 17 section 2): the options struct's
// timezone and bad_values, checked at construction, and a refused record that leaves the
// writer usable.
#include <drover/error.hpp>
#include <drover/sinks/file.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <map>

using namespace drover;
using namespace drover::test;

namespace {

file_sink_options opts(const fs::path& root, std::string partition, std::string zone,
                       bad_value_policy policy = bad_value_policy::missing_partition) {
    file_sink_options o;
    o.root = root;
    o.partition = std::move(partition);
    o.timezone = std::move(zone);
    o.bad_values = policy;
    o.fsync = false;
    return o;
}

void put(sink_writer& w, const std::string& line) {
    boost::json::value v = boost::json::parse(line);
    w.write(record{line, v.as_object()});
}

std::string zcat(const fs::path& f) { return run_shell("zcat '" + f.string() + "'").output; }

}  // namespace

TEST_CASE("file_sink time partitions: timezone and format are checked at construction") {
    temp_dir d;
    CHECK_THROWS_WITH_AS(file_sink(opts(d.path(), "dt={record.ts|%F}", "Mars/Olympus_Mons")),
                         doctest::Contains("unknown time zone 'Mars/Olympus_Mons'"), config_error);
    CHECK_THROWS_WITH_AS(file_sink(opts(d.path(), "dt={record.ts|%Q}", "UTC")),
                         doctest::Contains("{record.ts|%Q}: format '%Q': unknown conversion '%Q'"), config_error);
    CHECK_NOTHROW(file_sink(opts(d.path(), "dt={record.ts|%F}", "America/New_York")));
}

TEST_CASE("file_sink time partitions: a refused record is not staged and the writer goes on") {
    temp_dir d;
    file_sink s(opts(d.path(), "dt={record.ts|%Y-%m-%d}/hour={record.ts|%H}", "America/New_York",
                     bad_value_policy::bad_records));
    s.start({"run1"});
    const std::map<std::string, std::string> params;
    auto w = s.open(sink_attempt{"run1", "t", 1, params});
    // TZ=America/New_York date -d @1552201199 +%F/%H -> 2019-03-10/01 (then DST starts: 03)
    put(*w, R"({"ts":1552201199})");
    CHECK_THROWS_WITH_AS(put(*w, R"({"ts":"2019-03-10T02:30:00+99:00"})"),
                         doctest::Contains("has a bad UTC offset"), record_rejected);
    CHECK_THROWS_AS(put(*w, R"({"nots":1})"), record_rejected);
    put(*w, R"({"ts":1552201200})");
    auto out = w->commit();
    CHECK(out.records == 2);
    CHECK(zcat(d / "dt=2019-03-10/hour=01/t.jsonl.gz") == "{\"ts\":1552201199}\n");
    CHECK(zcat(d / "dt=2019-03-10/hour=03/t.jsonl.gz") == "{\"ts\":1552201200}\n");
    s.stop();
}

TEST_CASE("file_sink time partitions: by default bad values land under __missing__") {
    temp_dir d;
    file_sink s(opts(d.path(), "dt={record.ts|%Y-%m-%d}", "Asia/Seoul"));
    s.start({"run1"});
    const std::map<std::string, std::string> params;
    auto w = s.open(sink_attempt{"run1", "t", 1, params});
    put(*w, R"({"ts":"2019-01-01T15:00:00Z"})");
    put(*w, R"({"ts":"2019-01-01T15:00"})");
    put(*w, R"({"ts":-99999999999999999})");
    auto out = w->commit();
    CHECK(out.records == 3);
    // An instant is shown in Seoul (the next day); a local time as written.
    CHECK(zcat(d / "dt=2019-01-02/t.jsonl.gz") == "{\"ts\":\"2019-01-01T15:00:00Z\"}\n");
    CHECK(zcat(d / "dt=2019-01-01/t.jsonl.gz") == "{\"ts\":\"2019-01-01T15:00\"}\n");
    CHECK(zcat(d / "dt=__missing__/t.jsonl.gz") == "{\"ts\":-99999999999999999}\n");
    s.stop();
}

TEST_CASE("file_sink time partitions: a param that is not a time, under each policy") {
    temp_dir d;
    const std::map<std::string, std::string> params{{"date", "someday"}};
    {
        file_sink s(opts(d / "a", "day={date|%Y%m%d}", "UTC"));
        s.start({"run1"});
        auto w = s.open(sink_attempt{"run1", "t", 1, params});
        put(*w, R"({"v":1})");
        CHECK(w->commit().records == 1);
        CHECK(zcat(d / "a/day=__missing__/t.jsonl.gz") == "{\"v\":1}\n");
        s.stop();
    }
    {
        file_sink s(opts(d / "b", "day={date|%Y%m%d}", "UTC", bad_value_policy::bad_records));
        s.start({"run1"});
        auto w = s.open(sink_attempt{"run1", "t", 1, params});  // the task starts; each record is refused
        CHECK_THROWS_WITH_AS(put(*w, R"({"v":1})"), doctest::Contains("param 'date': 'someday' is not a time"),
                             record_rejected);
        CHECK_THROWS_AS(put(*w, R"({"v":2})"), record_rejected);
        CHECK(w->commit().records == 0);
        CHECK_FALSE(fs::exists(d / "b/day=__missing__"));
        s.stop();
    }
}
