// The registry of executor and sink kinds: lookups by name and the type-erased calls the
// job loader, make_scheduler, `drover validate` and the Python binding make.

#include <drover/error.hpp>
#include <drover/kinds.hpp>

#include "job/builtin_kinds.hpp"

#include <boost/core/demangle.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace drover {

namespace {

// Keys of [defaults] and [[tasks]] the loader itself reads (job_file.cpp).
constexpr std::string_view core_task_keys[] = {"id",      "command",     "env",         "params",
                                               "foreach", "after",       "retries",     "timeout",
                                               "backoff", "backoff_max", "backoff_multiplier",
                                               "backoff_jitter", "pool", "workdir", "control_lines",
                                               "speculate"};

template <class Entries>
auto* find_in(const Entries& entries, std::string_view name) noexcept {
    auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e->name == name; });
    return it == entries.end() ? nullptr : it->get();
}

template <class Entries>
std::vector<std::string> names_of(const Entries& entries) {
    std::vector<std::string> out;
    for (const auto& e : entries) out.push_back(e->name);
    return out;
}

}  // namespace

namespace detail {
void throw_wrong_options(const std::string& kind, const std::type_info& wanted) {
    throw config_error(fmt::format("kind '{}': its options are not a {}", kind, boost::core::demangle(wanted.name())));
}
}  // namespace detail

kinds::kinds() { detail::add_builtin_kinds(*this); }

void kinds::add(executor_entry e) {
    if (e.name.empty()) throw config_error("an executor kind needs a name");
    if (!e.read || !e.make) throw config_error("executor kind '" + e.name + "' needs read and make");
    if (!e.task_keys.empty() && !e.read_task)
        throw config_error("executor kind '" + e.name + "' has task keys but no read_task");
    for (const auto& key : e.task_keys) {
        if (std::find(std::begin(core_task_keys), std::end(core_task_keys), key) != std::end(core_task_keys))
            throw config_error("executor kind '" + e.name + "': task key '" + key + "' is one of drover's own");
        for (const auto& other : executors_)
            if (other->name != e.name &&
                std::find(other->task_keys.begin(), other->task_keys.end(), key) != other->task_keys.end())
                throw config_error("executor kind '" + e.name + "': task key '" + key + "' belongs to kind '" +
                                   other->name + "'");
    }
    auto entry = std::make_shared<const executor_entry>(std::move(e));
    auto it = std::find_if(executors_.begin(), executors_.end(), [&](const auto& x) { return x->name == entry->name; });
    if (it != executors_.end())
        *it = std::move(entry);
    else
        executors_.push_back(std::move(entry));
}

void kinds::add(sink_entry e) {
    if (e.name.empty()) throw config_error("a sink kind needs a name");
    if (!e.read || !e.make || !e.location) throw config_error("sink kind '" + e.name + "' needs read, make and location");
    auto entry = std::make_shared<const sink_entry>(std::move(e));
    auto it = std::find_if(sinks_.begin(), sinks_.end(), [&](const auto& x) { return x->name == entry->name; });
    if (it != sinks_.end())
        *it = std::move(entry);
    else
        sinks_.push_back(std::move(entry));
}

const kinds::executor_entry* kinds::find_executor(std::string_view name) const noexcept {
    return find_in(executors_, name);
}
const kinds::sink_entry* kinds::find_sink(std::string_view name) const noexcept { return find_in(sinks_, name); }
std::vector<std::string> kinds::executor_names() const { return names_of(executors_); }
std::vector<std::string> kinds::sink_names() const { return names_of(sinks_); }

executor_config kinds::read_executor(const job_table& t) const {
    auto kind = t.required(t.get_string("kind"), "kind", " (e.g. kind = \"local\")");
    const auto* e = find_executor(kind);
    if (!e)
        t.fail("kind", fmt::format("unknown executor kind '{}' (known kinds: {})", kind,
                                   fmt::join(executor_names(), ", ")));
    return {kind, e->read(t)};
}

sink_config kinds::read_sink(const job_table& t) const {
    auto kind = t.required(t.get_string("kind"), "kind", " (e.g. kind = \"file\")");
    const auto* e = find_sink(kind);
    if (!e) t.fail("kind", fmt::format("unknown sink kind '{}' (known kinds: {})", kind, fmt::join(sink_names(), ", ")));
    return {kind, e->read(t)};
}

std::vector<std::string_view> kinds::task_keys() const {
    std::vector<std::string_view> out;
    for (const auto& e : executors_) out.insert(out.end(), e->task_keys.begin(), e->task_keys.end());
    return out;
}

void kinds::read_task(const job_table& t, task_spec& spec) const {
    for (const auto& e : executors_)
        if (e->read_task && std::any_of(e->task_keys.begin(), e->task_keys.end(), [&](const std::string& k) {
                return t.contains(k);
            }))
            e->read_task(t, spec);
}

namespace {

template <class Entry>
const Entry& known(const Entry* e, std::string_view what, const std::string& kind, std::vector<std::string> names) {
    if (!e) throw config_error(fmt::format("unknown {} kind '{}' (known kinds: {})", what, kind, fmt::join(names, ", ")));
    return *e;
}

}  // namespace

std::shared_ptr<executor> kinds::make_executor(const executor_config& c) const {
    return known(find_executor(c.kind), "executor", c.kind, executor_names()).make(c.options);
}

std::size_t kinds::slots(const executor_config& c) const {
    const auto& e = known(find_executor(c.kind), "executor", c.kind, executor_names());
    return e.slots ? e.slots(c.options) : e.make(c.options)->slots();
}

void kinds::describe(const executor_config& c, boost::json::object& out) const {
    const auto& e = known(find_executor(c.kind), "executor", c.kind, executor_names());
    if (e.describe) e.describe(c.options, out);
}

std::shared_ptr<sink> kinds::make_sink(const sink_config& c) const {
    return known(find_sink(c.kind), "sink", c.kind, sink_names()).make(c.options);
}

std::string kinds::location(const sink_config& c) const {
    return known(find_sink(c.kind), "sink", c.kind, sink_names()).location(c.options);
}

std::string kinds::partition(const sink_config& c) const {
    const auto& e = known(find_sink(c.kind), "sink", c.kind, sink_names());
    return e.partition ? e.partition(c.options) : std::string();
}

void kinds::describe(const sink_config& c, boost::json::object& out) const {
    const auto& e = known(find_sink(c.kind), "sink", c.kind, sink_names());
    if (e.describe) e.describe(c.options, out);
}

}  // namespace drover
