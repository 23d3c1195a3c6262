// Job files: the parser's settings — everything a job file says besides its tasks (see
// job_tasks.cpp for the [[tasks]] entries, job_stream.cpp for load_job and job_stream).
// See docs/job-files.md for the format.
//
// Unknown keys are errors (with a did-you-mean) so a typo never silently means "default".

#include "job/job_parser.hpp"

#include <drover/error.hpp>

#include "detail/template.hpp"
#include "job/toml_limits.hpp"
#include "job/toml_table.hpp"
#include "job/workflow_keys.hpp"

#include <toml++/toml.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

namespace drover::detail {

namespace {

namespace fs = std::filesystem;

// Keys a task shares with [defaults]; executor kinds add theirs (Docker: image, memory, ...).
constexpr std::string_view setting_keys[] = {"retries",       "timeout",            "backoff", "backoff_max",
                                             "backoff_multiplier", "backoff_jitter", "pool",    "workdir",
                                             "control_lines", "speculate"};

}  // namespace

job_parser::job_parser(std::string file, const drover::kinds& k, const job_load_options& o)
    : reader(std::move(file)), load_(o) {
    job_.kinds = k;
    job_.options.shared_pools = o.shared_pools;
    for (auto key : setting_keys) task_keys_.push_back(key);
    for (auto key : job_.kinds.task_keys()) task_keys_.push_back(key);
}

// A table of name -> string template (env, or [defaults].env).
std::vector<template_field> job_parser::strings_table(const toml::node& n, const std::string& key, bool env) const {
    std::vector<template_field> out;
    for (auto&& [k, v] : table_of(n, key)) {
        std::string sub = key_path(key, k.str());
        if (env && (k.str().empty() || k.str().find('=') != std::string::npos))
            fail(k.source(), sub, "environment variable names must be non-empty and must not contain '='");
        out.push_back({std::string(k.str()), sub, &v, string_of(v, sub)});
    }
    return out;
}

void job_parser::parse_pools(const toml::node& n) {
    for (auto&& [k, v] : table_of(n, "pools")) {
        std::string key = key_path("pools", k.str());
        if (k.str().empty()) fail(k.source(), key, "pool names must not be empty");
        job_.options.pools[std::string(k.str())] = static_cast<std::size_t>(int_of(v, key, 1));
    }
}

void job_parser::parse_halt(const toml::node& n) {
    const auto& t = table_of(n, "halt");
    check_keys(t, "halt", {"max_dead", "max_dead_percent"});
    if (const auto* v = t.get("max_dead"))
        job_.options.halt.max_dead = static_cast<std::size_t>(int_of(*v, "halt.max_dead", 1));
    if (const auto* v = t.get("max_dead_percent")) {
        double p = number_of(*v, "halt.max_dead_percent");
        if (!(p > 0 && p <= 100))
            fail(*v, "halt.max_dead_percent", fmt::format("must be more than 0 and at most 100, got {}", p));
        job_.options.halt.max_dead_percent = p;
    }
}

// [limits]: what is kept of each attempt's stderr and bad lines (scheduler_options::limits).
void job_parser::parse_limits(const toml::node& n) {
    const auto& t = table_of(n, "limits");
    check_keys(t, "limits", {"stderr_log_bytes", "bad_record_bytes", "max_bad_records"});
    auto& l = job_.options.limits;
    if (const auto* v = t.get("stderr_log_bytes")) l.stderr_log_bytes = size_of(*v, "limits.stderr_log_bytes");
    if (const auto* v = t.get("bad_record_bytes")) l.bad_record_bytes = size_of(*v, "limits.bad_record_bytes");
    if (const auto* v = t.get("max_bad_records"))
        l.max_bad_records = static_cast<std::uint64_t>(int_of(*v, "limits.max_bad_records", 0));
}

void job_parser::parse_executors(const toml::node* n) {
    if (!n) {  // no [[executors]]: one local executor using every core (the kind's defaults)
        const toml::table none;
        const auto* local = job_.kinds.find_executor("local");
        job_.executors.push_back({"local", local->read(detail::toml_table(file_, none, "executors"))});
        return;
    }
    const auto& arr = array_of(*n, "executors", "an array of tables ([[executors]])");
    if (arr.empty()) fail(*n, "executors", "is empty; remove it to get one local executor, or add [[executors]]");
    for (std::size_t i = 0; i < arr.size(); ++i) {
        std::string path = fmt::format("executors[{}]", i);
        job_.executors.push_back(job_.kinds.read_executor(detail::toml_table(file_, table_of(arr[i], path), path)));
    }
}

void job_parser::parse_sink(const toml::node& n) {
    const auto& t = table_of(n, "sink");
    job_.sink = job_.kinds.read_sink(detail::toml_table(file_, t, "sink"));
    partition_node_ = t.get("partition");
}

void job_parser::parse_defaults(const toml::node& n) {
    const auto& t = table_of(n, "defaults");
    check_keys(t, "defaults", {"env"}, task_keys_);
    for (auto&& [k, v] : t) {
        std::string key = key_path("defaults", k.str());
        if (k.str() == "env") base_env_ = strings_table(v, key, true);
        else apply_setting(k.str(), v, key, base_);
    }
    apply_kind_settings(t, "defaults", base_);
}

// The executor kinds' keys of [defaults] and [[tasks]] (Docker: image, memory, ...).
void job_parser::apply_kind_settings(const toml::table& t, const std::string& path, task_spec& spec) const {
    job_.kinds.read_task(detail::toml_table(file_, t, path), spec);
}

// The keys [defaults] and [[tasks]] share; returns false for any other key.
bool job_parser::apply_setting(std::string_view k, const toml::node& v, const std::string& key, task_spec& t) const {
    if (k == "retries") {
        t.retries = static_cast<int>(int_of(v, key, 0, 1000));
    } else if (k == "timeout") {
        // "none", 0 and any zero duration ("0s") mean no timeout (and drop a default one).
        bool none = (v.is_string() && v.as_string()->get() == "none") || (v.is_integer() && v.as_integer()->get() == 0);
        if (none || duration_of(v, key).count() == 0)
            t.timeout.reset();
        else
            t.timeout = duration_of(v, key);
    } else if (k == "backoff") {
        t.backoff.initial = duration_of(v, key);
    } else if (k == "backoff_max") {
        t.backoff.max = duration_of(v, key);
    } else if (k == "backoff_multiplier") {
        t.backoff.multiplier = number_of(v, key);
        if (t.backoff.multiplier < 1) fail(v, key, fmt::format("must be at least 1, got {}", t.backoff.multiplier));
    } else if (k == "backoff_jitter") {
        t.backoff.jitter = number_of(v, key);
        if (t.backoff.jitter < 0 || t.backoff.jitter > 1)
            fail(v, key, fmt::format("must be between 0 and 1, got {}", t.backoff.jitter));
    } else if (k == "pool") {
        t.pool = string_of(v, key);
        auto shared = [&](const std::string& name) {
            return std::any_of(load_.shared_pools.begin(), load_.shared_pools.end(),
                               [&](const auto& p) { return p && p->name() == name; });
        };
        if (!t.pool.empty() && !job_.options.pools.contains(t.pool) && !shared(t.pool)) {
            std::vector<std::string> names;
            for (const auto& [name, size] : job_.options.pools) names.push_back(name);
            std::string known = names.empty() ? "there is no [pools] table"
                                              : fmt::format("declared: {}", fmt::join(names, ", "));
            std::vector<std::string> shared_names;
            for (const auto& p : load_.shared_pools)
                if (p) shared_names.push_back(p->name());
            if (!shared_names.empty()) known += fmt::format("; shared: {}", fmt::join(shared_names, ", "));
            fail(v, key, fmt::format("pool '{}' is not declared in [pools] ({})", t.pool, known));
        }
    } else if (k == "workdir") {
        t.workdir = string_of(v, key);
    } else if (k == "control_lines") {
        t.control_lines = bool_of(v, key);
    } else if (k == "speculate") {
        t.speculate = bool_of(v, key);
    } else {
        return false;  // an executor kind's key: apply_kind_settings
    }
    return true;
}

// max_tasks: the most tasks the job may make; the loader's option wins over the file's key.
void job_parser::parse_max_tasks(const toml::node* n) {
    if (n) limit_ = static_cast<std::size_t>(int_of(*n, "max_tasks", 1));
    if (load_.max_tasks) {
        if (*load_.max_tasks == 0) throw config_error(file_, 0, 0, "max_tasks", "the task limit given must be at least 1");
        limit_ = *load_.max_tasks;
    }
}

void job_parser::read(std::string_view text) {
    text_ = text;  // scalars as written (reader::as_written)
    detail::check_toml_limits(text, file_);  // before toml++ can recurse into a hostile key
    try {
        root_ = toml::parse(text, std::string_view{file_});
    } catch (const toml::parse_error& e) {
        fail(e.source(), "", fmt::format("invalid TOML: {}", e.description()));
    }
    const auto& root = root_;
    check_keys(root, "", {"name", "state_dir", "executors", "sink", "defaults", "halt", "pools", "tasks", "schedule",
                          "timezone", "overlap", "order", "speculation", "on_failure", "limits", "max_tasks", "deadline"});
    job_.source = file_;

    const auto& name = required(root, "name", "", " (e.g. name = \"hello\")");
    job_.name = string_of(name, "name");
    bool ok = !job_.name.empty() && job_.name != "." && job_.name != ".." &&
              std::all_of(job_.name.begin(), job_.name.end(), [](char c) {
                  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
              });
    if (!ok) fail(name, "name", fmt::format("invalid job name '{}': use letters, digits, '.', '_' and '-'", job_.name));

    job_.options.state_dir = fs::path(".drover") / job_.name;
    if (const auto* v = root.get("state_dir")) {
        job_.options.state_dir = string_of(*v, "state_dir");
        if (job_.options.state_dir.empty()) fail(*v, "state_dir", "must not be empty");
    }
    if (const auto* v = root.get("pools")) parse_pools(*v);
    if (const auto* v = root.get("halt")) parse_halt(*v);
    if (const auto* v = root.get("limits")) parse_limits(*v);
    parse_max_tasks(root.get("max_tasks"));
    parse_executors(root.get("executors"));
    if (const auto* v = root.get("sink")) parse_sink(*v);
    if (const auto* v = root.get("defaults")) parse_defaults(*v);
    detail::parse_workflow_keys(file_, root, job_);  // schedule, timezone, overlap, order, on_failure

    const auto* tasks = root.get("tasks");
    if (!tasks) fail(root.source(), "tasks", "no tasks: add at least one [[tasks]] table with an id and a command");
    const auto& arr = array_of(*tasks, "tasks", "an array of tables ([[tasks]])");
    if (arr.empty()) fail(*tasks, "tasks", "no tasks: add at least one [[tasks]] table with an id and a command");
    for (std::size_t i = 0; i < arr.size(); ++i) parse_task(arr[i], i);
    overrides_.check_used();
    // The sink fills the partition from task params: each task is checked for them as it is made.
    if (partition_node_ && job_.sink)
        for (auto& n : detail::template_names(job_.kinds.partition(*job_.sink)))
            if (!n.starts_with("record.")) partition_names_.push_back(std::move(n));  // {record.x}: a record's field
    // Tasks fanned out by control lines start from [defaults]; its env values stay templates
    // over each child's params. Job runs are durable: the journal belongs to the job.
    job_.options.defaults = base_;
    for (const auto& e : base_env_) job_.options.defaults.env[e.name] = e.text;
    job_.options.journal.enabled = true;
    job_.options.journal.job_name = job_.name;
}

}  // namespace drover::detail
