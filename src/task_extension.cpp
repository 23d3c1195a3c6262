#include <drover/task_extension.hpp>

#include <algorithm>

namespace drover {

namespace {
auto by_name = [](const task_extensions::entry& e, std::string_view name) { return e.type->name < name; };
}  // namespace

void task_extensions::set(const task_extension_type& type, std::shared_ptr<const void> value) {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), type.name, by_name);
    if (it != entries_.end() && it->type->name == type.name)
        *it = {&type, std::move(value)};
    else
        entries_.insert(it, {&type, std::move(value)});
}

const task_extensions::entry* task_extensions::find(std::string_view type_name) const noexcept {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), type_name, by_name);
    return it != entries_.end() && it->type->name == type_name ? &*it : nullptr;
}

void task_extensions::erase(std::string_view type_name) noexcept {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), type_name, by_name);
    if (it != entries_.end() && it->type->name == type_name) entries_.erase(it);
}

}  // namespace drover
