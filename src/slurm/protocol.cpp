#include "slurm/protocol.hpp"

#include <drover/error.hpp>
#include <drover/executors/ssh.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <csignal>
#include <cstring>

namespace drover::slurm {

bool is_waiting(std::string_view state) {
    static constexpr std::array<std::string_view, 6> waiting{"PENDING",      "CONFIGURING", "REQUEUED",
                                                              "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"};
    return std::find(waiting.begin(), waiting.end(), state) != waiting.end();
}

namespace {

std::string shorten(std::string_view s) {
    std::string out = safe_text(s.substr(0, std::min<std::size_t>(s.size(), 120)), 120);
    return s.size() > 120 ? out + "..." : out;
}

bool identifier(std::string_view s) {
    if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
}

std::string signal_name(int sig) {
    const char* abbrev = sigabbrev_np(sig);
    return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

// Splits on '|' into exactly `n` fields, the last taking the rest (a comment may hold '|').
std::optional<std::vector<std::string_view>> split_fields(std::string_view line, std::size_t n) {
    std::vector<std::string_view> out;
    while (out.size() + 1 < n) {
        auto bar = line.find('|');
        if (bar == std::string_view::npos) return std::nullopt;
        out.push_back(line.substr(0, bar));
        line.remove_prefix(bar + 1);
    }
    out.push_back(line);
    return out;
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
    return std::string(s);
}

bool job_id_text(std::string_view s) {
    // "123", an array element "123_4", a het-job component "123+1".
    if (s.empty() || s.size() > 40 || !std::isdigit(static_cast<unsigned char>(s[0]))) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '_' || c == '+'; });
}

}  // namespace

