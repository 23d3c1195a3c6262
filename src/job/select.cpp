#include "job/select.hpp"

#include <drover/error.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fnmatch.h>

namespace drover::detail {

namespace {

// A few ids to show next to a glob that matched none of them.
std::string some_ids(const task_list& tasks) {
    std::vector<std::string_view> ids;
    for (std::uint32_t i = 0; i < tasks.size && i < 5; ++i) ids.push_back(tasks.id(i));
    return fmt::format("the job's {} task(s): {}{}", tasks.size, fmt::join(ids, ", "), tasks.size > 5 ? ", ..." : "");
}

}  // namespace

std::vector<bool> select_tasks(const task_list& tasks, const task_graph& g, const std::vector<std::string>& globs,
                               bool with_dependencies) {
    std::vector<bool> keep(tasks.size);
    for (const auto& glob : globs) {
        if (glob.empty()) throw config_error("only: an empty pattern; give a task id or a glob like \"crawl-*\"");
        std::size_t matched = 0;
        for (std::uint32_t i = 0; i < tasks.size; ++i)
            if (::fnmatch(glob.c_str(), tasks.id(i).data(), 0) == 0) keep[i] = true, ++matched;
        if (matched == 0)
            throw config_error(fmt::format("only '{}': matches no task ({})", glob, some_ids(tasks)));
    }
    if (with_dependencies && !g.empty()) {
        std::vector<std::uint32_t> todo;
        for (std::uint32_t i = 0; i < tasks.size; ++i)
            if (keep[i]) todo.push_back(i);
        while (!todo.empty()) {
            auto i = todo.back();
            todo.pop_back();
            for (auto u : g.upstream[i])
                if (!keep[u]) keep[u] = true, todo.push_back(u);
        }
    }
    return keep;
}

std::vector<std::string> kept_after(const task_list& tasks, const task_graph& g, const std::vector<bool>& keep,
                                    std::uint32_t task) {
    std::vector<std::string> after;
    if (g.empty()) return after;
    for (auto u : g.upstream[task])
        if (keep[u]) after.emplace_back(tasks.id(u));
    return after;
}

}  // namespace drover::detail
