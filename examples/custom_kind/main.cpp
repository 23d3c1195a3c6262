// custom_kind JOB.toml: runs a job file that may use this program's own executor kind,
// "inline" (inline_kind.hpp), next to drover's built-in kinds. Prints the summary as JSON;
// exits like `drover run` (0 when every task succeeded, 1 when some failed, 2 for errors).

#include "inline_kind.hpp"

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: custom_kind JOB.toml\n";
        return 2;
    }
    drover::kinds kinds;          // the built-in kinds (local, ssh, docker; file, s3) ...
    inline_kind::add_to(kinds);   // ... and "inline"
    try {
        auto job = drover::load_job(argv[1], kinds);  // the job keeps its kinds
        auto summary = drover::make_scheduler(job).run();
        std::cout << drover::to_json(summary) << "\n";
        return summary.exit_code();
    } catch (const drover::config_error& e) {
        std::cerr << "custom_kind: configuration error: " << e.what() << "\n";
        return 2;
    }
}
