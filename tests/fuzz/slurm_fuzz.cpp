// What the Slurm executor reads from Slurm's commands (slurm/protocol.*): sbatch --parsable's
// job id, squeue's '|'-separated lines, and drover's job comments. Each parser either returns
// or throws protocol_error, and what it returns keeps its promises: a job id of digits (and
// '_'/'+'), states of capital letters, outcomes that never call a failed job a success.
#include "fuzz/fuzz.hpp"

#include "slurm/protocol.hpp"

#include <algorithm>

namespace drover::fuzz {

void slurm(std::string_view in) {
    try {
        auto id = drover::slurm::parse_job_id(in);
        DROVER_FUZZ_CHECK(!id.empty() && id.size() <= 40, id);
        DROVER_FUZZ_CHECK(id.find_first_not_of("0123456789_+") == std::string::npos, id);
    } catch (const drover::slurm::protocol_error&) {
    }
    try {
        for (const auto& j : drover::slurm::parse_squeue(in)) {
            DROVER_FUZZ_CHECK(!j.id.empty() && j.id.find_first_not_of("0123456789_+") == std::string::npos, j.id);
            DROVER_FUZZ_CHECK(!j.state.empty() && j.state.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string::npos,
                              j.state);
            auto r = drover::slurm::job_outcome(j, false, in);
            if (j.state != "COMPLETED") DROVER_FUZZ_CHECK(r.failure != failure_class::none, j.state);
            if (r.failure == failure_class::none) DROVER_FUZZ_CHECK(((j.exit_status >> 8) & 0xff) == 0, j.state);
        }
    } catch (const drover::slurm::protocol_error&) {
    }
    if (auto c = drover::slurm::parse_comment(in)) DROVER_FUZZ_CHECK(!c->state.empty() && !c->run.empty(), std::string(in));
    auto safe = drover::slurm::safe_text(in, 64);
    DROVER_FUZZ_CHECK(safe.size() <= 64 && safe.find_first_of(" |\n/") == std::string::npos, safe);
    (void)drover::slurm::sbatch_arg_problem(in);
}

}  // namespace drover::fuzz
