#include "job/overrides.hpp"

#include <drover/error.hpp>

#include "job/toml_reader.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace drover::detail {

void param_overrides::apply(foreach_axis& axis) {
    seen_.insert(axis.name);
    auto it = values_.find(axis.name);
    if (it == values_.end() || it->second.empty()) return;
    std::vector<std::string> values;
    for (const auto& v : it->second) {
        try {
            values.push_back(override_value(axis, v));
        } catch (const config_error& e) {
            throw config_error(fmt::format("param override {}={}: {}", axis.name, v, e.what()));
        }
    }
    axis.values = std::move(values);
    axis.count = 0;  // a range no more: the values given are the values
}

const std::string* param_overrides::param(const std::string& name) {
    seen_.insert(name);
    auto it = values_.find(name);
    if (it == values_.end() || it->second.empty()) return nullptr;
    if (it->second.size() > 1)
        throw config_error(fmt::format("param override '{}' has {} values, but '{}' is a param here: only foreach "
                                       "variables take several values", name, it->second.size(), name));
    return &it->second.front();
}

// A typo (--param dat=...) must not silently do nothing.
void param_overrides::check_used() const {
    for (const auto& [name, values] : values_) {
        if (values.empty()) throw config_error(fmt::format("param override '{}': no value given", clip(name)));
        if (seen_.contains(name)) continue;
        std::string close;
        for (const auto& k : seen_)
            if (close.empty() && edit_distance(k, name) <= 2) close = k;
        throw config_error(fmt::format(
            "param override '{}': no task has a param or foreach variable of this name ({}){}", clip(name),
            seen_.empty() ? "the tasks have none" : fmt::format("the tasks have: {}", fmt::join(seen_, ", ")),
            close.empty() ? "" : fmt::format("; did you mean '{}'?", close)));
    }
}

}  // namespace drover::detail
