// The news pipeline end to end with real processes: news_site on loopback, news_crawler
// tasks run by `drover run`, drover_aggregate over the file sink's output.

#include "news_site_process.hpp"
#include "support/support.hpp"

#include <doctest/doctest.h>
#include <boost/json.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <fmt/format.h>

#include <chrono>
#include <csignal>
#include <thread>

#include <map>
#include <set>

using namespace drover::test;
namespace json = boost::json;

namespace {

// A job crawling `from`..`to` through the local executor into `dir`/out.
std::string write_job(const temp_dir& dir, const std::string& base_url, const std::string& from, const std::string& to) {
    auto job = fmt::format(R"(name = "news-test"
state_dir = "{0}/state"
[[executors]]
kind = "local"
slots = 2
[sink]
kind = "file"
path = "{0}/out"
partition = "date={{date}}"
fsync = false
[defaults]
retries = 3
timeout = "2m"
backoff = "100ms"
env = {{ NEWS_BASE_URL = "{1}" }}
[[tasks]]
id = "crawl-{{date}}"
command = ["{2}", "--date", "{{date}}", "--rate", "0", "--backoff-ms", "10", "--retries", "8", "--quiet"]
foreach.date = {{ from = "{3}", to = "{4}" }}
)", dir.path().string(), base_url, NEWS_CRAWLER_PATH, from, to);
    write_file(dir / "job.toml", job);
    return (dir / "job.toml").string();
}

std::vector<std::string> dates_between(const std::map<std::string, int>& truth, const std::string& from, const std::string& to) {
    std::vector<std::string> out;
    for (auto& [d, n] : truth)
        if (d >= from && d <= to) out.push_back(d);
    return out;
}

}  // namespace

TEST_CASE("14-day crawl through drover with 10% injected 503s: every article exactly once, counts equal the truth") {
    temp_dir dir;
    news_site_process site(dir / "site", {"--error-rate", "0.1", "--fault-seed", "7"});
    auto job = write_job(dir, site.base_url(), "2018-03-01", "2018-03-14");
    auto run = run_shell(std::string(DROVER_CLI_PATH) + " run " + job + " --quiet 2>" + (dir / "drover.err").string());
    INFO(read_file(dir / "drover.err"));
    REQUIRE(run.exit_code == 0);

    std::map<std::string, int> per_date;
    std::set<std::pair<std::string, std::string>> ids;
    auto records = read_records(dir / "out");
    for (auto& line : records) {
        auto v = json::parse(line).as_object();
        for (auto* key : {"oid", "aid", "date", "time", "title", "content", "url"}) {
            REQUIRE_MESSAGE(v.contains(key), line);
            CHECK_FALSE(v.at(key).as_string().empty());
        }
        auto date = std::string(v.at("date").as_string());
        CHECK(std::string(v.at("time").as_string()).starts_with(date));
        per_date[date]++;
        ids.emplace(v.at("oid").as_string(), v.at("aid").as_string());
    }
    CHECK(ids.size() == records.size());  // exactly once

    auto truth = site.truth();
    auto dates = dates_between(truth, "2018-03-01", "2018-03-14");
    REQUIRE(dates.size() == 14);
    int total = 0;
    for (auto& d : dates) {
        CAPTURE(d);
        CHECK(per_date[d] == truth[d]);
        total += truth[d];
    }
    CHECK(per_date.size() == 14);
    CHECK(int(records.size()) == total);
    // Weekends are lighter: 2018-03-03 is a Saturday, 2018-03-05 a Monday.
    CHECK(truth["2018-03-03"] < truth["2018-03-05"]);

    auto log = site.stop();
    INFO(log);
    auto at = log.find(" injected 503s");
    REQUIRE(at != std::string::npos);
    auto start = log.rfind('(', at);
    int injected = std::stoi(log.substr(start + 1, at - start - 1));
    CHECK(injected > total / 20);  // ~10% of ~total+pages requests failed and were retried
}

