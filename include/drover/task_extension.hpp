#pragma once
/// @file
/// Executor-specific settings of a task, as typed extensions of task_spec.
///
/// The core task type knows nothing of containers, clusters or queues. An executor that
/// needs settings per task (the Docker executor: image, memory, cpus, network, pull) defines
/// a plain struct for them, and tasks carry it as an extension:
///
/// @code
/// drover::task_spec t{.id = "a", .command = {"crawl"}};
/// t.set_extension(drover::docker_task_options{.image = "news-crawler"});
/// if (const auto* d = t.extension<drover::docker_task_options>()) use(d->image);
/// @endcode
///
/// An extension type is a copyable, default-constructible struct with
/// - `static constexpr std::string_view extension_name` — unique among extension types;
/// - `static constexpr std::array<std::string_view, N> json_keys` — the keys it owns in task
///   JSON (control lines, the journal): `"image"` and `"container"` for Docker;
/// - `void to_json(boost::json::object& task) const` — writes those keys into a task object;
/// - `static T from_json(const boost::json::object& task, T base)` — reads those of its keys
///   the object has on top of `base` (the defaults' value, or T{}); throws
///   config_error("key: problem").
///
/// Values are immutable once set and shared between copies of a task (a copy costs a
/// reference count), so the scheduler keeps one value for all tasks that carry equal ones.

#include <drover/export.hpp>

#include <boost/json/fwd.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace drover {

template <class T>
concept task_extension =
    std::copyable<T> && std::default_initializable<T> &&
    requires(const T& v, boost::json::object& out, const boost::json::object& in) {
        { T::extension_name } -> std::convertible_to<std::string_view>;
        { std::span<const std::string_view>(T::json_keys) };
        { v.to_json(out) } -> std::same_as<void>;
        { T::from_json(in, v) } -> std::same_as<T>;
    };

/// One extension type, type-erased: what the task JSON codec and the scheduler's task store
/// need. One constant per type (task_extension_type_of), not a registry.
struct DROVER_API task_extension_type {
    std::string_view name{};                      ///< T::extension_name
    std::span<const std::string_view> json_keys{};  ///< T::json_keys
    void (*to_json)(const void* value, boost::json::object& task);
    /// `base` is a T or nullptr (= T{}).
    std::shared_ptr<const void> (*from_json)(const boost::json::object& task, const void* base);
};

namespace detail {
template <task_extension T>
void extension_to_json(const void* value, boost::json::object& task) {
    static_cast<const T*>(value)->to_json(task);
}
template <task_extension T>
std::shared_ptr<const void> extension_from_json(const boost::json::object& task, const void* base) {
    return std::make_shared<const T>(T::from_json(task, base ? *static_cast<const T*>(base) : T{}));
}
}  // namespace detail

/// The descriptor of extension type T.
template <task_extension T>
const task_extension_type& task_extension_type_of() noexcept {
    static constexpr task_extension_type type{T::extension_name, T::json_keys, &detail::extension_to_json<T>,
                                              &detail::extension_from_json<T>};
    return type;
}

/// The extensions of one task: at most one value per type, ordered by type name. Types are
/// matched by name, so a value set in one shared library is found from another.
class DROVER_API task_extensions {
public:
    struct entry {
        const task_extension_type* type{};
        std::shared_ptr<const void> value{};  ///< a const T, never null
    };

    /// The value of type T, or nullptr.
    template <task_extension T>
    const T* get() const noexcept {
        const entry* e = find(T::extension_name);
        return e ? static_cast<const T*>(e->value.get()) : nullptr;
    }
    /// Sets (replaces) the value of type T.
    template <task_extension T>
    void set(T value) {
        set(task_extension_type_of<T>(), std::make_shared<const T>(std::move(value)));
    }
    template <task_extension T>
    void erase() noexcept {
        erase(T::extension_name);
    }

    /// Type-erased access, for codecs: `value` must point to a const value of `type`.
    void set(const task_extension_type& type, std::shared_ptr<const void> value);
    const entry* find(std::string_view type_name) const noexcept;
    void erase(std::string_view type_name) noexcept;

    bool empty() const noexcept { return entries_.empty(); }
    std::size_t size() const noexcept { return entries_.size(); }
    auto begin() const noexcept { return entries_.begin(); }
    auto end() const noexcept { return entries_.end(); }

private:
    std::vector<entry> entries_;
};

}  // namespace drover
