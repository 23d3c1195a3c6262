// The news pipeline against real services: a 30-day crawl in containers on two real Docker
// daemons (tests/services/dockerd.hpp, a registry-free crawler image from scripts/make-image.sh,
// network "host" to reach the site on 127.0.0.1), and a 30-day crawl into real s3rver through
// the S3 sink, read back with /usr/bin/aws. Both compare with the site's truth, exactly once.
#include <doctest/doctest.h>

#include "news_site_process.hpp"
#include "services/dockerd.hpp"
#include "services/s3rver.hpp"
#include "support/support.hpp"

#include <drover/scheduler.hpp>
#include <drover/sinks/file.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <map>
#include <set>

using namespace drover::test;
namespace json = boost::json;

namespace {

std::vector<std::string> january_days(int n) {
    std::vector<std::string> out;
    for (int d = 1; d <= n; ++d) out.push_back(fmt::format("2018-01-{:02}", d));
    return out;
}

/// Every article once, per-day counts equal to the truth for `days`, and no other day.
void check_against_truth(const std::vector<std::string>& records, std::map<std::string, int> truth,
                         const std::vector<std::string>& days) {
    std::map<std::string, int> per_date;
    std::set<std::pair<std::string, std::string>> ids;
    for (auto& line : records) {
        auto v = json::parse(line).as_object();
        per_date[std::string(v.at("date").as_string())]++;
        ids.emplace(v.at("oid").as_string(), v.at("aid").as_string());
    }
    CHECK(ids.size() == records.size());  // exactly once
    long total = 0;
    for (auto& d : days) {
        CAPTURE(d);
        CHECK(truth[d] > 0);
        CHECK(per_date[d] == truth[d]);
        total += truth[d];
    }
    CHECK(per_date.size() == days.size());
    CHECK(long(records.size()) == total);
}

std::string dump(const drover::run_summary& sum) {
    std::string s;
    for (auto& t : sum.tasks) {
        if (t.state == drover::task_state::succeeded) continue;
        s += t.id + ": " + std::string(drover::to_string(t.state)) + ": " + t.last.message;
        for (auto& l : t.last.stderr_tail) s += "\n    | " + l;
        s += "\n";
        if (s.size() > 4000) break;
    }
    return s;
}

}  // namespace

TEST_CASE("examples: news-docker.toml and news-s3.toml validate" * doctest::timeout(60)) {
    for (auto* job : {"news-docker", "news-s3"}) {
        CAPTURE(job);
        auto r = run_shell(std::string(DROVER_CLI_PATH) + " validate " + DROVER_SOURCE_DIR + "/examples/jobs/" + job + ".toml 2>&1");
        INFO(r.output);
        CHECK(r.exit_code == 0);
        CHECK(r.output.find("365 task(s)") != std::string::npos);
        // The summary names where the output goes, for S3 as for files.
        CHECK(r.output.find(std::string(job) == "news-s3" ? "output s3://" : "output out/") != std::string::npos);
    }
}

