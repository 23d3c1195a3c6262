// The aggregation's transform on its own (pure), and its extract and load on small inputs.

#include "extract.hpp"
#include "load.hpp"
#include "transform.hpp"

#include "support/support.hpp"

#include <doctest/doctest.h>
#include <zlib.h>

#include <regex>

using namespace aggregate;
namespace fs = std::filesystem;

namespace {

partition_count pc(std::string date, std::uint64_t n, std::uint64_t records = 0) {
    partition_count c;
    c.date = std::move(date);
    c.articles = n;
    c.records = records ? records : n;
    c.files = 1;
    return c;
}

void write_gz(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    gzFile f = gzopen(p.c_str(), "wb");
    REQUIRE(f);
    REQUIRE(gzwrite(f, text.data(), unsigned(text.size())) == int(text.size()));
    gzclose(f);
}

}  // namespace

TEST_CASE("transform: one row per day of the year, missing days listed, totals and month sums") {
    auto r = summarize({pc("2018-01-06", 100), pc("2018-01-01", 250), pc("2018-12-31", 7)});
    CHECK(r.year == 2018);
    REQUIRE(r.days.size() == 365);
    CHECK(r.days[0].date == "2018-01-01");
    CHECK(r.days[0].weekday == 0);  // Monday
    CHECK(r.days[5].date == "2018-01-06");
    CHECK(r.days[5].weekday == 5);  // Saturday
    CHECK(r.days[5].articles == 100);
    CHECK(r.days[364].date == "2018-12-31");
    CHECK(r.total == 357);
    CHECK(r.missing.size() == 362);
    CHECK(r.missing.front() == "2018-01-02");
    REQUIRE(r.months.size() == 12);
    CHECK(r.months[0].articles == 350);
    CHECK(r.months[0].days == 2);
    CHECK(r.months[11].articles == 7);
    CHECK(r.weekday_mean == doctest::Approx((250 + 7) / 2.0));
    CHECK(r.weekend_mean == doctest::Approx(100));
}

TEST_CASE("transform: leap years have 366 days; the year can be forced") {
    CHECK(summarize({pc("2020-02-29", 1)}).days.size() == 366);
    auto r = summarize({}, 2018);
    CHECK(r.days.size() == 365);
    CHECK(r.total == 0);
    CHECK(r.missing.size() == 365);
}

TEST_CASE("transform: duplicates and bad lines are counted, not hidden") {
    auto c = pc("2018-03-01", 10, 13);
    c.bad_lines = 1;
    c.wrong_date = 2;
    auto r = summarize({c});
    CHECK(r.days[59].articles == 10);
    CHECK(r.days[59].records == 13);
    CHECK(r.duplicates == 2);
    CHECK(r.bad_lines == 1);
    CHECK(r.wrong_date == 2);
}

