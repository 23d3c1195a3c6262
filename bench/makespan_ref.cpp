// Reference runners for the makespan benchmark (bench/makespan.sh): what the best possible
// runner of these real processes achieves, measured, so drover is compared with a
// measurement instead of a model.
//
//   makespan_ref --measure OUT --reps K < COMMANDS
//       Runs every command alone, one after another, K times, and writes each command's
//       median duration in seconds to OUT (one per line): spawn to reap, CLOCK_MONOTONIC.
//       That is the task's real length, the work it is.
//   makespan_ref --slots N --order fifo < COMMANDS
//       A pull scheduler with the least overhead there is (posix_spawn, waitpid(-1), start
//       the next command in submission order) — what drover does, minus everything else.
//       Like drover, it looks a program up on PATH once (drover's program_path), not in
//       every child as posix_spawnp does.
//   makespan_ref --slots N --order lpt --durations FILE < COMMANDS
//       The same, longest measured duration first: an oracle that knows every task's length
//       in advance (LPT list scheduling).
//
// COMMANDS: one argv per line, words separated by blanks (no quoting). Prints the makespan
// in seconds. Exit 2 with a message on bad input or a failed spawn; 1 if a command failed.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

#include "executors/program_path.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using clk = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& msg) {
    std::fprintf(stderr, "makespan_ref: %s\n", msg.c_str());
    std::exit(2);
}

std::vector<std::vector<std::string>> read_commands(std::istream& in) {
    std::vector<std::vector<std::string>> out;
    std::string line;
    for (std::size_t no = 1; std::getline(in, line); ++no) {
        std::istringstream words(line);
        std::vector<std::string> argv;
        for (std::string w; words >> w;) argv.push_back(w);
        if (argv.empty()) die("line " + std::to_string(no) + ": empty command");
        out.push_back(std::move(argv));
    }
    if (out.empty()) die("no commands on standard input");
    return out;
}

pid_t spawn(const std::vector<std::string>& cmd) {
    std::vector<char*> argv;
    for (auto& a : cmd) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    auto path = drover::detail::program_path(cmd[0]);
    if (int e = path ? ::posix_spawn(&pid, path->c_str(), nullptr, nullptr, argv.data(), environ)
                     : ::posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ))
        die("cannot start '" + cmd[0] + "': " + std::strerror(e));
    return pid;
}

// Waits for any child; returns its pid and whether it exited 0.
std::pair<pid_t, bool> reap_any() {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, 0)) < 0 && errno == EINTR) {
    }
    if (pid < 0) die(std::string("waitpid: ") + std::strerror(errno));
    return {pid, WIFEXITED(status) && WEXITSTATUS(status) == 0};
}

double seconds(clk::duration d) { return std::chrono::duration<double>(d).count(); }

int measure(const std::vector<std::vector<std::string>>& cmds, const std::string& out_file, int reps) {
    std::vector<std::vector<double>> runs(cmds.size());
    bool ok = true;
    for (int r = 0; r < reps; ++r)
        for (std::size_t i = 0; i < cmds.size(); ++i) {
            auto t0 = clk::now();
            spawn(cmds[i]);
            ok = reap_any().second && ok;
            runs[i].push_back(seconds(clk::now() - t0));
        }
    std::ofstream out(out_file);
    if (!out) die("cannot write " + out_file);
    for (auto& r : runs) {
        std::sort(r.begin(), r.end());
        out << r[r.size() / 2] << "\n";
    }
    return ok ? 0 : 1;
}

int run(const std::vector<std::vector<std::string>>& cmds, std::size_t slots, const std::vector<std::size_t>& order) {
    std::size_t next = 0, running = 0;
    bool ok = true;
    auto t0 = clk::now();
    while (next < order.size() || running > 0) {
        while (running < slots && next < order.size()) {
            spawn(cmds[order[next++]]);
            ++running;
        }
        ok = reap_any().second && ok;
        --running;
    }
    std::printf("%.6f\n", seconds(clk::now() - t0));
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::map<std::string, std::string> opt;
    for (int i = 1; i < argc; ++i) {
        std::string k = argv[i];
        if (k.rfind("--", 0) != 0 || i + 1 >= argc) die("usage: see the comment at the top of bench/makespan_ref.cpp");
        if (k != "--measure" && k != "--reps" && k != "--slots" && k != "--order" && k != "--durations")
            die("unknown option " + k);
        opt[k] = argv[++i];
    }
    auto cmds = read_commands(std::cin);
    auto number = [&](const std::string& k) {
        try {
            std::size_t used = 0;
            long v = std::stol(opt.at(k), &used);
            if (used != opt.at(k).size() || v < 1) throw std::invalid_argument(k);
            return v;
        } catch (const std::exception&) {
            die(k + " needs a positive integer");
        }
    };
    if (opt.contains("--measure")) return measure(cmds, opt["--measure"], opt.contains("--reps") ? static_cast<int>(number("--reps")) : 3);
    if (!opt.contains("--slots") || !opt.contains("--order")) die("give --measure FILE, or --slots N --order fifo|lpt");
    auto slots = static_cast<std::size_t>(number("--slots"));
    std::vector<std::size_t> order(cmds.size());
    std::iota(order.begin(), order.end(), 0);
    if (opt["--order"] == "lpt") {
        if (!opt.contains("--durations")) die("--order lpt needs --durations FILE (from --measure)");
        std::ifstream in(opt["--durations"]);
        std::vector<double> d;
        for (double x; in >> x;) d.push_back(x);
        if (d.size() != cmds.size())
            die(opt["--durations"] + ": " + std::to_string(d.size()) + " durations for " + std::to_string(cmds.size()) +
                " commands");
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return d[a] > d[b]; });
    } else if (opt["--order"] != "fifo") {
        die("--order must be fifo or lpt");
    }
    return run(cmds, slots, order);
}