TEST_CASE("news: 30-day crawl in containers on two Docker daemons, every article once, counts equal the truth" *
          doctest::timeout(300)) {
    if (!dockerd_available()) {
        if (services_required()) FAIL("dockerd tests need:" << dockerd_missing());
        MESSAGE("skipped: missing" << dockerd_missing());
        return;
    }
    temp_dir dir;
    news_site_process site(dir / "site");
    dockerd_fleet fleet;  // two plain daemons, no bridge

    // The registry-free crawler image: busybox rootfs + news_crawler and its shared libraries.
    const std::string image = "drover-news-crawler:latest";
    std::string cmd = "PATH=/usr/bin:/usr/sbin:/bin:$PATH " + std::string(DROVER_SOURCE_DIR) + "/scripts/make-image.sh -t " + image;
    for (std::size_t i = 0; i < fleet.size(); ++i) cmd += " -H " + fleet.unix_host(i);
    auto made = run_shell(cmd + " " + NEWS_CRAWLER_PATH + " 2>&1");
    INFO(made.output);
    REQUIRE(made.exit_code == 0);

    auto o = docker_options_for(fleet);
    o.slots_per_host = 2;
    o.default_image = image;
    auto ex = std::make_shared<drover::docker_executor>(o);
    drover::scheduler s({.state_dir = dir / "state", .seed = 7});
    s.add_executor(std::shared_ptr<drover::executor>(ex));
    s.set_sink(drover::file_sink({.root = dir / "out", .partition = "date={date}", .fsync = false}));
    auto days = january_days(30);
    for (auto& d : days) {
        // As in news-docker.toml: news_crawler is found in the image's PATH (/usr/local/bin).
        drover::task_spec t{.id = "crawl-" + d,
                            .command = {"news_crawler", "--date", d, "--base-url", site.base_url(), "--rate",
                                        "0", "--retries", "8", "--backoff-ms", "10", "--quiet"},
                            .params = {{"date", d}},
                            .retries = 2,
                            .timeout = std::chrono::seconds(120)};
        // The site is on 127.0.0.1: the host's network, never the bridge.
        t.set_extension(drover::docker_task_options{.image = image, .container = {.network = drover::container_network::host}});
        s.submit(t);
    }
    auto sum = s.run();
    REQUIRE_MESSAGE(sum.ok(), dump(sum));
    CHECK(sum.counts.succeeded == 30);

    check_against_truth(read_records(dir / "out"), site.truth(), days);
    for (auto& d : days) CHECK(std::filesystem::is_directory(dir / "out" / ("date=" + d)));
    auto per_host = ex->attempts_per_host();
    CHECK(per_host.size() == 2);
    std::size_t attempts = 0;
    for (auto& [host, n] : per_host) {
        CAPTURE(host);
        CHECK(n > 0);  // both daemons ran crawls
        attempts += n;
    }
    CHECK(attempts >= 30);
}

TEST_CASE("news: 30-day crawl through the S3 sink into s3rver, read back and aggregated from s3://, counts equal the truth" *
          doctest::timeout(300)) {
    auto why = s3rver_unavailable();
    if (why.empty() && access("/usr/bin/aws", X_OK) != 0) why = "/usr/bin/aws missing (apt install awscli)";
    if (!why.empty()) {
        if (services_required()) FAIL("s3rver required: " << why);
        MESSAGE("skipped: " << why);
        return;
    }
    temp_dir dir;
    news_site_process site(dir / "site");
    s3rver s3("news");
    auto job = fmt::format(R"(name = "news-s3-test"
state_dir = "{0}/state"
[[executors]]
kind = "local"
slots = 2
[sink]
kind = "s3"
path = "s3://news/crawl"
endpoint = "{1}"
region = "us-east-1"
path_style = true
partition = "date={{date}}"
[defaults]
retries = 3
timeout = "2m"
backoff = "100ms"
env = {{ NEWS_BASE_URL = "{2}" }}
[[tasks]]
id = "crawl-{{date}}"
command = ["{3}", "--date", "{{date}}", "--rate", "0", "--backoff-ms", "10", "--retries", "8", "--quiet"]
foreach.date = {{ from = "2018-01-01", to = "2018-01-30" }}
)",
                           dir.path().string(), s3.endpoint(), site.base_url(), NEWS_CRAWLER_PATH);
    write_file(dir / "job.toml", job);
    const std::string creds = "env -u AWS_PROFILE AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_CONFIG_FILE=/dev/null "
                              "AWS_SHARED_CREDENTIALS_FILE=/dev/null ";
    auto run = run_shell(creds + std::string(DROVER_CLI_PATH) + " run " + (dir / "job.toml").string() + " --quiet 2>" +
                         (dir / "drover.err").string());
    INFO(read_file(dir / "drover.err"));
    REQUIRE(run.exit_code == 0);

    // Read back with the AWS CLI: each partition is the prefix date=YYYY-MM-DD/.
    auto cp = run_shell(s3.aws() + " cp --recursive --only-show-errors s3://news/crawl " + (dir / "back").string() + " 2>&1");
    INFO(cp.output);
    REQUIRE(cp.exit_code == 0);
    auto days = january_days(30);
    for (auto& d : days) CHECK(std::filesystem::is_directory(dir / "back" / ("date=" + d)));
    check_against_truth(read_records(dir / "back"), site.truth(), days);

    // The aggregate example reads the same output from s3:// (drover::s3_reader, one count
    // task per partition): its counts equal the truth, day by day.
    auto agg = run_shell(creds + DROVER_AGGREGATE_PATH + " --input s3://news/crawl --endpoint " + s3.endpoint() +
                         " --region us-east-1 --output " + (dir / "report").string() + " --slots 2 2>&1");
    INFO(agg.output);
    REQUIRE(agg.exit_code == 0);
    CHECK(agg.output.find("aggregated 30 partitions with 30 drover tasks") != std::string::npos);
    check_counts_csv(dir / "report/counts.csv", site.truth(),
                     [](const std::string& date) { return date <= "2018-01-30"; });

    // Errors name the input and carry the store's message; a partition-less key is refused.
    auto missing = run_shell(creds + DROVER_AGGREGATE_PATH + " --input s3://nosuchbucket/crawl --endpoint " + s3.endpoint() +
                             " --output " + (dir / "report2").string() + " 2>&1");
    INFO(missing.output);
    CHECK(missing.exit_code == 2);
    CHECK(missing.output.find("NoSuchBucket") != std::string::npos);
    REQUIRE(run_shell(s3.aws() + " cp " + (dir / "job.toml").string() + " s3://news/crawl/stray.txt 2>&1").exit_code == 0);
    auto stray = run_shell(creds + DROVER_AGGREGATE_PATH + " --input s3://news/crawl --endpoint " + s3.endpoint() +
                           " --output " + (dir / "report3").string() + " 2>&1");
    INFO(stray.output);
    CHECK(stray.exit_code == 2);
    CHECK(stray.output.find("s3://news/crawl/stray.txt: not in a 'date=...' partition") != std::string::npos);
    auto local = run_shell(std::string(DROVER_AGGREGATE_PATH) + " --input " + (dir / "back").string() +
                           " --endpoint http://127.0.0.1:1 --output " + (dir / "report4").string() + " 2>&1");
    CHECK(local.exit_code == 2);
    CHECK(local.output.find("are for s3:// inputs") != std::string::npos);
}

