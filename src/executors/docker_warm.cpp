#include "executors/docker_warm.hpp"

#include <algorithm>

namespace drover::detail {

warm_pool::lease warm_pool::acquire(const std::string& key, const std::function<std::string()>& make_name) {
    lease l;
    for (auto& c : containers_)
        if (!c.busy && c.key == key && !c.id.empty()) {
            c.busy = true;
            l.name = c.name;
            l.id = c.id;
            return l;
        }
    if (containers_.size() >= slots_) {
        auto idle = std::find_if(containers_.begin(), containers_.end(), [](const auto& c) { return !c.busy; });
        if (idle != containers_.end()) {
            l.evicted = std::move(*idle);
            containers_.erase(idle);
        }
    }
    containers_.push_back({key, make_name(), {}, true});
    l.name = containers_.back().name;
    return l;
}

void warm_pool::release(const std::string& name, const std::optional<std::string>& kept_id) {
    auto it = std::find_if(containers_.begin(), containers_.end(), [&](const auto& c) { return c.name == name; });
    if (it == containers_.end()) return;
    if (kept_id && !kept_id->empty()) {
        it->id = *kept_id;
        it->busy = false;
    } else {
        containers_.erase(it);
    }
}

std::vector<warm_container> warm_pool::take_idle() {
    std::vector<warm_container> out;
    auto keep = std::stable_partition(containers_.begin(), containers_.end(), [](const auto& c) { return c.busy; });
    std::move(keep, containers_.end(), std::back_inserter(out));
    containers_.erase(keep, containers_.end());
    return out;
}

}  // namespace drover::detail
