#include <drover/error.hpp>

#include <fmt/format.h>

namespace drover {

namespace {
std::string located(const std::string& file, int line, int column, const std::string& key,
                    const std::string& problem) {
    std::string where = file;
    if (line > 0) where += fmt::format(":{}", line);
    if (line > 0 && column > 0) where += fmt::format(":{}", column);
    if (key.empty()) return fmt::format("{}: {}", where, problem);
    return fmt::format("{}: {}: {}", where, key, problem);
}
}  // namespace

config_error::config_error(std::string file, int line, int column, std::string key, const std::string& problem)
    : error(located(file, line, column, key, problem)),
      file_(std::move(file)),
      line_(line),
      column_(column),
      key_(std::move(key)) {}

}  // namespace drover