TEST_CASE("examples: news-spot-fleet.toml validates, and ec2-hosts.sh turns describe-instances output into hosts" *
          doctest::timeout(60)) {
    auto r = run_shell(std::string(DROVER_CLI_PATH) + " validate " + DROVER_SOURCE_DIR +
                       "/examples/jobs/news-spot-fleet.toml 2>&1");
    INFO(r.output);
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("365 task(s), 1 executor(s) with 0 slot(s)") != std::string::npos);  // hosts come later
    // The AWS CLI's `--output text` for two reservations (tab-separated, "None" for an
    // instance without a private address), from a stand-in `aws` on PATH.
    drover::test::temp_dir bin;
    drover::test::write_file(bin / "aws", "#!/bin/sh\nprintf '10.0.3.17\\t10.0.3.41\\nNone\\n10.0.4.2\\n'\n");
    fs::permissions(bin / "aws", fs::perms::owner_all);
    auto hosts = run_shell("PATH=" + bin.path().string() + ":$PATH " + DROVER_SOURCE_DIR +
                           "/examples/fleet/ec2-hosts.sh drover-fleet news 'tcp://{}:2376' 2>&1");
    CHECK(hosts.exit_code == 0);
    CHECK(hosts.output == "tcp://10.0.3.17:2376\ntcp://10.0.3.41:2376\ntcp://10.0.4.2:2376\n");
    drover::test::write_file(bin / "aws", "#!/bin/sh\necho 'An error occurred (RequestLimitExceeded)' >&2\nexit 255\n");
    auto failed = run_shell("PATH=" + bin.path().string() + ":$PATH " + DROVER_SOURCE_DIR +
                            "/examples/fleet/ec2-hosts.sh drover-fleet news 2>&1");
    CHECK(failed.exit_code != 0);
    CHECK(failed.output.find("RequestLimitExceeded") != std::string::npos);
}
