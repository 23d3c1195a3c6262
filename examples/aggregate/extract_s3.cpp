#include "extract_s3.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

namespace aggregate {

bool is_s3_url(const std::string& input) { return input.starts_with("s3://"); }

namespace {

// The key prefix of "s3://bucket/a/b/" → "a/b" (empty for the bucket itself).
std::string url_prefix(const std::string& url) {
    auto rest = url.substr(5);
    auto slash = rest.find('/');
    if (slash == std::string::npos) return {};
    auto p = rest.substr(slash + 1);
    while (!p.empty() && p.back() == '/') p.pop_back();
    return p;
}

std::string without_trailing_slash(std::string url) {
    while (url.size() > 5 && url.back() == '/') url.pop_back();
    return url;
}

}  // namespace

std::vector<partition_dir> list_s3_partitions(const drover::s3_sink_options& opts, const std::string& key) {
    drover::s3_reader reader(opts);
    auto prefix = url_prefix(opts.url);
    auto base = without_trailing_slash(opts.url);
    std::map<std::string, partition_dir> parts;
    for (auto& o : reader.list()) {
        auto rel = prefix.empty() ? o.key : o.key.substr(prefix.size() + 1);
        auto slash = rel.find('/');
        if (rel.starts_with(".")) continue;
        auto name = rel.substr(0, slash);
        auto eq = name.find('=');
        if (slash == std::string::npos || eq == std::string::npos || name.substr(0, eq) != key)
            throw std::runtime_error(base + "/" + rel + ": not in a '" + key + "=...' partition");
        parts.try_emplace(name, partition_dir{name, name.substr(eq + 1), base + "/" + name});
    }
    std::vector<partition_dir> out;
    for (auto& [name, p] : parts) out.push_back(p);
    return out;
}

partition_count count_s3_partition(const drover::s3_sink_options& opts, const std::string& value) {
    drover::s3_reader reader(opts);
    partition_count c;
    c.date = value;
    std::set<std::string> ids;
    for (auto& o : reader.list()) {
        if (!o.key.ends_with(".jsonl.gz")) continue;
        auto name = o.key.substr(o.key.rfind('/') + 1);
        if (name.starts_with(".")) continue;
        c.files++;
        reader.read_lines(o.key, [&](std::string_view line) { count_line(c, ids, line); });
    }
    c.articles = ids.size();
    return c;
}

}  // namespace aggregate
