#include "scheduler/run_gate.hpp"

#include "scheduler/dag.hpp"

#include <algorithm>
#include <fnmatch.h>

namespace drover::detail {

void check_task(const task_spec& t, const scheduler_options& o) {
    if (!valid_task_id(t.id))
        throw config_error("task id '" + t.id +
                           "' is invalid: use letters, digits, '.', '_', '-', '=' (not first: '.', '-')");
    if (t.command.empty()) throw config_error("task '" + t.id + "': empty command");
    if (t.retries < 0) throw config_error("task '" + t.id + "': retries must be >= 0");
    if (!t.pool.empty() && !o.pools.contains(t.pool) &&
        std::none_of(o.shared_pools.begin(), o.shared_pools.end(), [&](const auto& p) { return p && p->name() == t.pool; }))
        throw config_error("task '" + t.id + "': unknown pool '" + t.pool + "'");
}

std::optional<std::string> check_after_entry(const task_store& tasks, std::size_t limit, std::string_view a,
                                             std::string_view self,
                                             const std::unordered_set<std::string>* extra_ids) {
    const std::string entry(a);
    if (entry.empty()) return "after: empty entry";
    if (is_after_glob(entry)) {
        for (std::uint32_t j = 0; j < limit; ++j)
            if (tasks.id(j) != self && ::fnmatch(entry.c_str(), tasks.id(j).data(), 0) == 0) return std::nullopt;
        if (extra_ids)
            for (const auto& id : *extra_ids)
                if (id != self && ::fnmatch(entry.c_str(), id.c_str(), 0) == 0) return std::nullopt;
        return "after '" + entry + "': the pattern matches no other task";
    }
    if (entry == self) return "after '" + entry + "': a task cannot come after itself";
    auto j = tasks.find(entry);
    if (j >= 0 && static_cast<std::size_t>(j) < limit) return std::nullopt;
    if (extra_ids && extra_ids->contains(entry)) return std::nullopt;
    return "after '" + entry + "': no task has this id";
}

std::vector<std::uint32_t> resolve_after(const task_store& tasks, std::uint32_t i) {
    std::vector<std::uint32_t> up;
    if (!tasks.has_after(i)) return up;
    for (auto a : tasks.after(i)) {
        if (a.empty()) continue;
        if (is_after_glob(a)) {
            for (std::uint32_t j = 0; j < i; ++j)
                if (::fnmatch(a.data(), tasks.id(j).data(), 0) == 0) up.push_back(j);
        } else if (auto j = tasks.find(a); j >= 0 && j < static_cast<std::int64_t>(i)) {
            up.push_back(static_cast<std::uint32_t>(j));
        }
    }
    return up;
}

}  // namespace drover::detail
