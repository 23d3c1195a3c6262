#include <drover/drover.hpp>

#include <iostream>

int main() {
    drover::scheduler s{{.state_dir = "state"}};
    s.add_executor(drover::local_executor{{.slots = 2}});
    s.set_sink(drover::file_sink{{.root = "out", .partition = "n={n}"}});
    for (int i = 0; i < 3; ++i) {
        auto n = std::to_string(i);
        s.submit({.id = "t" + n, .command = {"echo", "{\"n\":" + n + "}"}, .params = {{"n", n}}});
    }
    auto summary = s.run();
    std::cout << "consumer: " << summary.counts.succeeded << " succeeded\n";
    return summary.exit_code();
}
