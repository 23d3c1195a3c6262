// The README's embedding example, built so that it stays true.
#include <drover/drover.hpp>
#include <iostream>

int main() {
    drover::scheduler s{{.state_dir = ".drover/example"}};
    s.add_executor(drover::local_executor{{.slots = 4}});
    s.set_sink(drover::file_sink{{.root = "out", .partition = "date={date}"}});
    for (int day = 1; day <= 31; ++day) {
        auto date = "2018-01-" + std::string(day < 10 ? "0" : "") + std::to_string(day);
        s.submit({.id = "crawl-" + date,
                  .command = {"sh", "-c", "echo '{\"date\":\"" + date + "\"}'"},
                  .params = {{"date", date}},
                  .retries = 2,
                  .timeout = std::chrono::seconds(30)});
    }
    auto summary = s.run();  // or: co_await s.async_run(ex, boost::asio::use_awaitable)
    std::cout << summary.counts.succeeded << " of " << summary.counts.total << " succeeded\n";
    return summary.exit_code();
}
