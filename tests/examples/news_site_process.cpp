#include "news_site_process.hpp"

#include "support/support.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace drover::test {

news_site_process::news_site_process(const std::filesystem::path& dir, std::vector<std::string> args) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    std::vector<std::string> argv{NEWS_SITE_PATH, "--port", "0", "--port-file", (dir_ / "port").string(),
                                  "--truth-file", (dir_ / "truth.csv").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto log = (dir_ / "site.log").string();
    std::vector<char*> cargv;  // built before fork: the child only calls async-signal-safe functions
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);  // lifeline: never outlive the test
        if (getppid() != parent) _exit(127);
        int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(cargv[0], cargv.data());
        _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        std::error_code ec;
        if (std::filesystem::file_size(dir_ / "port", ec) > 0 && !ec) {
            port_ = std::stoi(read_file(dir_ / "port"));
            return;
        }
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("news_site exited at start: " + read_file(log));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
    throw std::runtime_error("news_site did not listen within 10 s");
}

news_site_process::~news_site_process() { stop(); }

std::string news_site_process::stop() {
    if (pid_ > 0) {
        kill(pid_, SIGTERM);
        int status = 0;
        bool reaped = false;
        for (int i = 0; i < 250 && !reaped; ++i) {
            reaped = waitpid(pid_, &status, WNOHANG) == pid_;
            if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        if (!reaped) {
            kill(pid_, SIGKILL);
            waitpid(pid_, &status, 0);
        }
        pid_ = -1;
    }
    std::error_code ec;
    return std::filesystem::exists(dir_ / "site.log", ec) ? read_file(dir_ / "site.log") : "";
}

std::map<std::string, int> news_site_process::truth() const {
    std::map<std::string, int> out;
    for (auto& line : split_lines(read_file(dir_ / "truth.csv"))) {
        auto comma = line.find(',');
        if (comma == std::string::npos || line.starts_with("date,")) continue;
        out[line.substr(0, comma)] = std::stoi(line.substr(comma + 1));
    }
    return out;
}

void check_counts_csv(const std::filesystem::path& counts_csv, std::map<std::string, int> truth,
                      const std::function<bool(const std::string& date)>& crawled) {
    auto rows = split_lines(read_file(counts_csv));
    REQUIRE(rows.size() == 366);
    CHECK(rows[0] == "date,weekday,articles,records");
    long sum = 0, truth_sum = 0;
    for (std::size_t i = 1; i < rows.size(); ++i) {
        auto& r = rows[i];
        auto date = r.substr(0, 10);
        auto articles = std::stol(r.substr(r.find(',', 11) + 1));
        bool in_crawl = crawled(date);
        CAPTURE(r);
        CHECK(articles == (in_crawl ? truth[date] : 0));
        CHECK(r.ends_with("," + std::to_string(articles)));  // records == articles: no duplicates
        sum += articles;
        if (in_crawl) truth_sum += truth[date];
    }
    CHECK(sum == truth_sum);
    CHECK(sum > 0);
}

}  // namespace drover::test
