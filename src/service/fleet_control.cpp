#include "service/fleet_control.hpp"

#include <drover/error.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <string>

namespace drover::detail {

namespace {

host_pool_executor* fleet(const std::shared_ptr<executor>& e) { return dynamic_cast<host_pool_executor*>(e.get()); }

}  // namespace

std::vector<service_host> list_hosts(const executor_list& executors) {
    std::vector<service_host> out;
    for (std::size_t i = 0; i < executors.size(); ++i) {
        auto* f = fleet(executors[i]);
        if (!f) continue;
        for (auto& h : f->hosts()) out.push_back({.executor = i, .kind = f->name(), .host = std::move(h)});
    }
    return out;
}

void add_fleet_host(const executor_list& executors, std::string_view spec, std::optional<std::size_t> executor,
                    std::string_view job) {
    if (spec.empty()) throw config_error("host: must not be empty");
    host_pool_executor* target = nullptr;
    if (executor) {
        if (*executor >= executors.size())
            throw config_error(fmt::format("executor: {} has {} executor(s), there is no executor {}", job,
                                           executors.size(), *executor));
        target = fleet(executors[*executor]);
        if (!target)
            throw config_error(fmt::format("executor: executor {} of {} ({}) has no hosts to add to", *executor, job,
                                           executors[*executor]->name()));
    } else {
        for (const auto& e : executors) {
            auto* f = fleet(e);
            if (!f) continue;
            if (target)
                throw config_error(fmt::format("executor: {} has several executors with hosts: say which one "
                                               "(its position in [[executors]], from 0)",
                                               job));
            target = f;
        }
        if (!target) throw config_error(fmt::format("{} has no executor with hosts (ssh, docker)", job));
    }
    target->add_host(std::string(spec));  // config_error: a malformed host
}

void drain_fleet_host(const executor_list& executors, std::string_view spec, bool remove, std::string_view job) {
    bool found = false;
    for (const auto& e : executors) {
        auto* f = fleet(e);
        if (!f) continue;
        auto hosts = f->hosts();
        if (std::none_of(hosts.begin(), hosts.end(), [&](const host_info& h) { return h.spec == spec; })) continue;
        found = true;
        if (remove)
            f->remove_host(spec);
        else
            f->drain_host(spec);
    }
    if (!found) throw not_found_error(fmt::format("no host '{}' in the running run of {}", spec, job));
}

}  // namespace drover::detail
