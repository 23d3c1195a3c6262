#pragma once
// The job file parser behind load_job and job_stream: it reads the file's settings and
// prepares each [[tasks]] entry (templates, foreach axes, settings), then makes the tasks
// one at a time on request, checking each as it goes. Only what the cross-task checks need
// (ids and `after`) is kept per task, in a task_catalog.
//
// Every mistake becomes a config_error "file:line:column: key: problem" pointing at the
// offending node, because job files are written by hand and a bare "bad value" is useless.

#include <drover/job_file.hpp>

#include "job/expand.hpp"
#include "job/overrides.hpp"
#include "job/task_catalog.hpp"
#include "job/toml_reader.hpp"
#include "scheduler/dag.hpp"

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

/// A string from the file that is expanded per task; remembers where it came from.
struct template_field {
    std::string name;  ///< env variable or param name; unused for id/command
    std::string key;
    const toml::node* node;
    std::string text;
    bool literal = false;  ///< a value given to the loader (job_load_options::params): no placeholders
};

/// One [[tasks]] entry, read and checked, ready to make its tasks.
struct task_entry {
    std::string path;  ///< "tasks[3]"
    std::size_t line = 0;
    template_field id;
    std::vector<template_field> command, env, params, after;
    task_spec proto;  ///< [defaults] and the entry's own settings
    std::vector<foreach_axis> axes;
    std::size_t count = 1;  ///< tasks it makes
};

class job_parser : reader {
public:
    /// `o` must outlive the parser.
    job_parser(std::string file, const drover::kinds& k, const job_load_options& o);

    /// Parses `text` (which must outlive the parser) and reads everything but the tasks
    /// themselves: settings, executors, sink, and each entry prepared, the number of tasks
    /// checked against the limit, the loader's params checked against the entries.
    void read(std::string_view text);

    job& settings() noexcept { return job_; }
    const std::vector<task_entry>& entries() const noexcept { return entries_; }
    /// The tasks the entries make.
    std::size_t task_count() const noexcept { return total_; }
    /// The entry that made task `i` (tasks in the order make_tasks makes them).
    std::size_t entry_of(std::size_t i) const;

    /// Makes every task in file order and calls fn(task, index). Each is checked on its
    /// own (id, partition params) and, with a catalog, against the tasks before it
    /// (duplicate ids) and recorded there for check_after.
    void make_tasks(task_catalog* catalog, const std::function<void(task_spec&&, std::uint32_t)>& fn) const;

    /// Resolves the `after` entries of the tasks in `catalog` (all of them, as make_tasks
    /// made them): unknown ids, globs matching nothing and cycles fail at the entry's `after`.
    task_graph check_after(const task_catalog& catalog) const;

private:
    job job_;
    const job_load_options& load_;
    param_overrides overrides_{load_.params};
    std::vector<std::string_view> task_keys_;  // setting_keys and the kinds' task keys
    task_spec base_;                           // [defaults] applied
    std::vector<template_field> base_env_;     // [defaults].env
    const toml::node* partition_node_ = nullptr;
    std::vector<std::string> partition_names_;  // params the partition uses
    toml::table root_;
    std::vector<task_entry> entries_;
    std::vector<std::size_t> entry_end_;  // tasks made by entries 0..i
    std::size_t total_ = 0;
    std::size_t limit_ = max_expanded_tasks;

    std::vector<template_field> strings_table(const toml::node& n, const std::string& key, bool env) const;
    void parse_pools(const toml::node& n);
    void parse_halt(const toml::node& n);
    void parse_limits(const toml::node& n);
    void parse_executors(const toml::node* n);
    void parse_sink(const toml::node& n);
    void parse_defaults(const toml::node& n);
    void parse_max_tasks(const toml::node* n);
    bool apply_setting(std::string_view k, const toml::node& v, const std::string& key, task_spec& t) const;
    void apply_kind_settings(const toml::table& t, const std::string& path, task_spec& spec) const;
    std::vector<foreach_axis> parse_foreach(const toml::node& n, const std::string& path) const;
    foreach_axis parse_range(const std::string& name, const toml::table& r, const std::string& key) const;
    void parse_task(const toml::node& n, std::size_t index);
    void override_values(const std::string& path, const toml::node* foreach_node, std::vector<foreach_axis>& axes,
                         std::vector<template_field>& params);
    std::string expand(const template_field& f, const std::map<std::string, std::string>& vars) const;
    void check_task(const task_spec& t, const task_entry& e, task_catalog* catalog) const;
};

}  // namespace drover::detail
