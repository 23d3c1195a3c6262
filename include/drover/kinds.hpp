#pragma once
/// @file
/// The registry of executor and sink kinds: `kind = "..."` in a job file's `[[executors]]`
/// and `[sink]` tables, mapped to code that reads the table and makes the executor or sink.
///
/// A `kinds` value starts with the built-in kinds (executors local, ssh, docker; sinks file,
/// s3). A program adds its own and passes the registry to load_job; the job keeps it, so
/// make_scheduler, `drover validate` and the Python binding use the same kinds:
///
/// @code
/// drover::kinds k;   // the built-ins
/// k.add_executor<echo_options>("echo", {
///     .read = [](const drover::job_table& t) { t.check_keys({"kind", "slots"}); echo_options o; ...; return o; },
///     .make = [](const echo_options& o) { return std::make_shared<echo_executor>(o); },
/// });
/// auto job = drover::load_job("job.toml", k);       // [[executors]] kind = "echo" works now
/// auto summary = drover::make_scheduler(job).run();
/// @endcode
///
/// There is no global registry: a `kinds` is an ordinary value (copies share the immutable
/// kind entries), so two parts of one program can read job files with different kinds.

#include <drover/executor.hpp>
#include <drover/export.hpp>
#include <drover/job_table.hpp>
#include <drover/sink.hpp>
#include <drover/task.hpp>

#include <boost/json/fwd.hpp>

#include <any>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

namespace drover {

namespace detail {
[[noreturn]] DROVER_API void throw_wrong_options(const std::string& kind, const std::type_info& wanted);
template <class Options>
const Options& kind_options(const std::any& a, const std::string& kind) {
    if (const Options* o = std::any_cast<Options>(&a)) return *o;
    throw_wrong_options(kind, typeid(Options));
}
}  // namespace detail

/// One `[[executors]]` entry: its kind and the options that kind read (for "local" a
/// local_executor_options, for "ssh" ssh_executor_options, for "docker"
/// docker_executor_options, for a program's kind its own type).
struct DROVER_API executor_config {
    std::string kind{};
    std::any options{};

    /// The options as T; throws config_error when the kind's options are of another type.
    template <class T>
    const T& options_as() const { return detail::kind_options<T>(options, kind); }
};

/// The `[sink]` table: its kind and options (file_sink_options, s3_sink_options, ...).
struct DROVER_API sink_config {
    std::string kind{};
    std::any options{};

    template <class T>
    const T& options_as() const { return detail::kind_options<T>(options, kind); }
};

/// How an executor kind with options `Options` is read and made. `read` and `make` are
/// required; the others have defaults.
template <class Options>
struct DROVER_API executor_kind {
    /// Reads an `[[executors]]` table (with its "kind" key: allow it in check_keys).
    std::function<Options(const job_table&)> read{};
    std::function<std::shared_ptr<executor>(const Options&)> make{};
    /// Slots it will have, for `drover validate`; unset = make(o)->slots().
    std::function<std::size_t(const Options&)> slots = {};
    /// What Python's Job.executors shows (never secrets); unset = only the kind.
    std::function<void(const Options&, boost::json::object&)> describe = {};
    /// Keys this kind reads in `[defaults]` and `[[tasks]]` (Docker: image, memory, cpus,
    /// network, pull) and the code that reads them into the task, typically as a task
    /// extension. Each key belongs to one kind; the loader rejects every other key.
    std::vector<std::string> task_keys = {};
    std::function<void(const job_table&, task_spec&)> read_task = {};
};

/// How a sink kind with options `Options` is read and made.
template <class Options>
struct DROVER_API sink_kind {
    /// Reads the `[sink]` table (with its "kind" key).
    std::function<Options(const job_table&)> read{};
    std::function<std::shared_ptr<sink>(const Options&)> make{};
    /// Where the output goes, for `drover validate` ("out/hello", "s3://bucket/prefix").
    std::function<std::string(const Options&)> location{};
    /// The partition template ("date={date}"); the loader checks that every task has the
    /// params it uses. Unset = no partition.
    std::function<std::string(const Options&)> partition = {};
    /// What Python's Job.sink shows (never credentials); unset = only the kind.
    std::function<void(const Options&, boost::json::object&)> describe = {};
};

class DROVER_API kinds {
public:
    /// Type-erased kinds, as the registry keeps them.
    struct executor_entry {
        std::string name{};
        std::function<std::any(const job_table&)> read;
        std::function<std::shared_ptr<executor>(const std::any&)> make;
        std::function<std::size_t(const std::any&)> slots;
        std::function<void(const std::any&, boost::json::object&)> describe;
        std::vector<std::string> task_keys{};
        std::function<void(const job_table&, task_spec&)> read_task;
    };
    struct sink_entry {
        std::string name{};
        std::function<std::any(const job_table&)> read;
        std::function<std::shared_ptr<sink>(const std::any&)> make;
        std::function<std::string(const std::any&)> location;
        std::function<std::string(const std::any&)> partition;
        std::function<void(const std::any&, boost::json::object&)> describe;
    };

