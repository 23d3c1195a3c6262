#pragma once
// Test fixture: examples/news_site as a real process on a free loopback port. It dies with
// the test process (PR_SET_PDEATHSIG) and is stopped by PID in the destructor.

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace drover::test {

class news_site_process {
public:
    /// Starts NEWS_SITE_PATH with `args` (plus --port 0 and port/truth files in `dir`);
    /// throws when it does not listen within 10 s.
    news_site_process(const std::filesystem::path& dir, std::vector<std::string> args = {});
    ~news_site_process();
    news_site_process(const news_site_process&) = delete;
    news_site_process& operator=(const news_site_process&) = delete;

    std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int pid() const { return pid_; }
    /// date → true article count, from the file the site wrote.
    std::map<std::string, int> truth() const;
    /// SIGTERM, wait, and return what the site logged.
    std::string stop();

private:
    std::filesystem::path dir_;
    int pid_ = -1;
    int port_ = 0;
};

/// Checks the aggregation's counts.csv against the site's truth, day by day: a crawled day
/// (`crawled(date)`) has the true count, every other day 0, records equal articles (no
/// duplicates), and the total is the truth's and not zero.
void check_counts_csv(const std::filesystem::path& counts_csv, std::map<std::string, int> truth,
                      const std::function<bool(const std::string& date)>& crawled);

}  // namespace drover::test
