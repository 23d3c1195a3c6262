// The news crawler with checkpoints (--checkpoints): a checkpoint line after each list page's
// articles, naming the next list page; started with DROVER_CHECKPOINT it continues there.
// Through drover, a crawl that fails mid-way resumes from its last checkpoint and every
// article is published exactly once.

#include "news_site_process.hpp"
#include "support/support.hpp"

#include <doctest/doctest.h>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <set>

using namespace drover::test;
namespace json = boost::json;

namespace {

struct crawl_output {
    std::vector<std::string> articles;  // "oid/aid", in order
    std::vector<std::string> tokens;    // checkpoint tokens, in order
    std::vector<std::size_t> cut;       // articles before each checkpoint
};

crawl_output parse(const std::string& out) {
    crawl_output r;
    for (const auto& line : split_lines(out)) {
        auto v = json::parse(line).as_object();
        if (v.contains("$drover")) {
            r.tokens.emplace_back(v.at("$drover").at("checkpoint").as_string());
            r.cut.push_back(r.articles.size());
        } else {
            r.articles.push_back(std::string(v.at("oid").as_string()) + "/" + std::string(v.at("aid").as_string()));
        }
    }
    return r;
}

std::string crawler(const news_site_process& site, const std::string& date) {
    return std::string(NEWS_CRAWLER_PATH) + " --date " + date + " --base-url " + site.base_url() +
           " --rate 0 --quiet --checkpoints";
}

}  // namespace

TEST_CASE("crawler checkpoints: one per list page, and DROVER_CHECKPOINT continues after it") {
    temp_dir dir;
    news_site_process site(dir / "site");
    auto full = run_shell(crawler(site, "2018-01-06") + " 2>&1");
    INFO(full.output.substr(0, 2000));
    REQUIRE(full.exit_code == 0);
    auto a = parse(full.output);
    // 2018-01-06 has 6 list pages and 112 articles: a checkpoint per page, the last one "end".
    CHECK(a.articles.size() == 112);
    REQUIRE(a.tokens.size() == 6);
    CHECK(a.tokens[0] == "/list?date=2018-01-06&page=2");
    CHECK(a.tokens.back() == "end");
    CHECK(std::set<std::string>(a.articles.begin(), a.articles.end()).size() == 112);

    // Resumed after the third page: exactly the articles after that checkpoint.
    auto rest = run_shell("DROVER_CHECKPOINT='" + a.tokens[2] + "' " + crawler(site, "2018-01-06") + " 2>&1");
    REQUIRE(rest.exit_code == 0);
    auto b = parse(rest.output);
    CHECK(b.articles == std::vector<std::string>(a.articles.begin() + static_cast<long>(a.cut[2]), a.articles.end()));
    CHECK(b.tokens == std::vector<std::string>(a.tokens.begin() + 3, a.tokens.end()));

    // After the last checkpoint there is nothing left; a token of another site is refused.
    auto done = run_shell("DROVER_CHECKPOINT=end " + crawler(site, "2018-01-06") + " 2>&1");
    CHECK(done.exit_code == 0);
    CHECK(done.output.empty());
    auto bad = run_shell("DROVER_CHECKPOINT=/elsewhere " + crawler(site, "2018-01-06") + " 2>&1");
    CHECK(bad.exit_code == 1);
    CHECK(bad.output.find("DROVER_CHECKPOINT '/elsewhere' is not a list page of this site") != std::string::npos);
}

TEST_CASE("crawler checkpoints through drover: failed attempts resume from their checkpoint, every article once") {
    temp_dir dir;
    // 3% of requests fail and the crawler does not retry: most attempts die mid-crawl.
    news_site_process site(dir / "site", {"--error-rate", "0.03", "--fault-seed", "11"});
    write_file(dir / "job.toml", fmt::format(R"(name = "news-ckpt"
state_dir = "{0}/state"
[[executors]]
kind = "local"
slots = 2
[sink]
kind = "file"
path = "{0}/out"
partition = "date={{date}}"
flush_records = 1
fsync = false
[defaults]
retries = 60
backoff = "10ms"
backoff_max = "50ms"
[[tasks]]
id = "crawl-{{date}}"
command = ["{1}", "--date", "{{date}}", "--base-url", "{2}", "--rate", "0", "--retries", "0", "--quiet", "--checkpoints"]
foreach.date = {{ from = "2018-01-05", to = "2018-01-08" }}
)",
                                             dir.path().string(), NEWS_CRAWLER_PATH, site.base_url()));
    auto run = run_shell(std::string(DROVER_CLI_PATH) + " run " + (dir / "job.toml").string() + " --quiet 2>" +
                         (dir / "drover.err").string());
    INFO(read_file(dir / "drover.err"));
    REQUIRE(run.exit_code == 0);

    std::map<std::string, int> per_date;
    std::set<std::pair<std::string, std::string>> ids;
    auto records = read_records(dir / "out");
    for (auto& line : records) {
        auto v = json::parse(line).as_object();
        per_date[std::string(v.at("date").as_string())]++;
        ids.emplace(v.at("oid").as_string(), v.at("aid").as_string());
    }
    CHECK(ids.size() == records.size());  // exactly once
    auto truth = site.truth();
    for (auto d : {"2018-01-05", "2018-01-06", "2018-01-07", "2018-01-08"}) {
        CAPTURE(d);
        CHECK(per_date[d] == truth[d]);
    }
    // Published in segments (crawl-DATE@n.jsonl.gz), and attempts failed and were retried.
    std::size_t segments = 0;
    for (const auto& f : list_files(dir / "out")) segments += f.find('@') != std::string::npos;
    CHECK(segments > 4);
    auto attempts = run_shell("sqlite3 " + (dir / "state/journal.db").string() + " 'SELECT sum(attempts) FROM tasks'");
    REQUIRE(attempts.exit_code == 0);
    MESSAGE("attempts: " << attempts.output);
    CHECK(std::stoi(attempts.output) > 4);
}
