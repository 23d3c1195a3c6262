// Job files: TOML in, a validated drover::job out. See docs/job-files.md for the format.
//
// Every mistake becomes a config_error "file:line:column: key: problem" pointing at the
// offending node, because job files are written by hand and a bare "bad value" is useless.
// Unknown keys are errors (with a did-you-mean) so a typo never silently means "default".

#include <drover/error.hpp>
#include <drover/job_file.hpp>

#include "detail/template.hpp"
#include "job/expand.hpp"
#include "job/overrides.hpp"
#include "job/select.hpp"
#include "job/toml_limits.hpp"
#include "job/toml_reader.hpp"
#include "job/toml_table.hpp"
#include "job/workflow_keys.hpp"
#include "scheduler/dag.hpp"

#include <toml++/toml.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <unordered_map>

namespace drover {
namespace {

namespace fs = std::filesystem;
using detail::key_path;

// Keys a task shares with [defaults]; executor kinds add theirs (Docker: image, memory, ...).
constexpr std::string_view setting_keys[] = {"retries",       "timeout",            "backoff", "backoff_max",
                                             "backoff_multiplier", "backoff_jitter", "pool",    "workdir",
                                             "control_lines", "speculate"};
constexpr std::uintmax_t max_file_bytes = 64u << 20;

// Placeholder names ({date}); "record." is reserved for record fields in partitions.
bool valid_var_name(std::string_view n) {
    if (n.empty() || !(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
    return !n.starts_with("record.") && std::all_of(n.begin(), n.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    });
}

// A string from the file that is expanded per task; remembers where it came from.
struct template_field {
    std::string name;  // env variable or param name; unused for id/command
    std::string key;
    const toml::node* node;
    std::string text;
    bool literal = false;  // a value given to the loader (job_load_options::params): no placeholders
};

class parser : detail::reader {
public:
    parser(std::string file, const drover::kinds& k, const job_load_options& o) : reader(std::move(file)), load_(o) {
        job_.kinds = k;
        for (auto key : setting_keys) task_keys_.push_back(key);
        for (auto key : job_.kinds.task_keys()) task_keys_.push_back(key);
    }
    job run(std::string_view text);

private:
    job job_;
    const job_load_options& load_;
    detail::param_overrides overrides_{load_.params};
    std::vector<std::string_view> task_keys_;  // setting_keys and the kinds' task keys
    task_spec base_;                        // [defaults] applied
    std::vector<template_field> base_env_;  // [defaults].env
    const toml::node* partition_node_ = nullptr;
    std::vector<std::size_t> task_entry_;   // tasks[i] entry index of each expanded task
    std::vector<std::size_t> entry_line_;
    std::unordered_map<std::string, std::size_t> seen_ids_;  // id -> entry index
    std::vector<std::vector<template_field>> entry_after_;    // tasks[entry].after, per entry

    std::vector<template_field> strings_table(const toml::node& n, const std::string& key, bool env) const;
    void parse_pools(const toml::node& n);
    void parse_halt(const toml::node& n);
    void parse_limits(const toml::node& n);
    void parse_executors(const toml::node* n);
    void parse_sink(const toml::node& n);
    void parse_defaults(const toml::node& n);
    bool apply_setting(std::string_view k, const toml::node& v, const std::string& key, task_spec& t) const;
    void apply_kind_settings(const toml::table& t, const std::string& path, task_spec& spec) const;
    std::vector<detail::foreach_axis> parse_foreach(const toml::node& n, const std::string& path) const;
    detail::foreach_axis parse_range(const std::string& name, const toml::table& r, const std::string& key) const;
    void parse_task(const toml::node& n, std::size_t entry);
    std::string expand(const template_field& f, const std::map<std::string, std::string>& vars) const;
    void add_task(task_spec t, const template_field& id, std::size_t entry,
                  const std::vector<detail::foreach_axis>& axes);
    void override_values(const std::string& path, const toml::node* foreach_node,
                         std::vector<detail::foreach_axis>& axes, std::vector<template_field>& params);
    void check_partition() const;
    detail::task_graph check_after() const;
};

// A table of name -> string template (env, or [defaults].env).
std::vector<template_field> parser::strings_table(const toml::node& n, const std::string& key, bool env) const {
    std::vector<template_field> out;
    for (auto&& [k, v] : table_of(n, key)) {
        std::string sub = key_path(key, k.str());
        if (env && (k.str().empty() || k.str().find('=') != std::string::npos))
            fail(k.source(), sub, "environment variable names must be non-empty and must not contain '='");
        out.push_back({std::string(k.str()), sub, &v, string_of(v, sub)});
    }
    return out;
}

void parser::parse_pools(const toml::node& n) {
    for (auto&& [k, v] : table_of(n, "pools")) {
        std::string key = key_path("pools", k.str());
        if (k.str().empty()) fail(k.source(), key, "pool names must not be empty");
        job_.options.pools[std::string(k.str())] = static_cast<std::size_t>(int_of(v, key, 1));
    }
}

void parser::parse_halt(const toml::node& n) {
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
void parser::parse_limits(const toml::node& n) {
    const auto& t = table_of(n, "limits");
    check_keys(t, "limits", {"stderr_log_bytes", "bad_record_bytes", "max_bad_records"});
    auto& l = job_.options.limits;
    if (const auto* v = t.get("stderr_log_bytes")) l.stderr_log_bytes = size_of(*v, "limits.stderr_log_bytes");
    if (const auto* v = t.get("bad_record_bytes")) l.bad_record_bytes = size_of(*v, "limits.bad_record_bytes");
    if (const auto* v = t.get("max_bad_records"))
        l.max_bad_records = static_cast<std::uint64_t>(int_of(*v, "limits.max_bad_records", 0));
}

void parser::parse_executors(const toml::node* n) {
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

void parser::parse_sink(const toml::node& n) {
    const auto& t = table_of(n, "sink");
    job_.sink = job_.kinds.read_sink(detail::toml_table(file_, t, "sink"));
    partition_node_ = t.get("partition");
}

void parser::parse_defaults(const toml::node& n) {
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
void parser::apply_kind_settings(const toml::table& t, const std::string& path, task_spec& spec) const {
    job_.kinds.read_task(detail::toml_table(file_, t, path), spec);
}

// The keys [defaults] and [[tasks]] share; returns false for any other key.
bool parser::apply_setting(std::string_view k, const toml::node& v, const std::string& key, task_spec& t) const {
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
        if (!t.pool.empty() && !job_.options.pools.contains(t.pool)) {
            std::vector<std::string> names;
            for (const auto& [name, size] : job_.options.pools) names.push_back(name);
            std::string known = names.empty() ? "there is no [pools] table"
                                              : fmt::format("declared: {}", fmt::join(names, ", "));
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

std::vector<detail::foreach_axis> parser::parse_foreach(const toml::node& n, const std::string& path) const {
    // The table is sorted by name, but the first key in the file is the outermost loop.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [k, v] : table_of(n, path)) entries.emplace_back(&k, &v);
    std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        auto pa = a.first->source().begin, pb = b.first->source().begin;
        return std::pair{pa.line, pa.column} < std::pair{pb.line, pb.column};
    });
    std::vector<detail::foreach_axis> axes;
    for (auto [k, v] : entries) {
        std::string name(k->str()), key = key_path(path, name);
        if (!valid_var_name(name))
            fail(k->source(), key, "foreach variable names must start with a letter or '_' and use only letters, "
                                   "digits, '_', '.' and '-' (and not start with 'record.')");
        if (const auto* arr = v->as_array()) {
            if (arr->empty()) fail(*v, key, "is an empty list; give at least one value");
            detail::foreach_axis axis{name, {}};
            for (std::size_t i = 0; i < arr->size(); ++i)
                axis.values.push_back(scalar_of((*arr)[i], fmt::format("{}[{}]", key, i)));
            axes.push_back(std::move(axis));
        } else if (const auto* range = v->as_table()) {
            axes.push_back(parse_range(name, *range, key));
        } else {
            expected(*v, key, "a list of values or a range like { from = \"2018-01-01\", to = \"2018-12-31\" }");
        }
    }
    return axes;
}

detail::foreach_axis parser::parse_range(const std::string& name, const toml::table& r, const std::string& key) const {
    check_keys(r, key, {"from", "to", "step"});
    const auto& from = required(r, "from", key, "");
    const auto& to = required(r, "to", key, "");
    const toml::node* step = r.get("step");
    detail::foreach_axis axis{name, {}};
    try {
        if (from.is_integer()) {  // integer range
            std::int64_t a = from.as_integer()->get();
            if (!to.is_integer()) expected(to, key + ".to", "an integer, like 'from'");
            std::int64_t b = to.as_integer()->get();
            std::int64_t s = step ? int_of(*step, key + ".step", 1) : 1;
            axis.values = detail::int_range(a, b, s);
            axis.kind = detail::axis_kind::integers;
            return axis;
        }
        auto date = [&](const toml::node& d, std::string sub, std::string_view what) {
            if (const auto* td = d.as_date()) {
                auto v = td->get();
                try {
                    return detail::make_date(v.year, v.month, v.day);
                } catch (const config_error& e) {
                    fail(d, sub, e.what());
                }
            }
            if (!d.is_string()) expected(d, sub, what);
            try {
                return detail::parse_date(d.as_string()->get());
            } catch (const config_error& e) {
                fail(d, sub, e.what());
            }
        };
        auto a = date(from, key + ".from", "a date (\"2018-01-01\") or an integer");
        auto b = date(to, key + ".to", "a date, like 'from'");
        int s = 1;
        if (step) {
            if (!step->is_string()) expected(*step, key + ".step", "a number of days like \"1d\" or \"7d\"");
            try {
                s = detail::parse_day_step(step->as_string()->get());
            } catch (const config_error& e) {
                fail(*step, key + ".step", e.what());
            }
        }
        axis.values = detail::date_range(a, b, s);
        axis.kind = detail::axis_kind::dates;
    } catch (const config_error& e) {
        if (!e.file().empty()) throw;  // already located
        fail(r, key, e.what());
    }
    return axis;
}

std::string parser::expand(const template_field& f, const std::map<std::string, std::string>& vars) const {
    if (f.literal) return f.text;
    try {
        return detail::expand_template(f.text, [&](std::string_view n) -> std::optional<std::string> {
            auto it = vars.find(std::string(n));
            if (it == vars.end()) return std::nullopt;
            return it->second;
        });
    } catch (const detail::unknown_placeholder& e) {
        std::vector<std::string> names;
        for (const auto& [k, v] : vars) names.push_back(k);
        fail(*f.node, f.key,
             fmt::format("unknown placeholder {{{}}} ({}); write {{{{ for a literal '{{'", e.name,
                         names.empty() ? "this task has no params or foreach variables"
                                       : fmt::format("known here: {}", fmt::join(names, ", "))));
    } catch (const detail::bad_placeholder& e) {
        fail(*f.node, f.key, e.what());  // a format that does not parse, a value that is not a time
    }
}

void parser::parse_task(const toml::node& n, std::size_t entry) {
    std::string path = fmt::format("tasks[{}]", entry);
    const auto& t = table_of(n, path);
    check_keys(t, path, {"id", "command", "env", "params", "foreach", "after"}, task_keys_);
    entry_line_.push_back(t.source().begin.line);
    auto& after = entry_after_.emplace_back();
    if (const auto* a = t.get("after")) {
        const auto& arr = array_of(*a, path + ".after", "an array of task ids or globs, e.g. [\"crawl-*\"]");
        for (std::size_t i = 0; i < arr.size(); ++i) {
            std::string key = fmt::format("{}.after[{}]", path, i);
            after.push_back({"", key, &arr[i], string_of(arr[i], key)});
            if (after.back().text.empty()) fail(arr[i], key, "must not be empty: give a task id or a glob");
        }
    }

    const auto& id_node = required(t, "id", path, " (e.g. id = \"day-{date}\")");
    template_field id{"", path + ".id", &id_node, string_of(id_node, path + ".id")};

    const auto& cmd_node = required(t, "command", path, " (e.g. command = [\"sh\", \"-c\", \"echo hi\"])");
    const auto& cmd = array_of(cmd_node, path + ".command", "an array of strings");
    if (cmd.empty()) fail(cmd_node, path + ".command", "must not be empty: give the program and its arguments");
    std::vector<template_field> command;
    for (std::size_t i = 0; i < cmd.size(); ++i) {
        std::string key = fmt::format("{}.command[{}]", path, i);
        command.push_back({"", key, &cmd[i], string_of(cmd[i], key)});
    }

    task_spec proto = base_;
    std::vector<template_field> env = base_env_, params;
    std::vector<detail::foreach_axis> axes;
    const toml::node* foreach_node = nullptr;
    for (auto&& [k, v] : t) {
        std::string key = key_path(path, k.str());
        if (k.str() == "env") {
            for (auto& f : strings_table(v, key, true)) {  // a task's env overrides [defaults].env by name
                std::erase_if(env, [&](const template_field& d) { return d.name == f.name; });
                env.push_back(std::move(f));
            }
        } else if (k.str() == "params") {
            for (auto&& [pk, pv] : table_of(v, key)) {
                std::string pkey = key_path(key, pk.str());
                if (!valid_var_name(pk.str()))
                    fail(pk.source(), pkey, "param names must start with a letter or '_' and use only letters, "
                                            "digits, '_', '.' and '-' (and not start with 'record.')");
                params.push_back({std::string(pk.str()), pkey, &pv, scalar_of(pv, pkey)});
            }
        } else if (k.str() == "foreach") {
            axes = parse_foreach(v, key);
            foreach_node = &v;
        } else if (k.str() != "id" && k.str() != "command" && k.str() != "after") {
            apply_setting(k.str(), v, key, proto);
        }
    }
    apply_kind_settings(t, path, proto);
    override_values(path, foreach_node, axes, params);
    for (const auto& p : params)
        for (const auto& a : axes)
            if (p.name == a.name)
                fail(*p.node, p.key, fmt::format("'{}' is also a foreach variable; rename one", p.name));

    if (foreach_node) {
        std::size_t count = 0;
        try {
            count = detail::combination_count(axes);
        } catch (const config_error& e) {
            fail(*foreach_node, path + ".foreach", e.what());
        }
        if (job_.tasks.size() + count > detail::max_expanded_tasks)
            fail(*foreach_node, path + ".foreach",
                 fmt::format("the job would have more than {} tasks", detail::max_expanded_tasks));
        job_.tasks.reserve(job_.tasks.size() + count);
    }

    detail::for_each_combination(axes, [&](const std::map<std::string, std::string>& vars) {
        task_spec ts = proto;
        ts.params = vars;
        for (const auto& p : params) ts.params[p.name] = expand(p, vars);  // params see foreach vars only
        ts.id = expand(id, ts.params);
        for (const auto& c : command) ts.command.push_back(expand(c, ts.params));
        if (ts.command.front().empty()) fail(*command.front().node, command.front().key, "the program name is empty");
        ts.env.clear();
        for (const auto& e : env) ts.env[e.name] = expand(e, ts.params);
        for (const auto& a : after) ts.after.push_back(expand(a, ts.params));  // after = ["crawl-{date}"]
        add_task(std::move(ts), id, entry, axes);
    });
}

void parser::add_task(task_spec t, const template_field& id, std::size_t entry,
                      const std::vector<detail::foreach_axis>& axes) {
    if (!valid_task_id(t.id)) {
        std::string from = t.id == id.text ? "" : fmt::format(" (from \"{}\")", id.text);
        fail(*id.node, id.key,
             fmt::format("task id '{}'{} is invalid: use 1-200 letters, digits, '.', '_', '-' or '=', "
                         "not starting with '.' or '-'", t.id, from));
    }
    auto [it, fresh] = seen_ids_.emplace(t.id, entry);
    if (!fresh) {
        if (it->second == entry) {
            std::vector<std::string> vars;
            for (const auto& a : axes) vars.push_back("{" + a.name + "}");
            fail(*id.node, id.key,
                 fmt::format("duplicate task id '{}': this entry produces it more than once; put every foreach "
                             "variable ({}) in the id", t.id, fmt::join(vars, ", ")));
        }
        fail(*id.node, id.key,
             fmt::format("duplicate task id '{}': tasks[{}] (line {}) already defines it", t.id, it->second,
                         entry_line_[it->second]));
    }
    task_entry_.push_back(entry);
    job_.tasks.push_back(std::move(t));
}

// job_load_options::params: a foreach variable takes the values given, a param the one given.
// A bad value is reported at the foreach variable or param it replaces.
void parser::override_values(const std::string& path, const toml::node* foreach_node,
                             std::vector<detail::foreach_axis>& axes, std::vector<template_field>& params) {
    for (auto& a : axes) {
        try {
            overrides_.apply(a);
        } catch (const config_error& e) {
            std::string key = key_path(path + ".foreach", a.name);
            fail(*foreach_node->as_table()->get(a.name), key, e.what());
        }
    }
    for (auto& p : params) {
        try {
            if (const auto* v = overrides_.param(p.name)) p.text = *v, p.literal = true;
        } catch (const config_error& e) {
            fail(*p.node, p.key, e.what());
        }
    }
}

// The sink fills the partition from task params, so every task must have each one.
void parser::check_partition() const {
    if (!partition_node_ || !job_.sink) return;
    const std::string key = "sink.partition";
    const auto tpl = job_.kinds.partition(*job_.sink);
    for (const auto& name : detail::template_names(tpl)) {
        if (name.starts_with("record.")) continue;  // a field of each record ({record.} failed in parse_sink)
        for (std::size_t i = 0; i < job_.tasks.size(); ++i) {
            if (job_.tasks[i].params.contains(name)) continue;
            std::size_t e = task_entry_[i];
            fail(*partition_node_, key,
                 fmt::format("uses {{{}}}, but task '{}' (tasks[{}], line {}) has no param '{}'; a partition may use "
                             "params every task has, and {{record.<field>}}", name, job_.tasks[i].id, e,
                             entry_line_[e], name));
        }
    }
}

// Unknown ids, globs matching nothing and cycles, at the `after` entry that names them.
detail::task_graph parser::check_after() const {
    detail::task_graph g;
    auto p = detail::build_task_graph(job_.tasks, g);
    if (!p) return g;
    const auto& f = entry_after_[task_entry_[p->task]][p->entry];
    fail(*f.node, f.key, fmt::format("task '{}': {}", job_.tasks[p->task].id, p->message));
}

job parser::run(std::string_view text) {
    text_ = text;  // scalars as written (reader::as_written)
    detail::check_toml_limits(text, file_);  // before toml++ can recurse into a hostile key
    toml::table root;
    try {
        root = toml::parse(text, std::string_view{file_});
    } catch (const toml::parse_error& e) {
        fail(e.source(), "", fmt::format("invalid TOML: {}", e.description()));
    }
    check_keys(root, "", {"name", "state_dir", "executors", "sink", "defaults", "halt", "pools", "tasks", "schedule",
                          "timezone", "overlap", "order", "speculation", "on_failure", "limits"});
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
    check_partition();
    auto graph = check_after();
    if (!load_.only.empty()) detail::select_tasks(job_.tasks, graph, load_.only, load_.with_dependencies);
    // Tasks fanned out by control lines start from [defaults]; its env values stay templates
    // over each child's params. Job runs are durable: the journal belongs to the job.
    job_.options.defaults = base_;
    for (const auto& e : base_env_) job_.options.defaults.env[e.name] = e.text;
    job_.options.journal.enabled = true;
    job_.options.journal.job_name = job_.name;
    return std::move(job_);
}

}  // namespace

job parse_job(std::string_view toml_text, const std::string& source_name, const drover::kinds& k) {
    return parse_job(toml_text, source_name, job_load_options{}, k);
}

job parse_job(std::string_view toml_text, const std::string& source_name, const job_load_options& o,
              const drover::kinds& k) {
    return parser{source_name, k, o}.run(toml_text);
}

job load_job(const std::filesystem::path& file, const drover::kinds& k) {
    return load_job(file, job_load_options{}, k);
}

job load_job(const std::filesystem::path& file, const job_load_options& o, const drover::kinds& k) {
    const std::string name = file.string();
    std::error_code ec;
    if (fs::is_directory(file, ec)) throw config_error(name, 0, 0, "", "cannot read job file: it is a directory");
    if (auto size = fs::file_size(file, ec); !ec && size > max_file_bytes)
        throw config_error(name, 0, 0, "", fmt::format("job file is too large ({} bytes; the limit is 64 MiB)", size));
    std::ifstream in(file, std::ios::binary);
    if (!in) throw config_error(name, 0, 0, "", fmt::format("cannot read job file: {}", std::strerror(errno)));
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) throw config_error(name, 0, 0, "", fmt::format("cannot read job file: {}", std::strerror(errno)));
    job j = parse_job(text, name, o, k);
    j.source = file;
    return j;
}

}  // namespace drover
