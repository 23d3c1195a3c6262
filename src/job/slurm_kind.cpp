// `[[executors]] kind = "slurm"`, and the `slurm = {...}` table of [defaults] and [[tasks]],
// read into the task's slurm_task_options extension.

#include "job/builtin_kinds.hpp"

#include <drover/executors/slurm.hpp>

#include "slurm/protocol.hpp"

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace drover::detail {

namespace {

constexpr std::string_view setting_keys[] = {"partition", "account", "qos", "time_limit",
                                             "memory",    "cpus",    "gres", "sbatch_args"};

std::optional<std::string> nonempty(const job_table& t, std::string_view key) {
    auto s = t.get_string(key);
    if (s && s->empty()) t.fail(key, "must not be empty");
    if (s && std::any_of(s->begin(), s->end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
        t.fail(key, "must not contain control characters");
    return s;
}

// The job settings keys of a table (the executor's, or a task's `slurm` table), on top of `s`.
void read_settings(const job_table& t, slurm_job_settings& s) {
    if (auto v = nonempty(t, "partition")) s.partition = *v;
    if (auto v = nonempty(t, "account")) s.account = *v;
    if (auto v = nonempty(t, "qos")) s.qos = *v;
    if (auto v = nonempty(t, "gres")) s.gres = *v;
    if (auto v = t.get_duration("time_limit")) {
        if (v->count() <= 0) t.fail("time_limit", "must be more than 0s (leave it out for the partition's limit)");
        s.time_limit = *v;
    }
    if (auto v = t.get_size("memory")) {
        if (*v == 0) t.fail("memory", "must be more than 0 (leave it out for the cluster's default)");
        s.memory = *v;
    }
    if (auto v = t.get_int("cpus", 1, 1 << 20)) s.cpus = static_cast<int>(*v);
    if (auto v = t.get_strings("sbatch_args")) {
        for (std::size_t i = 0; i < v->size(); ++i)
            if (auto problem = slurm::sbatch_arg_problem((*v)[i])) t.fail("sbatch_args", i, *problem);
        s.sbatch_args = *v;
    }
}

slurm_executor_options read_slurm(const job_table& t) {
    std::vector<std::string_view> keys{"kind",           "slots",         "shared_dir", "workdir",
                                       "poll_interval",  "command_timeout", "controller_timeout", "max_submits",
                                       "max_line_bytes", "check_settings", "sbatch",     "squeue",
                                       "scancel"};
    keys.insert(keys.end(), std::begin(setting_keys), std::end(setting_keys));
    t.check_keys(keys);
    slurm_executor_options o;
    if (auto v = t.get_int("slots", 1, 1'000'000)) o.slots = static_cast<std::size_t>(*v);
    if (auto v = nonempty(t, "shared_dir")) o.shared_dir = *v;
    if (auto v = nonempty(t, "workdir")) o.workdir = *v;
    for (auto [key, field] : {std::pair{"poll_interval", &o.poll_interval}, std::pair{"command_timeout", &o.command_timeout},
                              std::pair{"controller_timeout", &o.controller_timeout}})
        if (auto v = t.get_duration(key)) {
            if (v->count() <= 0) t.fail(key, "must be more than 0s");
            *field = *v;
        }
    if (auto v = t.get_int("max_submits", 1, 1000)) o.max_submits = static_cast<std::size_t>(*v);
    if (auto v = line_limit(t)) o.max_line_bytes = *v;
    if (auto v = t.get_bool("check_settings")) o.check_settings = *v;
    if (auto v = nonempty(t, "sbatch")) o.sbatch = *v;
    if (auto v = nonempty(t, "squeue")) o.squeue = *v;
    if (auto v = nonempty(t, "scancel")) o.scancel = *v;
    read_settings(t, o.defaults);
    return o;
}

void read_task_settings(const job_table& t, task_spec& spec) {
    auto table = t.get_table("slurm");
    if (!table) return;
    std::vector<std::string_view> keys(std::begin(setting_keys), std::end(setting_keys));
    table->check_keys(keys);
    slurm_task_options o;
    if (const auto* base = spec.extension<slurm_task_options>()) o = *base;
    read_settings(*table, o.job);
    spec.set_extension(std::move(o));
}

// The settings as validate --json shows them: the task JSON form (seconds, bytes).
void describe_settings(const slurm_job_settings& s, boost::json::object& d) {
    boost::json::object task;
    slurm_task_options{s}.to_json(task);
    for (const auto& [k, v] : task.at("slurm").as_object()) d[k] = v;
}

}  // namespace

executor_kind<slurm_executor_options> slurm_kind() {
    return {
        .read = read_slurm,
        .make = [](const slurm_executor_options& o) { return std::make_shared<slurm_executor>(o); },
        .slots = [](const slurm_executor_options& o) { return o.slots; },
        .describe =
            [](const slurm_executor_options& o, boost::json::object& d) {
                d["slots"] = o.slots;
                d["shared_dir"] = o.shared_dir.string();
                d["workdir"] = o.workdir;
                d["poll_interval"] = seconds(o.poll_interval);
                d["command_timeout"] = seconds(o.command_timeout);
                d["controller_timeout"] = seconds(o.controller_timeout);
                d["max_submits"] = o.max_submits;
                d["check_settings"] = o.check_settings;
                describe_settings(o.defaults, d);
            },
        .task_keys = {"slurm"},
        .read_task = read_task_settings,
    };
}

}  // namespace drover::detail