TEST_CASE("aggregation through drover: counts.csv equals the truth, the SVG charts are well-formed XML with one point per day") {
    temp_dir dir;
    news_site_process site(dir / "site");
    auto job = write_job(dir, site.base_url(), "2018-06-01", "2018-06-14");
    auto run = run_shell(std::string(DROVER_CLI_PATH) + " run " + job + " --quiet 2>" + (dir / "drover.err").string());
    INFO(read_file(dir / "drover.err"));
    REQUIRE(run.exit_code == 0);

    auto agg = run_shell(std::string(DROVER_AGGREGATE_PATH) + " --input " + (dir / "out").string() + " --output " +
                         (dir / "report").string() + " --slots 2 2>&1");
    INFO(agg.output);
    REQUIRE(agg.exit_code == 0);
    CHECK(agg.output.find("aggregated 14 partitions with 14 drover tasks") != std::string::npos);

    check_counts_csv(dir / "report/counts.csv", site.truth(),
                     [](const std::string& date) { return date >= "2018-06-01" && date <= "2018-06-14"; });

    if (!std::filesystem::exists("/usr/bin/python3")) {
        if (services_required()) FAIL("/usr/bin/python3 is needed to check the SVG with a real XML parser");
        MESSAGE("skipping the XML check: /usr/bin/python3 not found");
        return;
    }
    // A real XML parser: the files must parse, the daily polyline has one point per day of the year.
    auto check = run_shell("/usr/bin/python3 - " + (dir / "report").string() + R"( 2>&1 <<'EOF'
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
d = sys.argv[1]
day = ET.parse(d + "/articles-per-day.svg").getroot()
assert day.tag == "{http://www.w3.org/2000/svg}svg", day.tag
line = day.find(".//s:polyline[@class='daily']", ns)
pts = line.get("points").split()
month = ET.parse(d + "/articles-per-month.svg").getroot()
bars = month.findall(".//s:g[@class='months']/s:rect", ns)
print(len(pts), len(bars), sum(1 for p in pts if float(p.split(",")[1]) < 330))  # y = 330 is zero
EOF)");
    INFO(check.output);
    REQUIRE(check.exit_code == 0);
    // 365 points, 12 bars, and exactly the 14 crawled days are above the zero line.
    CHECK(check.output == "365 12 14\n");
}

TEST_CASE("crawler: a site that fails every request → exit 1, the 503 and the attempts on stderr, nothing on stdout") {
    temp_dir dir;
    news_site_process site(dir / "site", {"--error-rate", "1"});
    auto r = run_shell(std::string(NEWS_CRAWLER_PATH) + " --date 2018-01-02 --base-url " + site.base_url() +
                       " --retries 2 --backoff-ms 1 --rate 0 2>" + (dir / "err").string());
    auto err = read_file(dir / "err");
    INFO(err);
    CHECK(r.exit_code == 1);
    CHECK(r.output.empty());
    CHECK(err.find("/list?date=2018-01-02&page=1: HTTP 503 Service Unavailable: injected 503") != std::string::npos);
    CHECK(err.find("(after 3 attempts)") != std::string::npos);
    CHECK(err.find("INCOMPLETE") != std::string::npos);
}

TEST_CASE("crawler: robots.txt is honoured — disallowed articles are not fetched and the date is incomplete") {
    temp_dir dir;
    write_file(dir / "robots.txt", "User-agent: *\nDisallow: /truth\n\nUser-agent: drover-news-crawler\nDisallow: /article\n");
    news_site_process site(dir / "site", {"--robots-file", (dir / "robots.txt").string()});
    auto r = run_shell(std::string(NEWS_CRAWLER_PATH) + " --date 2018-01-06 --base-url " + site.base_url() +
                       " --rate 0 2>" + (dir / "err").string());
    auto err = read_file(dir / "err");
    INFO(err);
    CHECK(r.exit_code == 1);
    CHECK(r.output.empty());
    CHECK(err.find("disallowed by robots.txt; not fetched") != std::string::npos);
    auto log = site.stop();
    // robots.txt and the 6 list pages of 2018-01-06 (112 articles), no article page.
    CHECK(log.find("stopped after 7 requests") != std::string::npos);
}

