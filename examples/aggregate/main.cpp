// drover_aggregate — counts articles per date in a file or S3 sink's output and draws charts.
//
//   drover_aggregate --input out/news --output out/news-report [--slots N] [--year Y]
//   drover_aggregate --input s3://news/crawl --endpoint http://127.0.0.1:4568 --output out/news-report
//
// Extract → transform → load, with the extract step run through drover itself: one task
// per partition directory (this program, re-invoked as `drover_aggregate count DIR VALUE`),
// scheduled on a local executor, its one-line result collected by an in-memory sink; the
// merge (transform) and the files (load) happen here afterwards.

#include "extract.hpp"
#include "extract_s3.hpp"
#include "load.hpp"
#include "memory_sink.hpp"
#include "transform.hpp"

#include <drover/drover.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace {

const char* usage_text = R"(usage: drover_aggregate --input DIR|s3://BUCKET/PREFIX --output DIR [--slots N] [--year Y] [--state DIR] [--quiet]
                        [--endpoint URL] [--region R] [--path-style]

Counts the articles of every date=YYYY-MM-DD partition under DIR (a drover file sink's
output) or under s3://BUCKET/PREFIX (a drover S3 sink's output) with one drover task per
partition, then writes OUTPUT/counts.csv, OUTPUT/articles-per-day.svg and
OUTPUT/articles-per-month.svg.
  --endpoint URL  S3-compatible endpoint (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS)
  --region R      S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1)
  --path-style    path-style S3 addressing (always used for IP and localhost endpoints)
                  Credentials come from the AWS environment variables or profile.
  --slots N    count tasks at once (default: number of cores)
  --year Y     the year to chart (default: the year of the first partition)
  --state DIR  drover run state (default: OUTPUT/.drover)
Exit codes: 0 ok, 1 a count task failed, 2 usage or input errors.
)";

[[noreturn]] void usage(const std::string& msg) {
    std::cerr << "drover_aggregate: " << msg << "\n" << usage_text;
    std::exit(2);
}

int number(const std::string& flag, const std::string& v) {
    int out = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc{} || p != v.data() + v.size() || out < 0) usage(flag + ": not a number: '" + v + "'");
    return out;
}

std::string self_exe() {
    std::error_code ec;
    auto p = fs::read_symlink("/proc/self/exe", ec);
    if (ec) throw std::runtime_error("cannot find my own executable: " + ec.message());
    return p.string();
}

