// polite JOB.toml: runs a job file that may use the "polite" executor kind (polite_executor.hpp)
// next to drover's built-in kinds. Prints the summary as JSON; exits like `drover run` (0 when
// every task succeeded, 1 when some failed, 2 for errors).

#include "polite_executor.hpp"

#include <iostream>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: polite JOB.toml\n";
        return 2;
    }
    drover::kinds kinds;     // the built-in kinds (local, ssh, docker, slurm; file, s3) ...
    polite::add_to(kinds);   // ... and "polite"
    try {
        auto job = drover::load_job(argv[1], kinds);
        auto summary = drover::make_scheduler(job).run();
        std::cout << drover::to_json(summary) << "\n";
        return summary.exit_code();
    } catch (const drover::config_error& e) {
        std::cerr << "polite: configuration error: " << e.what() << "\n";
        return 2;
    }
}