TEST_CASE("crawler: usage errors exit 2 with a message") {
    auto r = run_shell(std::string(NEWS_CRAWLER_PATH) + " --date 2018-02-30 --base-url http://127.0.0.1:9 2>&1");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("not a valid YYYY-MM-DD date: '2018-02-30'") != std::string::npos);
    r = run_shell("env -u NEWS_BASE_URL " + std::string(NEWS_CRAWLER_PATH) + " --date 2018-02-03 2>&1");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("NEWS_BASE_URL is not set") != std::string::npos);
    r = run_shell(std::string(NEWS_CRAWLER_PATH) + " --date 2018-02-03 --base-url ftp://x 2>&1");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("unsupported scheme 'ftp'") != std::string::npos);
}

TEST_CASE("crawler over https:// (openssl s_server): a verified certificate works, an unknown one is refused") {
    if (run_shell("command -v openssl >/dev/null").exit_code != 0) {
        if (services_required()) FAIL("openssl is needed for the https test");
        MESSAGE("skipping: no openssl binary");
        return;
    }
    temp_dir dir;
    auto d = dir.path().string();
    REQUIRE(run_shell("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + d +
                      "/key.pem -out " + d + "/cert.pem -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 "
                      ">/dev/null 2>&1").exit_code == 0);
    // s_server -WWW serves files named like the request target, query included.
    std::filesystem::create_directories(dir / "www");
    write_file(dir / "www/robots.txt", "User-agent: *\nDisallow: /private/\n");
    write_file(dir / "www/list?date=2018-01-06&page=1",
               "<html><body><ul class=\"article-list\"><li><a class=\"article-link\" "
               "href=\"/article?oid=214&amp;aid=0100050000\">a</a></li></ul></body></html>\n");
    write_file(dir / "www/article?oid=214&aid=0100050000",
               read_file(std::filesystem::path(DROVER_SOURCE_DIR) / "tests/examples/fixtures/article-ok.html"));
    int port = drover::test::free_loopback_port();
    auto started = run_shell("cd " + d + "/www && (timeout -s KILL 120 openssl s_server -WWW -quiet -accept 127.0.0.1:" +
                             std::to_string(port) + " -cert ../cert.pem -key ../key.pem >../server.log 2>&1 & echo $!)");
    int pid = std::stoi(started.output);
    struct stop_server {
        int pid;
        ~stop_server() { ::kill(pid, SIGTERM); }
    } stopper{pid};
    auto url = "https://127.0.0.1:" + std::to_string(port);
    for (int i = 0; i < 100; ++i) {  // wait until it accepts connections
        boost::asio::io_context ioc;
        boost::asio::ip::tcp::socket sock(ioc);
        boost::system::error_code ec;
        sock.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, ec);
        if (!ec) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }

    auto ok = run_shell(std::string(NEWS_CRAWLER_PATH) + " --date 2018-01-06 --base-url " + url + " --ca-file " + d +
                        "/cert.pem --retries 0 2>" + d + "/err");
    INFO(read_file(dir / "err"));
    CHECK(ok.exit_code == 0);
    auto rec = json::parse(ok.output).as_object();
    CHECK(rec.at("aid").as_string() == "0100050000");
    CHECK(rec.at("url").as_string() == url + "/article?oid=214&aid=0100050000");

    auto refused = run_shell(std::string(NEWS_CRAWLER_PATH) + " --date 2018-01-06 --base-url " + url + " --retries 0 2>&1");
    CHECK(refused.exit_code == 1);
    CHECK(refused.output.find("TLS handshake to 127.0.0.1:" + std::to_string(port) + " failed: certificate verify failed") !=
          std::string::npos);
}

