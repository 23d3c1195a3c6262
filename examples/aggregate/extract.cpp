#include "extract.hpp"

#include <boost/json.hpp>
#include <zlib.h>

#include <algorithm>
#include <set>
#include <stdexcept>

namespace aggregate {

namespace fs = std::filesystem;
namespace json = boost::json;

std::vector<partition_dir> list_partitions(const fs::path& root, const std::string& key) {
    std::error_code ec;
    if (!fs::is_directory(root, ec)) throw std::runtime_error(root.string() + ": not a directory");
    std::vector<partition_dir> out;
    for (auto& e : fs::directory_iterator(root)) {
        auto name = e.path().filename().string();
        if (name.starts_with(".") || !e.is_directory()) continue;
        auto eq = name.find('=');
        if (eq == std::string::npos || name.substr(0, eq) != key)
            throw std::runtime_error(e.path().string() + ": not a '" + key + "=...' partition directory");
        out.push_back({name, name.substr(eq + 1), e.path()});
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.name < b.name; });
    return out;
}

namespace {

template <class Fn>
void for_each_line(const fs::path& file, Fn&& fn) {
    gzFile gz = gzopen(file.c_str(), "rb");
    if (!gz) throw std::runtime_error(file.string() + ": cannot open");
    std::string pending;
    char buf[1 << 16];
    for (;;) {
        int n = gzread(gz, buf, sizeof buf);
        if (n < 0) {
            int err = 0;
            std::string msg = gzerror(gz, &err);
            gzclose(gz);
            throw std::runtime_error(file.string() + ": corrupt gzip data: " + msg);
        }
        if (n == 0) break;
        pending.append(buf, std::size_t(n));
        std::size_t start = 0;
        for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1)
            fn(std::string_view(pending).substr(start, nl - start));
        pending.erase(0, start);
    }
    int err = Z_OK;
    const char* msg = gzerror(gz, &err);
    if (err != Z_OK && err != Z_STREAM_END) {
        std::string text = msg;
        gzclose(gz);
        throw std::runtime_error(file.string() + ": corrupt gzip data: " + text);
    }
    gzclose(gz);
    if (!pending.empty()) fn(std::string_view(pending));
}

}  // namespace

void count_line(partition_count& c, std::set<std::string>& ids, std::string_view line) {
    if (line.empty()) return;
    c.records++;
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    const json::object* o = ec ? nullptr : v.if_object();
    const json::string* oid = o && o->contains("oid") ? o->at("oid").if_string() : nullptr;
    const json::string* aid = o && o->contains("aid") ? o->at("aid").if_string() : nullptr;
    if (!oid || !aid) {
        c.bad_lines++;
        return;
    }
    if (auto* d = o->contains("date") ? o->at("date").if_string() : nullptr; !d || *d != c.date) c.wrong_date++;
    ids.insert(std::string(*oid) + '\x1f' + std::string(*aid));
}

partition_count count_partition(const fs::path& dir, const std::string& value) {
    partition_count c;
    c.date = value;
    std::set<std::string> ids;
    std::vector<fs::path> files;
    for (auto& e : fs::directory_iterator(dir)) {
        auto name = e.path().filename().string();
        if (!name.starts_with(".") && e.is_regular_file() && name.ends_with(".jsonl.gz")) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
        c.files++;
        for_each_line(f, [&](std::string_view line) { count_line(c, ids, line); });
    }
    c.articles = ids.size();
    return c;
}

std::string to_json(const partition_count& c) {
    return json::serialize(json::object{{"date", c.date}, {"articles", c.articles}, {"records", c.records},
                                        {"files", c.files}, {"bad_lines", c.bad_lines}, {"wrong_date", c.wrong_date}});
}

partition_count from_json(std::string_view text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) throw std::runtime_error("not a count record: " + std::string(text.substr(0, 200)));
    auto& o = v.as_object();
    partition_count c;
    try {
        c.date = std::string(o.at("date").as_string());
        auto num = [&](const char* k) { return json::value_to<std::uint64_t>(o.at(k)); };
        c.articles = num("articles");
        c.records = num("records");
        c.files = num("files");
        c.bad_lines = num("bad_lines");
        c.wrong_date = num("wrong_date");
    } catch (const std::exception& e) {
        throw std::runtime_error("malformed count record (" + std::string(e.what()) + "): " + std::string(text.substr(0, 200)));
    }
    return c;
}

}  // namespace aggregate