std::optional<std::string> sbatch_arg_problem(std::string_view a) {
    // Options drover sets itself: giving them again would break how it tracks the job.
    static constexpr std::string_view owned[] = {"-o", "--output", "-e", "--error", "-J", "--job-name", "--comment",
                                                 "--parsable", "--wrap", "-a", "--array", "--test-only", "-W", "--wait",
                                                 "--open-mode", "-D", "--chdir", "--requeue", "-H", "--hold"};
    if (a.empty() || a[0] != '-' || a == "-" || a == "--")
        return std::string("expected an sbatch option such as \"--constraint=avx2\" (one argument each)");
    auto name = a.substr(0, a.find('='));
    // Short options take their value attached ("-o/tmp/x"): compare the first two bytes.
    auto short_name = name.size() > 2 && name[1] != '-' ? name.substr(0, 2) : name;
    for (auto o : owned)
        if (o == name || o == short_name)
            return fmt::format("{} is set by drover (use workdir, retries or the executor's keys)", o);
    if (std::any_of(a.begin(), a.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
        return std::string("must not contain control characters");
    return std::nullopt;
}

std::string safe_text(std::string_view s, std::size_t max) {
    std::string out;
    out.reserve(std::min(s.size(), max));
    for (char c : s.substr(0, std::min(s.size(), max))) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                  c == ':' || c == '=' || c == '+' || c == '-';
        out.push_back(ok ? c : '_');
    }
    return out;
}

slurm_job_settings effective_settings(const slurm_job_settings& defaults, const task_spec& task) {
    slurm_job_settings s = defaults;
    if (const auto* t = task.extension<slurm_task_options>()) {
        const auto& o = t->job;
        if (!o.partition.empty()) s.partition = o.partition;
        if (!o.account.empty()) s.account = o.account;
        if (!o.qos.empty()) s.qos = o.qos;
        if (o.time_limit.count() > 0) s.time_limit = o.time_limit;
        if (o.memory) s.memory = o.memory;
        if (o.cpus) s.cpus = o.cpus;
        if (!o.gres.empty()) s.gres = o.gres;
        s.sbatch_args.insert(s.sbatch_args.end(), o.sbatch_args.begin(), o.sbatch_args.end());
    }
    if (s.time_limit.count() <= 0 && task.timeout && task.timeout->count() > 0)
        s.time_limit = *task.timeout + std::chrono::minutes(1);
    return s;
}

std::string time_limit_arg(duration d) {
    using namespace std::chrono;
    auto ms = std::max<std::int64_t>(d.count(), 1);
    // A limit beyond what Slurm can hold (INFINITE is about 136 years of minutes) is no limit.
    // (ms + 59999) / 60000 would overflow near the largest durations; this does not.
    std::int64_t minutes =
        std::min<std::int64_t>(ms / 60000 + (ms % 60000 != 0), std::int64_t{365} * 24 * 60 * 100);
    return fmt::format("{}-{:02}:{:02}:00", minutes / (24 * 60), minutes / 60 % 24, minutes % 60);
}

std::vector<std::string> sbatch_args(const slurm_job_settings& s, const submit_files& f, bool test_only) {
    std::vector<std::string> a{"--parsable"};
    if (test_only) a.push_back("--test-only");
    a.push_back("--job-name=" + f.job_name);
    a.push_back("--comment=" + f.comment);
    if (!test_only) {
        a.push_back("--output=" + f.out);
        a.push_back("--error=" + f.err);
        a.push_back("--open-mode=append");
        a.push_back("--no-requeue");
    }
    if (!f.workdir.empty()) a.push_back("--chdir=" + f.workdir);
    if (!s.partition.empty()) a.push_back("--partition=" + s.partition);
    if (!s.account.empty()) a.push_back("--account=" + s.account);
    if (!s.qos.empty()) a.push_back("--qos=" + s.qos);
    if (s.time_limit.count() > 0) a.push_back("--time=" + time_limit_arg(s.time_limit));
    if (s.memory) a.push_back(fmt::format("--mem={}M", (s.memory + (1u << 20) - 1) >> 20));
    if (s.cpus > 0) a.push_back(fmt::format("--cpus-per-task={}", s.cpus));
    if (!s.gres.empty()) a.push_back("--gres=" + s.gres);
    a.insert(a.end(), s.sbatch_args.begin(), s.sbatch_args.end());
    if (test_only) a.push_back("--wrap=true");
    else a.push_back(f.script);
    return a;
}

std::string setting_key(const slurm_job_settings& s, std::string_view arg) {
    auto is = [&](std::string_view prefix) { return arg.starts_with(prefix); };
    if (is("--partition=")) return "partition";
    if (is("--account=")) return "account";
    if (is("--qos=")) return "qos";
    if (is("--time=")) return "time_limit";
    if (is("--mem=")) return "memory";
    if (is("--cpus-per-task=")) return "cpus";
    if (is("--gres=")) return "gres";
    for (std::size_t i = 0; i < s.sbatch_args.size(); ++i)
        if (s.sbatch_args[i] == arg) return fmt::format("sbatch_args[{}]", i);
    return {};
}

std::string job_script(const task_spec& task) {
    if (task.command.empty()) throw config_error("task '" + task.id + "': empty command");
    std::string s = "#!/bin/sh\n# drover task " + safe_text(task.id, 200) + "\n";
    for (const auto& [k, v] : task.env) {
        if (!identifier(k))
            throw config_error(fmt::format("task '{}': env name '{}' cannot be exported by a Slurm job script "
                                           "(letters, digits and '_', not starting with a digit)",
                                           task.id, shorten(k)));
        s += "export " + k + "=" + shell_quote(v) + "\n";
    }
    if (!task.workdir.empty()) s += "cd " + shell_quote(task.workdir) + " || exit 127\n";
    s += "exec";
    for (const auto& a : task.command) s += " " + shell_quote(a);
    s += "\n";
    return s;
}

std::string parse_job_id(std::string_view out) {
    std::string text = trim(out);
    // Warnings may come first on their own lines; the id is the last line.
    if (auto nl = text.find_last_of('\n'); nl != std::string::npos) text = trim(std::string_view(text).substr(nl + 1));
    std::string id = text.substr(0, text.find(';'));
    if (!job_id_text(id)) throw protocol_error("sbatch printed no job id: '" + shorten(out) + "'");
    return id;
}

std::vector<job_status> parse_squeue(std::string_view out) {
    std::vector<job_status> jobs;
    std::size_t line_no = 0;
    while (!out.empty()) {
        auto nl = out.find('\n');
        std::string_view line = out.substr(0, nl);
        out.remove_prefix(nl == std::string_view::npos ? out.size() : nl + 1);
        ++line_no;
        if (trim(line).empty()) continue;
        auto f = split_fields(line, 5);
        if (!f) throw protocol_error(fmt::format("squeue line {}: expected 5 '|'-separated fields: '{}'", line_no, shorten(line)));
        job_status j;
        j.id = trim((*f)[0]);
        j.state = trim((*f)[1]);
        j.reason = trim((*f)[2]);
        auto code = trim((*f)[3]);
        j.comment = trim((*f)[4]);
        if (!job_id_text(j.id)) throw protocol_error(fmt::format("squeue line {}: bad job id '{}'", line_no, shorten(j.id)));
        if (j.state.empty() || j.state.size() > 32 ||
            !std::all_of(j.state.begin(), j.state.end(), [](char c) { return (c >= 'A' && c <= 'Z') || c == '_'; }))
            throw protocol_error(fmt::format("squeue line {}: bad job state '{}'", line_no, shorten(j.state)));
        // "0", "768", or "N/A" while nothing has ended.
        if (code != "N/A" && !code.empty()) {
            auto [p, ec] = std::from_chars(code.data(), code.data() + code.size(), j.exit_status);
            if (ec != std::errc() || p != code.data() + code.size() || j.exit_status < 0)
                throw protocol_error(fmt::format("squeue line {}: bad exit code '{}'", line_no, shorten(code)));
        }
        jobs.push_back(std::move(j));
    }
    return jobs;
}

bool is_final(std::string_view state) {
    static constexpr std::array<std::string_view, 13> final_states{
        "COMPLETED", "FAILED",    "CANCELLED",    "TIMEOUT",   "DEADLINE", "OUT_OF_MEMORY", "NODE_FAIL",
        "BOOT_FAIL", "PREEMPTED", "SPECIAL_EXIT", "REVOKED",   "STOPPED_FINAL" /* never printed */, "LAUNCH_FAILED"};
    return std::find(final_states.begin(), final_states.end(), state) != final_states.end();
}

namespace {

bool memory_kill(std::string_view err) {
    // slurmstepd's words when it (jobacct_gather) or the cgroup OOM killer ended the job.
    for (std::string_view m : {"Exceeded job memory limit", "exceeded memory limit", "oom-kill event", "oom_kill event",
                               "Detected 1 oom-kill", "out-of-memory"})
        if (err.find(m) != std::string_view::npos) return true;
    return false;
}

}  // namespace

execution_result job_outcome(const job_status& j, bool cancelled, std::string_view stderr_tail) {
    execution_result r;
    int code = (j.exit_status >> 8) & 0xff;
    int sig = j.exit_status & 0x7f;
    std::string why = j.reason.empty() || j.reason == "None" ? "" : " (" + j.reason + ")";
    if (cancelled) {
        r.failure = failure_class::cancelled;
        r.message = fmt::format("Slurm job {} cancelled (scancel)", j.id);
        return r;
    }
    if (j.state == "COMPLETED") {
        r.exit_code = code;
        if (code != 0) {  // not seen from Slurm, but never call a failure a success
            r.failure = failure_class::exit_code;
            r.message = "exit code " + std::to_string(code);
        }
        return r;
    }
    if (j.state == "OUT_OF_MEMORY" || ((j.state == "FAILED" || j.state == "CANCELLED") && memory_kill(stderr_tail))) {
        r.failure = failure_class::oom_killed;
        r.signal = sig;
        r.message = fmt::format("Slurm job {} killed for exceeding its memory ({})", j.id, j.state);
        return r;
    }
    if (j.state == "FAILED" || j.state == "SPECIAL_EXIT" || j.state == "LAUNCH_FAILED") {
        if (sig != 0) {
            r.failure = failure_class::signal;
            r.signal = sig;
            r.message = fmt::format("killed by {} (Slurm job {} {}{})", signal_name(sig), j.id, j.state, why);
        } else {
            r.failure = failure_class::exit_code;
            r.exit_code = code;
            r.message = code != 0 ? "exit code " + std::to_string(code)
                                  : fmt::format("Slurm job {} {}{}", j.id, j.state, why);
        }
        return r;
    }
    if (j.state == "TIMEOUT" || j.state == "DEADLINE") {
        r.failure = failure_class::timeout;
        r.message = fmt::format("Slurm ended job {} at its time limit ({})", j.id, j.state);
        return r;
    }
    if (j.state == "NODE_FAIL" || j.state == "BOOT_FAIL" || j.state == "PREEMPTED" || j.state == "REVOKED") {
        r.failure = failure_class::executor_lost;
        r.message = fmt::format("Slurm job {} {}{}: requeued", j.id, j.state, why);
        return r;
    }
    if (j.state == "CANCELLED") {
        r.failure = failure_class::signal;
        r.signal = sig ? sig : SIGTERM;
        r.message = fmt::format("Slurm job {} cancelled outside drover (scancel by a user or an administrator){}", j.id, why);
        return r;
    }
    r.failure = failure_class::executor_lost;
    r.message = fmt::format("Slurm job {} ended in unknown state {}{}", j.id, j.state, why);
    return r;
}

std::string job_comment(std::string_view state_label, std::string_view run_id, std::string_view task_id, int attempt) {
    return fmt::format("drover state={} run={} attempt={} task={}", safe_text(state_label, 64), safe_text(run_id, 64),
                       attempt, safe_text(task_id, 120));
}

std::optional<comment_fields> parse_comment(std::string_view c) {
    if (!c.starts_with("drover state=")) return std::nullopt;
    c.remove_prefix(13);
    auto sp = c.find(' ');
    if (sp == std::string_view::npos || sp == 0) return std::nullopt;
    comment_fields f{std::string(c.substr(0, sp)), {}};
    c.remove_prefix(sp + 1);
    if (!c.starts_with("run=")) return std::nullopt;
    c.remove_prefix(4);
    f.run = std::string(c.substr(0, c.find(' ')));
    if (f.run.empty()) return std::nullopt;
    return f;
}

}  // namespace drover::slurm
