#pragma once
// A real single-node Slurm cluster (munged, slurmctld, slurmd) in a scratch directory, for the
// Slurm executor's tests: tests/services/slurm-cluster.sh starts it on private ports, and the
// process's SLURM_CONF points sbatch, squeue and scancel at it while the object lives.

#include "support/support.hpp"

#include <memory>
#include <string>
#include <vector>

namespace drover::test {

/// True when Slurm and munge are installed and we are root (slurmd runs jobs as their users).
bool slurm_available();

class slurm_cluster {
public:
    /// Starts the cluster; throws std::runtime_error with the daemons' logs when it does not
    /// come up.
    slurm_cluster();
    ~slurm_cluster();
    slurm_cluster(const slurm_cluster&) = delete;
    slurm_cluster& operator=(const slurm_cluster&) = delete;

    const fs::path& dir() const { return dir_.path(); }
    /// Jobs squeue lists (all states): "id|STATE|comment" each.
    std::vector<std::string> jobs() const;
    /// Jobs whose comment contains `needle` and that are not finished (pending, running, ...).
    std::vector<std::string> live_jobs(const std::string& needle = "drover") const;
    /// Stops or starts slurmctld alone (jobs keep running under slurmd).
    void stop_controller();
    void start_controller();

private:
    temp_dir dir_;
    std::string old_conf_;
    bool had_conf_ = false;
};

}  // namespace drover::test

// In a test: skip without Slurm, fail instead in CI (DROVER_REQUIRE_SERVICES=1).
// SLURM_CLUSTER_OR_SKIP(name) also starts a cluster as `name`, skipping (or failing in CI)
// with the daemons' logs when it does not come up.
#define SLURM_OR_SKIP()                                                                          \
    do {                                                                                         \
        if (!::drover::test::slurm_available()) {                                               \
            if (::drover::test::services_required())                                            \
                FAIL("Slurm missing (needs slurm-wlm and munge, run as root)");                 \
            MESSAGE("skipped: Slurm (slurm-wlm, munge) not installed or not root");             \
            return;                                                                              \
        }                                                                                        \
    } while (0)

#define SLURM_CLUSTER_OR_SKIP(name)                                                              \
    SLURM_OR_SKIP();                                                                             \
    std::unique_ptr<::drover::test::slurm_cluster> name##_holder;                               \
    try {                                                                                        \
        name##_holder = std::make_unique<::drover::test::slurm_cluster>();                      \
    } catch (const std::exception& e) {                                                          \
        if (::drover::test::services_required()) FAIL(e.what());                               \
        MESSAGE("skipped: " << e.what());                                                        \
        return;                                                                                  \
    }                                                                                            \
    [[maybe_unused]] ::drover::test::slurm_cluster& name = *name##_holder