    /// The built-in kinds: executors local, ssh, docker; sinks file, s3.
    kinds();

    /// Adds (or replaces) an executor kind. Throws config_error when `read` or `make` is
    /// unset, or a task key belongs to another kind or to the core task keys.
    template <class Options>
    kinds& add_executor(std::string name, executor_kind<Options> k);
    /// Adds (or replaces) a sink kind. Throws config_error when `read`, `make` or
    /// `location` is unset.
    template <class Options>
    kinds& add_sink(std::string name, sink_kind<Options> k);

    /// nullptr when unknown.
    const executor_entry* find_executor(std::string_view name) const noexcept;
    const sink_entry* find_sink(std::string_view name) const noexcept;
    std::vector<std::string> executor_names() const;
    std::vector<std::string> sink_names() const;

    // What the job loader, make_scheduler, `drover validate` and the Python binding use.

    /// Reads an `[[executors]]` table by its "kind" (missing or unknown: config_error).
    executor_config read_executor(const job_table& t) const;
    /// Reads the `[sink]` table by its "kind".
    sink_config read_sink(const job_table& t) const;
    /// Every kind's task keys (for unknown-key checks), and the code that reads them.
    std::vector<std::string_view> task_keys() const;
    void read_task(const job_table& t, task_spec& spec) const;

    /// These throw config_error for a kind this registry does not have.
    std::shared_ptr<executor> make_executor(const executor_config& c) const;
    std::size_t slots(const executor_config& c) const;
    void describe(const executor_config& c, boost::json::object& out) const;
    std::shared_ptr<sink> make_sink(const sink_config& c) const;
    std::string location(const sink_config& c) const;
    std::string partition(const sink_config& c) const;
    void describe(const sink_config& c, boost::json::object& out) const;

private:
    void add(executor_entry e);
    void add(sink_entry e);

    std::vector<std::shared_ptr<const executor_entry>> executors_;
    std::vector<std::shared_ptr<const sink_entry>> sinks_;
};

template <class Options>
kinds& kinds::add_executor(std::string name, executor_kind<Options> k) {
    executor_entry e;
    e.name = name;
    if (k.read) e.read = [read = std::move(k.read)](const job_table& t) { return std::any(read(t)); };
    if (k.make)
        e.make = [name, make = std::move(k.make)](const std::any& a) {
            return make(detail::kind_options<Options>(a, name));
        };
    if (k.slots)
        e.slots = [name, slots = std::move(k.slots)](const std::any& a) {
            return slots(detail::kind_options<Options>(a, name));
        };
    if (k.describe)
        e.describe = [name, describe = std::move(k.describe)](const std::any& a, boost::json::object& out) {
            describe(detail::kind_options<Options>(a, name), out);
        };
    e.task_keys = std::move(k.task_keys);
    e.read_task = std::move(k.read_task);
    add(std::move(e));
    return *this;
}

template <class Options>
kinds& kinds::add_sink(std::string name, sink_kind<Options> k) {
    sink_entry e;
    e.name = name;
    if (k.read) e.read = [read = std::move(k.read)](const job_table& t) { return std::any(read(t)); };
    if (k.make)
        e.make = [name, make = std::move(k.make)](const std::any& a) {
            return make(detail::kind_options<Options>(a, name));
        };
    if (k.location)
        e.location = [name, location = std::move(k.location)](const std::any& a) {
            return location(detail::kind_options<Options>(a, name));
        };
    if (k.partition)
        e.partition = [name, partition = std::move(k.partition)](const std::any& a) {
            return partition(detail::kind_options<Options>(a, name));
        };
    if (k.describe)
        e.describe = [name, describe = std::move(k.describe)](const std::any& a, boost::json::object& out) {
            describe(detail::kind_options<Options>(a, name), out);
        };
    add(std::move(e));
    return *this;
}

}  // namespace drover