TEST_CASE("transform: bad dates, dates of another year and a date twice are errors") {
    CHECK_THROWS_WITH_AS(summarize({pc("2018-02-30", 1)}), doctest::Contains("no such date"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(summarize({pc("20180101", 1)}), doctest::Contains("not a YYYY-MM-DD"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(summarize({pc("2018-01-01", 1), pc("2019-01-01", 1)}), doctest::Contains("outside 2018"),
                         std::invalid_argument);
    CHECK_THROWS_WITH_AS(summarize({pc("2018-01-01", 1), pc("2018-01-01", 2)}), doctest::Contains("counted twice"),
                         std::invalid_argument);
    CHECK_THROWS_AS(summarize({}), std::invalid_argument);
}

TEST_CASE("transform: count records round-trip through JSON; malformed ones are errors") {
    auto c = pc("2018-05-05", 42, 44);
    c.bad_lines = 1;
    auto back = from_json(to_json(c));
    CHECK(back.date == "2018-05-05");
    CHECK(back.articles == 42);
    CHECK(back.records == 44);
    CHECK(back.bad_lines == 1);
    CHECK_THROWS_WITH(from_json("{\"date\":\"2018-01-01\"}"), doctest::Contains("malformed count record"));
    CHECK_THROWS_WITH(from_json("[1,2]"), doctest::Contains("not a count record"));
}

TEST_CASE("extract: counts distinct (oid, aid) across rotated chunks, skipping staging") {
    drover::test::temp_dir dir;
    auto part = dir / "date=2018-01-06";
    write_gz(part / "crawl-2018-01-06.jsonl.gz",
             "{\"oid\":\"001\",\"aid\":\"1\",\"date\":\"2018-01-06\"}\n{\"oid\":\"001\",\"aid\":\"2\",\"date\":\"2018-01-06\"}\n");
    write_gz(part / "crawl-2018-01-06~1.jsonl.gz",
             "{\"oid\":\"002\",\"aid\":\"1\",\"date\":\"2018-01-06\"}\n{\"oid\":\"001\",\"aid\":\"2\",\"date\":\"2018-01-07\"}\n"
             "not json\n{\"oid\":1,\"aid\":\"x\"}");
    write_gz(dir / ".drover/staging/x/crawl.jsonl.gz", "{\"oid\":\"009\",\"aid\":\"9\"}\n");
    auto parts = list_partitions(dir.path());
    REQUIRE(parts.size() == 1);
    CHECK(parts[0].value == "2018-01-06");
    auto c = count_partition(parts[0].path, parts[0].value);
    CHECK(c.files == 2);
    CHECK(c.records == 6);
    CHECK(c.articles == 3);
    CHECK(c.bad_lines == 2);
    CHECK(c.wrong_date == 1);
}

TEST_CASE("extract: corrupt gzip and non-partition directories are clear errors") {
    drover::test::temp_dir dir;
    fs::create_directories(dir / "date=2018-01-01");
    drover::test::write_file(dir / "date=2018-01-01/crawl.jsonl.gz", std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage", 17));
    CHECK_THROWS_WITH(count_partition(dir / "date=2018-01-01", "2018-01-01"), doctest::Contains("crawl.jsonl.gz"));
    // A good file cut short is an error too, not a silently smaller count.
    write_gz(dir / "date=2018-01-02/crawl.jsonl.gz", std::string(2000, 'x') + "\n");
    auto whole = drover::test::read_file(dir / "date=2018-01-02/crawl.jsonl.gz");
    drover::test::write_file(dir / "date=2018-01-02/crawl.jsonl.gz", whole.substr(0, whole.size() - 6));
    CHECK_THROWS_WITH(count_partition(dir / "date=2018-01-02", "2018-01-02"), doctest::Contains("crawl.jsonl.gz"));
    CHECK_THROWS_WITH(count_partition(dir / "date=2018-01-01", "2018-01-01"), doctest::Contains("crawl.jsonl.gz"));
    fs::create_directories(dir / "country=kr");
    CHECK_THROWS_WITH(list_partitions(dir.path()), doctest::Contains("not a 'date=...' partition directory"));
    CHECK_THROWS_WITH(list_partitions(dir / "nope"), doctest::Contains("not a directory"));
}

TEST_CASE("load: csv rows and one chart point per day") {
    auto r = summarize({pc("2018-01-01", 250), pc("2018-01-06", 90)});
    auto csv = counts_csv(r);
    CHECK(csv.starts_with("date,weekday,articles,records\n2018-01-01,Mon,250,250\n"));
    CHECK(std::count(csv.begin(), csv.end(), '\n') == 366);
    auto svg = daily_svg(r);
    std::smatch m;
    REQUIRE(std::regex_search(svg, m, std::regex("class=\"daily\"[^>]*points=\"([^\"]*)\"")));
    std::string pts = m[1];
    CHECK(std::count(pts.begin(), pts.end(), ',') == 365);
    auto monthly = monthly_svg(r);
    CHECK(monthly.find("<title>Jan: 340</title>") != std::string::npos);
}
