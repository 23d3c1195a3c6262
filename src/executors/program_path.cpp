#include "executors/program_path.hpp"

#include <cstdlib>
#include <mutex>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <unordered_map>

namespace drover::detail {
namespace {

struct path_cache {
    std::mutex mutex;
    std::string path_env;  // the PATH the entries were found on
    std::unordered_map<std::string, std::string> found;
};

path_cache& cache() {
    static path_cache c;
    return c;
}

// execvp's search over absolute directories only; nullopt when an entry is relative or empty
// (searched from the child's working directory) or when nothing executable is found.
std::optional<std::string> search(std::string_view path_env, const std::string& name) {
    std::string candidate;
    while (true) {
        auto colon = path_env.find(':');
        auto dir = path_env.substr(0, colon);
        if (dir.empty() || dir.front() != '/') return std::nullopt;
        candidate.assign(dir);
        if (candidate.back() != '/') candidate += '/';
        candidate += name;
        struct stat st{};
        if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
            return candidate;
        if (colon == std::string_view::npos) return std::nullopt;
        path_env.remove_prefix(colon + 1);
    }
}

}  // namespace

std::optional<std::string> program_path(const std::string& name) {
    if (name.empty() || name.find('/') != std::string::npos) return std::nullopt;
    const char* env = std::getenv("PATH");
    if (!env || !*env) return std::nullopt;
    auto& c = cache();
    std::lock_guard lock(c.mutex);
    if (c.path_env != env) {
        c.path_env = env;
        c.found.clear();
    }
    if (auto it = c.found.find(name); it != c.found.end()) return it->second;
    auto where = search(c.path_env, name);
    if (where) c.found.emplace(name, *where);
    return where;
}

void forget_program_path(const std::string& name) {
    auto& c = cache();
    std::lock_guard lock(c.mutex);
    c.found.erase(name);
}

}  // namespace drover::detail