// The count task: one partition (a directory, or an s3:// URL) in, one JSON record out.
// S3 endpoint and region reach it through AWS_ENDPOINT_URL_S3 and AWS_REGION.
int count_main(const std::string& where, const std::string& value, bool path_style) {
    aggregate::partition_count c;
    if (aggregate::is_s3_url(where)) {
        drover::s3_sink_options o;
        o.url = where;
        o.path_style = path_style;
        c = aggregate::count_s3_partition(o, value);
    } else {
        c = aggregate::count_partition(where, value);
    }
    std::cout << aggregate::to_json(c) << "\n";
    return std::cout.flush() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) try {
    if ((argc == 4 || argc == 5) && std::string(argv[1]) == "count")
        return count_main(argv[2], argv[3], argc == 5 && std::string(argv[4]) == "--path-style");

    fs::path output, state;
    std::string input, endpoint, region;
    bool path_style = false;
    int slots = 0, year = 0;
    bool quiet = false;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(a + " needs a value");
            return argv[++i];
        };
        if (a == "--input") input = value();
        else if (a == "--output") output = value();
        else if (a == "--state") state = value();
        else if (a == "--slots") slots = number(a, value());
        else if (a == "--year") year = number(a, value());
        else if (a == "--quiet") quiet = true;
        else if (a == "--endpoint") endpoint = value();
        else if (a == "--region") region = value();
        else if (a == "--path-style") path_style = true;
        else if (a == "--help" || a == "-h") {
            std::cout << usage_text;
            return 0;
        } else usage("unknown option '" + a + "'");
    }
    if (input.empty() || output.empty()) usage("--input and --output are required");
    if (state.empty()) state = output / ".drover";

    auto started = std::chrono::steady_clock::now();
    // Extract: one drover task per partition.
    const bool s3 = aggregate::is_s3_url(input);
    if (!s3 && (!endpoint.empty() || !region.empty() || path_style))
        usage("--endpoint, --region and --path-style are for s3:// inputs");
    std::map<std::string, std::string> task_env;  // for the S3 count tasks
    if (!endpoint.empty()) task_env["AWS_ENDPOINT_URL_S3"] = endpoint;
    if (!region.empty()) task_env["AWS_REGION"] = region;
    std::vector<aggregate::partition_dir> parts;
    try {
        if (s3) {
            drover::s3_sink_options o;
            o.url = input;
            o.endpoint = endpoint;
            o.region = region;
            o.path_style = path_style;
            parts = aggregate::list_s3_partitions(o);
        } else {
            parts = aggregate::list_partitions(input);
        }
    } catch (const std::exception& e) {
        std::cerr << "drover_aggregate: " << e.what() << "\n";
        return 2;
    }
    if (parts.empty()) {
        std::cerr << "drover_aggregate: " << input << ": no date=... partitions\n";
        return 2;
    }
    auto sink = std::make_shared<aggregate::memory_sink>();
    drover::scheduler s{{.state_dir = state}};
    s.add_executor(drover::local_executor{{.slots = std::size_t(slots)}});
    s.set_sink(sink);
    auto exe = self_exe();
    for (auto& p : parts) {
        std::vector<std::string> command{exe, "count", s3 ? p.path.string() : fs::absolute(p.path).string(), p.value};
        if (path_style) command.push_back("--path-style");
        s.submit({.id = "count-" + p.name,
                  .command = std::move(command),
                  .env = task_env,
                  .params = {{"date", p.value}},
                  .retries = 1,
                  .timeout = std::chrono::minutes(10)});
    }
    auto summary = s.run();
    if (!summary.ok()) {
        for (auto& t : summary.tasks)
            if (t.state != drover::task_state::succeeded)
                std::cerr << "drover_aggregate: " << t.id << " failed: " << t.last.message << "\n";
        std::cerr << "drover_aggregate: " << summary.counts.dead << " count tasks failed; logs in "
                  << summary.run_dir.string() << "\n";
        return 1;
    }

    // Transform: merge.
    std::vector<aggregate::partition_count> counts;
    for (auto& [task, records] : sink->records())
        for (auto& r : records) counts.push_back(aggregate::from_json(r));
    aggregate::report rep;
    try {
        rep = aggregate::summarize(counts, year);
    } catch (const std::invalid_argument& e) {
        std::cerr << "drover_aggregate: " << e.what() << "\n";
        return 2;
    }

    // Load: files.
    auto w = aggregate::write_report(rep, output);
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!quiet) {
        std::printf("aggregated %zu partitions with %zu drover tasks in %.1f s: %llu articles in %d days of %d\n",
                    parts.size(), parts.size(), secs, static_cast<unsigned long long>(rep.total),
                    int(rep.days.size() - rep.missing.size()), rep.year);
        std::printf("  mean per weekday %.1f, per weekend day %.1f\n", rep.weekday_mean, rep.weekend_mean);
        std::printf("  %s\n  %s\n  %s\n", w.csv.c_str(), w.daily.c_str(), w.monthly.c_str());
    }
    if (!rep.missing.empty())
        std::cerr << "drover_aggregate: warning: " << rep.missing.size() << " days have no partition (first: "
                  << rep.missing.front() << ")\n";
    if (rep.duplicates || rep.bad_lines || rep.wrong_date)
        std::cerr << "drover_aggregate: warning: " << rep.duplicates << " duplicate records, " << rep.bad_lines
                  << " records without oid/aid, " << rep.wrong_date << " records with another date\n";
    return 0;
} catch (const std::exception& e) {
    std::cerr << "drover_aggregate: " << e.what() << "\n";
    return 2;
}