TEST_CASE("the example job files that this branch can run validate: news-local, news-ssh and news-fanout") {
    for (auto* job : {"news-local", "news-ssh"}) {
        CAPTURE(job);
        auto r = run_shell(std::string(DROVER_CLI_PATH) + " validate " + DROVER_SOURCE_DIR + "/examples/jobs/" + job + ".toml 2>&1");
        INFO(r.output);
        CHECK(r.exit_code == 0);
        CHECK(r.output.find("365 task(s)") != std::string::npos);
    }
    auto r = run_shell(std::string(DROVER_CLI_PATH) + " validate " + DROVER_SOURCE_DIR + "/examples/jobs/news-fanout.toml 2>&1");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("32 task(s)") != std::string::npos);
}

TEST_CASE("news fan-out: split tasks fan out a crawl task per list page, the aggregate comes after all of them") {
    temp_dir dir;
    news_site_process site(dir / "site", {"--per-page", "7"});
    auto job = fmt::format(R"(name = "news-fanout-test"
state_dir = "{0}/state"
[[executors]]
kind = "local"
slots = 2
[sink]
kind = "file"
path = "{0}/out"
partition = "date={{record.date}}"
fsync = false
[defaults]
retries = 3
backoff = "100ms"
env = {{ NEWS_BASE_URL = "{1}" }}
[[tasks]]
id = "split-{{date}}"
command = ["{2}", "--date", "{{date}}", "--fan-out", "--rate", "0", "--backoff-ms", "10", "--quiet"]
foreach.date = {{ from = "2018-02-01", to = "2018-02-05" }}
[[tasks]]
id = "aggregate"
after = ["split-*"]
command = ["{3}", "--input", "{0}/out", "--output", "{0}/report", "--slots", "2", "--quiet"]
)", dir.path().string(), site.base_url(), NEWS_CRAWLER_PATH, DROVER_AGGREGATE_PATH);
    write_file(dir / "job.toml", job);
    auto run = run_shell(std::string(DROVER_CLI_PATH) + " run " + (dir / "job.toml").string() + " --json 2>" +
                         (dir / "drover.err").string());
    INFO(read_file(dir / "drover.err"));
    REQUIRE(run.exit_code == 0);
    auto summary = json::parse(run.output).as_object();
    auto truth = site.truth();
    auto dates = dates_between(truth, "2018-02-01", "2018-02-05");
    std::size_t pages = 0;
    for (auto& d : dates) pages += static_cast<std::size_t>((truth[d] + 6) / 7);
    CHECK(summary.at("total").as_int64() == static_cast<std::int64_t>(5 + pages + 1));
    CHECK(summary.at("succeeded").as_int64() == summary.at("total").as_int64());
    // The journal knows each page task and the split task that fanned it out.
    auto fanned = run_shell("sqlite3 " + (dir / "state/journal.db").string() +
                            " \"SELECT count(*) FROM task_specs WHERE task_id LIKE 'crawl-2018-02-03-p%' AND parent='split-2018-02-03'\"");
    CHECK(std::stoi(fanned.output) == (truth["2018-02-03"] + 6) / 7);

    std::map<std::string, int> per_date;
    std::set<std::pair<std::string, std::string>> articles;
    auto records = read_records(dir / "out");
    for (auto& line : records) {
        auto v = json::parse(line).as_object();
        per_date[std::string(v.at("date").as_string())]++;
        articles.emplace(v.at("oid").as_string(), v.at("aid").as_string());
    }
    CHECK(articles.size() == records.size());
    for (auto& d : dates) CHECK(per_date[d] == truth[d]);
    check_counts_csv(dir / "report/counts.csv", truth,
                     [](const std::string& date) { return date >= "2018-02-01" && date <= "2018-02-05"; });

    // Run again: everything is in the journal (the page tasks too), nothing runs.
    auto again = run_shell(std::string(DROVER_CLI_PATH) + " run " + (dir / "job.toml").string() + " --json 2>/dev/null");
    REQUIRE(again.exit_code == 0);
    auto again_summary = json::parse(again.output).as_object();
    CHECK(again_summary.at("resumed").as_int64() == summary.at("total").as_int64());
}
