#include "scheduler/dag.hpp"

#include "scheduler/task_store.hpp"

#include <drover/error.hpp>

#include <algorithm>
#include <fnmatch.h>
#include <string_view>
#include <unordered_map>

namespace drover::detail {

bool is_after_glob(std::string_view entry) noexcept {
    return entry.find_first_of("*?[") != std::string_view::npos;
}

namespace {

// A cycle through `start` (every node on it has in-degree left after Kahn's algorithm).
std::string describe_cycle(const task_list& tasks, const task_graph& g,
                           const std::vector<std::uint32_t>& indegree, std::uint32_t start) {
    // Walk upstream edges inside the remaining set until a node repeats.
    std::vector<std::uint32_t> path;
    std::vector<int> pos(tasks.size, -1);
    std::uint32_t cur = start;
    while (pos[cur] < 0) {
        pos[cur] = static_cast<int>(path.size());
        path.push_back(cur);
        std::uint32_t next = cur;
        for (auto u : g.upstream[cur])
            if (indegree[u] > 0) {
                next = u;
                break;
            }
        cur = next;
    }
    // path[pos[cur]..] is the cycle, walked against the edges: print it in "after" order.
    std::vector<std::uint32_t> cycle(path.begin() + pos[cur], path.end());
    std::string text;
    for (auto it = cycle.rbegin(); it != cycle.rend(); ++it) (text += tasks.id(*it)) += " -> ";
    return text += tasks.id(cycle.back());
}

}  // namespace

std::optional<graph_problem> build_task_graph(const task_list& tasks, task_graph& g) {
    g = {};
    const auto n = tasks.size;
    bool any = false;
    for (std::uint32_t i = 0; i < n && !any; ++i) any = tasks.has_after(i);
    if (!any) return std::nullopt;
    std::unordered_map<std::string_view, std::uint32_t> own_index;
    if (!tasks.find) {
        own_index.reserve(n);
        for (std::uint32_t i = 0; i < n; ++i) own_index.emplace(tasks.id(i), i);
    }
    auto find = [&](std::string_view id) -> std::int64_t {
        if (tasks.find) return tasks.find(id);
        auto it = own_index.find(id);
        return it == own_index.end() ? std::int64_t{-1} : std::int64_t{it->second};
    };

    g.upstream.resize(n);
    g.downstream.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) {
        auto& up = g.upstream[i];
        if (!tasks.has_after(i)) continue;
        auto after = tasks.after(i);
        for (std::size_t e = 0; e < after.size(); ++e) {
            const std::string a(after[e]);
            if (a.empty()) return graph_problem{i, e, "after: empty entry"};
            if (is_after_glob(a)) {
                std::size_t matched = 0;
                for (std::uint32_t j = 0; j < n; ++j) {
                    if (j == i || ::fnmatch(a.c_str(), tasks.id(j).data(), 0) != 0) continue;
                    up.push_back(j);
                    ++matched;
                }
                if (matched == 0) return graph_problem{i, e, "after '" + a + "': the pattern matches no other task"};
            } else {
                auto j = find(a);
                if (j < 0) return graph_problem{i, e, "after '" + a + "': no task has this id"};
                if (j == i) return graph_problem{i, e, "after '" + a + "': a task cannot come after itself"};
                up.push_back(static_cast<std::uint32_t>(j));
            }
        }
        std::sort(up.begin(), up.end());
        up.erase(std::unique(up.begin(), up.end()), up.end());
        for (auto u : up) g.downstream[u].push_back(i);
    }

    // Kahn's algorithm; what is left over lies on or behind a cycle.
    std::vector<std::uint32_t> indegree(n);
    for (std::uint32_t i = 0; i < n; ++i) indegree[i] = static_cast<std::uint32_t>(g.upstream[i].size());
    g.topo_order.reserve(n);
    for (std::uint32_t i = 0; i < n; ++i)
        if (indegree[i] == 0) g.topo_order.push_back(i);
    for (std::size_t k = 0; k < g.topo_order.size(); ++k)
        for (auto d : g.downstream[g.topo_order[k]])
            if (--indegree[d] == 0) g.topo_order.push_back(d);
    if (g.topo_order.size() == n) return std::nullopt;

    // Find a node on a cycle: follow remaining upstream edges from any remaining node.
    std::uint32_t start = 0;
    while (indegree[start] == 0) ++start;
    std::vector<bool> seen(n);
    while (!seen[start]) {
        seen[start] = true;
        for (auto u : g.upstream[start])
            if (indegree[u] > 0) {
                start = u;
                break;
            }
    }
    std::string cycle = describe_cycle(tasks, g, indegree, start);
    // Report it at the first `after` entry of `start` that points into the cycle.
    std::size_t entry = 0;
    auto after = tasks.after(start);
    for (std::size_t e = 0; e < after.size(); ++e) {
        const auto a = after[e];
        bool hits = std::any_of(g.upstream[start].begin(), g.upstream[start].end(), [&](std::uint32_t u) {
            return indegree[u] > 0 && (is_after_glob(a) ? ::fnmatch(a.data(), tasks.id(u).data(), 0) == 0
                                                       : tasks.id(u) == a);
        });
        if (hits) {
            entry = e;
            break;
        }
    }
    return graph_problem{start, entry, "after: dependency cycle: " + cycle};
}

std::optional<graph_problem> build_task_graph(const std::vector<task_spec>& tasks, task_graph& out) {
    task_list list;
    list.size = tasks.size();
    list.id = [&](std::uint32_t i) -> std::string_view { return tasks[i].id; };
    list.has_after = [&](std::uint32_t i) { return !tasks[i].after.empty(); };
    list.after = [&](std::uint32_t i) { return std::vector<std::string_view>(tasks[i].after.begin(), tasks[i].after.end()); };
    return build_task_graph(list, out);
}

task_graph build_task_graph(const task_list& tasks) {
    task_graph g;
    if (auto p = build_task_graph(tasks, g))
        throw config_error("task '" + std::string(tasks.id(static_cast<std::uint32_t>(p->task))) + "': " + p->message);
    return g;
}

task_graph build_task_graph(const task_store& tasks) {
    task_list list;
    list.size = tasks.size();
    list.id = [&](std::uint32_t i) { return tasks.id(i); };
    list.has_after = [&](std::uint32_t i) { return tasks.has_after(i); };
    list.after = [&](std::uint32_t i) { return tasks.after(i); };
    list.find = [&](std::string_view id) { return tasks.find(id); };
    return build_task_graph(list);
}

}  // namespace drover::detail
