// Job files: the [[tasks]] entries. Each is read once into a task_entry (templates, foreach
// axes, settings); its tasks are made one at a time when asked for, each checked as it is
// made, so a job of millions of tasks is never held as task_specs by the loader.

#include "job/job_parser.hpp"

#include <drover/error.hpp>

#include "detail/template.hpp"

#include <toml++/toml.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>

namespace drover::detail {

namespace {

// Placeholder names ({date}); "record." is reserved for record fields in partitions.
bool valid_var_name(std::string_view n) {
    if (n.empty() || !(std::isalpha(static_cast<unsigned char>(n[0])) || n[0] == '_')) return false;
    return !n.starts_with("record.") && std::all_of(n.begin(), n.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
    });
}

}  // namespace

std::vector<detail::foreach_axis> job_parser::parse_foreach(const toml::node& n, const std::string& path) const {
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

detail::foreach_axis job_parser::parse_range(const std::string& name, const toml::table& r, const std::string& key) const {
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
            return detail::int_range(name, a, b, s, limit_);
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
        axis = detail::date_range(name, a, b, s, limit_);
    } catch (const config_error& e) {
        if (!e.file().empty()) throw;  // already located
        fail(r, key, e.what());
    }
    return axis;
}

std::string job_parser::expand(const template_field& f, const std::map<std::string, std::string>& vars) const {
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

void job_parser::parse_task(const toml::node& n, std::size_t index) {
    task_entry& e = entries_.emplace_back();
    e.path = fmt::format("tasks[{}]", index);
    const std::string& path = e.path;
    const auto& t = table_of(n, path);
    check_keys(t, path, {"id", "command", "env", "params", "foreach", "after"}, task_keys_);
    e.line = t.source().begin.line;
    if (const auto* a = t.get("after")) {
        const auto& arr = array_of(*a, path + ".after", "an array of task ids or globs, e.g. [\"crawl-*\"]");
        for (std::size_t i = 0; i < arr.size(); ++i) {
            std::string key = fmt::format("{}.after[{}]", path, i);
            e.after.push_back({"", key, &arr[i], string_of(arr[i], key)});
            if (e.after.back().text.empty()) fail(arr[i], key, "must not be empty: give a task id or a glob");
        }
    }

    const auto& id_node = required(t, "id", path, " (e.g. id = \"day-{date}\")");
    e.id = {"", path + ".id", &id_node, string_of(id_node, path + ".id")};

    const auto& cmd_node = required(t, "command", path, " (e.g. command = [\"sh\", \"-c\", \"echo hi\"])");
    const auto& cmd = array_of(cmd_node, path + ".command", "an array of strings");
    if (cmd.empty()) fail(cmd_node, path + ".command", "must not be empty: give the program and its arguments");
    for (std::size_t i = 0; i < cmd.size(); ++i) {
        std::string key = fmt::format("{}.command[{}]", path, i);
        e.command.push_back({"", key, &cmd[i], string_of(cmd[i], key)});
    }

    e.proto = base_;
    e.env = base_env_;
    const toml::node* foreach_node = nullptr;
    for (auto&& [k, v] : t) {
        std::string key = key_path(path, k.str());
        if (k.str() == "env") {
            for (auto& f : strings_table(v, key, true)) {  // a task's env overrides [defaults].env by name
                std::erase_if(e.env, [&](const template_field& d) { return d.name == f.name; });
                e.env.push_back(std::move(f));
            }
        } else if (k.str() == "params") {
            for (auto&& [pk, pv] : table_of(v, key)) {
                std::string pkey = key_path(key, pk.str());
                if (!valid_var_name(pk.str()))
                    fail(pk.source(), pkey, "param names must start with a letter or '_' and use only letters, "
                                            "digits, '_', '.' and '-' (and not start with 'record.')");
                e.params.push_back({std::string(pk.str()), pkey, &pv, scalar_of(pv, pkey)});
            }
        } else if (k.str() == "foreach") {
            e.axes = parse_foreach(v, key);
            foreach_node = &v;
        } else if (k.str() != "id" && k.str() != "command" && k.str() != "after") {
            apply_setting(k.str(), v, key, e.proto);
        }
    }
    apply_kind_settings(t, path, e.proto);
    override_values(path, foreach_node, e.axes, e.params);
    for (const auto& p : e.params)
        for (const auto& a : e.axes)
            if (p.name == a.name)
                fail(*p.node, p.key, fmt::format("'{}' is also a foreach variable; rename one", p.name));

    if (foreach_node) {
        try {
            e.count = detail::combination_count(e.axes, limit_);
        } catch (const config_error& err) {
            fail(*foreach_node, path + ".foreach", err.what());
        }
    }
    if (total_ + e.count > limit_) {
        auto problem = fmt::format("the job would have more than {} tasks (max_tasks)", limit_);
        if (foreach_node) fail(*foreach_node, path + ".foreach", problem);
        fail(t.source(), path, problem);
    }
    total_ += e.count;
    entry_end_.push_back(total_);
}

std::size_t job_parser::entry_of(std::size_t i) const {
    return static_cast<std::size_t>(std::upper_bound(entry_end_.begin(), entry_end_.end(), i) - entry_end_.begin());
}

void job_parser::make_tasks(task_catalog* catalog, const std::function<void(task_spec&&, std::uint32_t)>& fn) const {
    std::uint32_t index = 0;
    for (const auto& e : entries_) {
        detail::for_each_combination(e.axes, [&](const std::map<std::string, std::string>& vars) {
            task_spec ts = e.proto;
            ts.params = vars;
            for (const auto& p : e.params) ts.params[p.name] = expand(p, vars);  // params see foreach vars only
            ts.id = expand(e.id, ts.params);
            for (const auto& c : e.command) ts.command.push_back(expand(c, ts.params));
            if (ts.command.front().empty())
                fail(*e.command.front().node, e.command.front().key, "the program name is empty");
            ts.env.clear();
            for (const auto& v : e.env) ts.env[v.name] = expand(v, ts.params);
            for (const auto& a : e.after) ts.after.push_back(expand(a, ts.params));  // after = ["crawl-{date}"]
            check_task(ts, e, catalog);
            fn(std::move(ts), index++);
        });
    }
}

// One task on its own (its id, the partition's params) and against those before it (its id).
void job_parser::check_task(const task_spec& t, const task_entry& e, task_catalog* catalog) const {
    const auto& id = e.id;
    if (!valid_task_id(t.id)) {
        std::string from = t.id == id.text ? "" : fmt::format(" (from \"{}\")", id.text);
        fail(*id.node, id.key,
             fmt::format("task id '{}'{} is invalid: use 1-200 letters, digits, '.', '_', '-' or '=', "
                         "not starting with '.' or '-'", t.id, from));
    }
    if (catalog) {
        if (auto earlier = catalog->add(t.id, t.after); earlier >= 0) {
            auto other = entry_of(static_cast<std::size_t>(earlier));
            if (&entries_[other] == &e) {
                std::vector<std::string> vars;
                for (const auto& a : e.axes) vars.push_back("{" + a.name + "}");
                fail(*id.node, id.key,
                     fmt::format("duplicate task id '{}': this entry produces it more than once; put every foreach "
                                 "variable ({}) in the id", t.id, fmt::join(vars, ", ")));
            }
            fail(*id.node, id.key,
                 fmt::format("duplicate task id '{}': tasks[{}] (line {}) already defines it", t.id, other,
                             entries_[other].line));
        }
    }
    for (const auto& name : partition_names_) {
        if (t.params.contains(name)) continue;
        fail(*partition_node_, "sink.partition",
             fmt::format("uses {{{}}}, but task '{}' ({}, line {}) has no param '{}'; a partition may use "
                         "params every task has, and {{record.<field>}}", name, t.id, e.path, e.line, name));
    }
}

// Unknown ids, globs matching nothing and cycles, at the `after` entry that names them.
task_graph job_parser::check_after(const task_catalog& catalog) const {
    task_graph g;
    auto p = build_task_graph(catalog.list(), g);
    if (!p) return g;
    const auto& f = entries_[entry_of(p->task)].after[p->entry];
    fail(*f.node, f.key, fmt::format("task '{}': {}", catalog.id(static_cast<std::uint32_t>(p->task)), p->message));
}

// job_load_options::params: a foreach variable takes the values given, a param the one given.
// A bad value is reported at the foreach variable or param it replaces.
void job_parser::override_values(const std::string& path, const toml::node* foreach_node,
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

}  // namespace drover::detail
