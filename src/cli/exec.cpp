#include "cli/exec.hpp"

#include "cli/run_job.hpp"

#include <drover/error.hpp>
#include <drover/exec.hpp>

#include <iostream>

namespace drover::cli {

int run_exec(const exec_args& a) {
    exec_spec s;
    s.command = a.command;
    bool stdin_used = false;
    auto from_stdin = [&](std::string_view name) {
        if (stdin_used) throw config_error("exec: stdin can be read only once (:::: - given twice?)");
        stdin_used = true;
        return read_exec_arguments(std::cin, name);
    };
    for (const auto& src : a.sources) {
        if (!src.file)
            s.groups.push_back(src.values);
        else if (src.path == "-")
            s.groups.push_back(from_stdin("stdin"));
        else
            s.groups.push_back(read_exec_arguments(std::filesystem::path(src.path)));
    }
    if (a.sources.empty()) s.groups.push_back(from_stdin("stdin"));
    // No input at all is nothing to do, as for parallel and xargs; an empty ::: is a usage error.
    for (const auto& g : s.groups)
        if (g.empty()) {
            std::cerr << "drover: exec: no arguments: nothing to run\n";
            return 0;
        }

    s.slots = a.jobs;
    s.retries = a.retries;
    s.timeout = a.timeout;
    s.shell = a.shell;
    if (a.out) s.out = *a.out;
    s.partition = a.partition;
    if (a.state_dir) s.state_dir = *a.state_dir;
    auto j = make_exec_job(s);
    // Without --state each exec is a new run; with it, a run resumes the earlier ones.
    j.options.journal.fresh = !a.state_dir;
    j.options.journal.retry_dead = a.retry_dead;
    bool stop = false;
    return run_job_once({.quiet = a.quiet, .summary = stderr}, std::move(j), stop);
}

}  // namespace drover::cli
