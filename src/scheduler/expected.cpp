#include "scheduler/expected.hpp"

#include "scheduler/task_store.hpp"

#include <algorithm>
#include <limits>

namespace drover::detail {

namespace {

constexpr std::uint32_t max_ms = std::numeric_limits<std::uint32_t>::max();

std::uint32_t clamp_ms(std::int64_t ms) {
    return static_cast<std::uint32_t>(std::clamp<std::int64_t>(ms, 1, max_ms));
}

std::uint32_t median(std::vector<std::uint32_t>& v) {
    auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
    std::nth_element(v.begin(), mid, v.end());
    return *mid;
}

}  // namespace

std::string command_template(const task_spec& t) {
    // Longest values first, so that a value inside another (1 in 12) does not split it.
    std::vector<std::pair<std::string_view, std::string_view>> params;  // value, name
    for (const auto& [name, value] : t.params)
        if (!value.empty()) params.emplace_back(value, name);
    std::sort(params.begin(), params.end(),
              [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    std::string out;
    for (const auto& arg : t.command) {
        std::string_view rest = arg;
        while (!rest.empty()) {
            // The earliest match; at one position, the longest value.
            std::size_t at = std::string_view::npos;
            const std::pair<std::string_view, std::string_view>* hit = nullptr;
            for (const auto& p : params)
                if (auto pos = rest.find(p.first); pos != std::string_view::npos && pos < at) {
                    at = pos;
                    hit = &p;
                }
            if (!hit) {
                out += rest;
                break;
            }
            out += rest.substr(0, at);
            out += '{';
            out += hit->second;
            out += '}';
            rest.remove_prefix(at + hit->first.size());
        }
        out += '\0';
    }
    return out;
}

std::uint64_t template_hash(const task_spec& t) { return std::hash<std::string>{}(command_template(t)); }

std::uint32_t duration_estimates::of(const task_spec& t) const {
    if (template_ms.empty()) return 0;
    auto it = template_ms.find(template_hash(t));
    return it == template_ms.end() ? 0 : it->second;
}

duration_estimates estimate_durations(const task_store& tasks,
                                      std::span<const std::pair<std::uint32_t, std::int64_t>> own) {
    duration_estimates e;
    if (own.empty()) return e;
    e.task_ms.assign(tasks.size(), 0);
    for (const auto& [i, ms] : own)
        if (i < e.task_ms.size()) e.task_ms[i] = clamp_ms(ms);
    // Templates by their hash: 8 bytes a task while this runs, not a string.
    std::vector<std::uint64_t> keys(tasks.size());
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> samples;
    for (std::uint32_t i = 0; i < tasks.size(); ++i) {
        keys[i] = template_hash(tasks.spec(i));
        if (e.task_ms[i]) samples[keys[i]].push_back(e.task_ms[i]);
    }
    for (auto& [key, v] : samples) e.template_ms.emplace(key, median(v));
    for (std::uint32_t i = 0; i < tasks.size(); ++i)
        if (!e.task_ms[i])
            if (auto it = e.template_ms.find(keys[i]); it != e.template_ms.end()) e.task_ms[i] = it->second;
    return e;
}

std::vector<std::uint32_t> critical_paths(std::vector<std::uint32_t> expected_ms, const task_graph& graph) {
    if (graph.empty()) return expected_ms;
    // Downstream before upstream: every task after i has its path when i is reached.
    for (auto it = graph.topo_order.rbegin(); it != graph.topo_order.rend(); ++it) {
        auto i = *it;
        if (i >= expected_ms.size() || i >= graph.downstream.size()) continue;
        std::uint32_t longest = 0;
        for (auto d : graph.downstream[i])
            if (d < expected_ms.size()) longest = std::max(longest, expected_ms[d]);
        expected_ms[i] = static_cast<std::uint32_t>(
            std::min<std::uint64_t>(std::uint64_t{expected_ms[i]} + longest, max_ms));
    }
    return expected_ms;
}

}  // namespace drover::detail
