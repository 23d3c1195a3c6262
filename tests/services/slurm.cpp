#include "services/slurm.hpp"

#include <cstdlib>
#include <stdexcept>
#include <unistd.h>

namespace drover::test {

namespace {

std::string script() { return std::string(DROVER_SOURCE_DIR) + "/tests/services/slurm-cluster.sh"; }

bool executable(const char* p) { return ::access(p, X_OK) == 0; }

const std::vector<std::string> final_states = {"COMPLETED", "FAILED",    "CANCELLED", "TIMEOUT",   "DEADLINE",
                                               "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL", "PREEMPTED", "SPECIAL_EXIT"};

}  // namespace

bool slurm_available() {
    return ::geteuid() == 0 && executable("/usr/sbin/slurmctld") && executable("/usr/sbin/slurmd") &&
           executable("/usr/sbin/munged") && executable("/usr/bin/sbatch") && executable("/usr/bin/squeue");
}

slurm_cluster::slurm_cluster() {
    auto r = run_shell(script() + " start " + dir().string() + " 2>&1");
    if (r.exit_code != 0) throw std::runtime_error("slurm cluster did not start: " + r.output);
    if (const char* c = std::getenv("SLURM_CONF")) {
        had_conf_ = true;
        old_conf_ = c;
    }
    ::setenv("SLURM_CONF", (dir() / "slurm.conf").c_str(), 1);
}

slurm_cluster::~slurm_cluster() {
    run_shell(script() + " stop " + dir().string() + " >/dev/null 2>&1");
    if (had_conf_) ::setenv("SLURM_CONF", old_conf_.c_str(), 1);
    else ::unsetenv("SLURM_CONF");
}

std::vector<std::string> slurm_cluster::jobs() const {
    auto r = run_shell("squeue --noheader --states=all --Format='JobID:|,State:|,Comment:' 2>&1");
    if (r.exit_code != 0) throw std::runtime_error("squeue: " + r.output);
    std::vector<std::string> out;
    for (auto& l : split_lines(r.output))
        if (!l.empty()) out.push_back(l);
    return out;
}

std::vector<std::string> slurm_cluster::live_jobs(const std::string& needle) const {
    std::vector<std::string> out;
    for (auto& j : jobs()) {
        if (j.find(needle) == std::string::npos) continue;
        auto a = j.find('|'), b = j.find('|', a + 1);
        auto state = j.substr(a + 1, b - a - 1);
        bool final = false;
        for (auto& f : final_states) final = final || state == f;
        if (!final) out.push_back(j);
    }
    return out;
}

void slurm_cluster::stop_controller() {
    run_shell("kill $(cat " + (dir() / "slurmctld.pid").string() + ") 2>/dev/null; sleep 0.5");
}

void slurm_cluster::start_controller() {
    auto r = run_shell("/usr/sbin/slurmctld -f " + (dir() / "slurm.conf").string() + " 2>&1");
    if (r.exit_code != 0) throw std::runtime_error("slurmctld: " + r.output);
}

}  // namespace drover::test
