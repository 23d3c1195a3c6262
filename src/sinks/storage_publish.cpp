// storage_sink's manifest protocol over a storage's put, remove and list (storage_publish.hpp).

#include "sinks/storage_publish.hpp"

#include <drover/error.hpp>

#include "detail/fs.hpp"

#include <algorithm>
#include <iterator>

namespace drover::detail {

namespace {

namespace stdfs = std::filesystem;

std::vector<std::string> read_lines(const stdfs::path& p) {
    std::vector<std::string> out;
    auto text = read_file_if_exists(p);
    if (!text) return out;
    std::size_t start = 0;
    while (start < text->size()) {
        std::size_t nl = std::min(text->find('\n', start), text->size());
        if (nl > start) out.push_back(text->substr(start, nl - start));
        start = nl + 1;
    }
    return out;
}

std::string join_lines(const std::vector<std::string>& v) {
    std::string t;
    for (const auto& s : v) t += s + "\n";
    return t;
}

// A name must stay inside the storage's root: relative, no empty or dot-led components.
bool safe_name(std::string_view rel) {
    if (rel.empty() || rel.front() == '/') return false;
    std::size_t start = 0;
    while (start <= rel.size()) {
        std::size_t slash = std::min(rel.find('/', start), rel.size());
        if (slash == start || rel[start] == '.') return false;
        start = slash + 1;
    }
    return true;
}

stdfs::path manifest_of(const publish_target& t, const std::string& task) { return t.spool / "manifests" / task; }

void write_manifest(const publish_target& t, const std::string& task, const std::vector<std::string>& names) {
    atomic_write_file(manifest_of(t, task), join_lines(names), t.fsync);
}

std::string_view last_component(std::string_view name) {
    auto slash = name.rfind('/');
    return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

// `<task>~<digits>.jsonl.gz`: a rotated chunk name of this task.
bool rotated_name_of(std::string_view name, std::string_view task) {
    name = last_component(name);
    if (name.size() <= task.size() + 1 || name.substr(0, task.size()) != task || name[task.size()] != '~') return false;
    std::string_view rest = name.substr(task.size() + 1);
    constexpr std::string_view ext = ".jsonl.gz";
    if (rest.size() <= ext.size() || rest.substr(rest.size() - ext.size()) != ext) return false;
    rest.remove_suffix(ext.size());
    return rest.find_first_not_of("0123456789") == std::string_view::npos;
}

// The task's rotated chunks (and, publishing `segment`, its segments from `segment` on) in
// the partitions of `chunks` that the storage lists and `now` does not hold.
std::vector<std::string> strays(const publish_target& t, const std::string& task, const std::vector<staged_chunk>& chunks,
                                std::optional<std::uint32_t> segment, const std::vector<std::string>& now) {
    std::vector<std::string> dirs, out;
    for (const auto& c : chunks)
        if (std::find(dirs.begin(), dirs.end(), c.dir) == dirs.end()) dirs.push_back(c.dir);
    for (const auto& dir : dirs) {
        for (char sep : segment ? std::string_view("~@") : std::string_view("~")) {
            std::string prefix = (dir.empty() ? "" : dir + "/") + task + sep;
            for (auto& name : t.where.list(prefix)) {
                if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0 || !safe_name(name))
                    continue;  // not what was asked for: never remove it
                bool ours = sep == '~' ? rotated_name_of(name, task) : segment_of(name, task) >= segment;
                if (ours && !std::binary_search(now.begin(), now.end(), name)) out.push_back(std::move(name));
            }
        }
    }
    return out;
}

}  // namespace

std::vector<std::string> read_manifest(const publish_target& t, const std::string& task) {
    auto out = read_lines(manifest_of(t, task));
    for (const auto& line : out)
        if (!safe_name(line))  // never let a damaged manifest remove anything outside the root
            throw sink_error("corrupt manifest " + manifest_of(t, task).string() + ": \"" + line + "\"");
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

committed_output publish(const publish_target& t, const std::string& task, const std::vector<staged_chunk>& chunks,
                         std::optional<std::uint32_t> segment, bool rollback) {
    std::vector<std::string> now;
    std::vector<staged_object> objects;
    for (const auto& c : chunks) {
        now.push_back(c.rel);
        objects.push_back({c.rel, c.file, c.bytes});
    }
    std::vector<std::string> old = read_manifest(t, task);
    if (segment)
        for (const auto& name : old)
            if (auto seg = segment_of(name, task); seg && *seg < *segment) now.push_back(name);
    std::sort(now.begin(), now.end());
    if (!std::includes(old.begin(), old.end(), now.begin(), now.end())) {
        std::vector<std::string> both;
        std::set_union(old.begin(), old.end(), now.begin(), now.end(), std::back_inserter(both));
        write_manifest(t, task, both);
    }

    if (!objects.empty()) {
        try {
            t.where.put(objects);
        } catch (...) {
            if (rollback) {
                // Best effort: take back the names that were not there before (listed in the
                // manifest either way, so the task's next publish removes what stays).
                std::vector<std::string> added;
                for (const auto& o : objects)
                    if (!std::binary_search(old.begin(), old.end(), o.name)) added.push_back(o.name);
                try {
                    if (!added.empty()) t.where.remove(added);
                } catch (...) {
                }
            }
            throw;
        }
    }
    if (segment)  // a long attempt's staging does not grow
        for (const auto& c : chunks) remove_file(c.file);

    std::vector<std::string> stale;
    std::set_difference(old.begin(), old.end(), now.begin(), now.end(), std::back_inserter(stale));
    for (auto& name : strays(t, task, chunks, segment, now))
        if (std::find(stale.begin(), stale.end(), name) == stale.end()) stale.push_back(std::move(name));
    if (!stale.empty()) {
        t.where.remove(stale);
        write_manifest(t, task, now);
    }
    detail::remove_all(t.spool / "pending" / task);  // superseded

    committed_output out;
    for (const auto& c : chunks) {
        out.records += c.records;
        out.bytes += c.bytes;
    }
    for (const auto& name : now) out.locations.push_back(t.where.location(name));
    return out;
}

void take_back_segments(const publish_target& t, const std::string& task, std::uint32_t first) {
    std::vector<std::string> keep, gone;
    for (auto& name : read_manifest(t, task)) {
        auto seg = segment_of(name, task);
        (seg && *seg >= first ? gone : keep).push_back(std::move(name));
    }
    if (gone.empty()) return;
    t.where.remove(gone);  // durable before the manifest stops listing them
    write_manifest(t, task, keep);
}

bool keep_pending(const publish_target& t, const std::string& task, const stdfs::path& staging,
                  const std::vector<staged_chunk>& chunks) noexcept {
    try {
        std::string index;
        for (const auto& c : chunks) {
            if (!stdfs::exists(c.file)) return false;
            index += c.rel + "\t" + c.file.filename().string() + "\t" + std::to_string(c.records) + "\t" +
                     std::to_string(c.bytes) + "\t" + c.dir + "\t" + std::to_string(c.index) + "\n";
        }
        atomic_write_file(staging / "index", index, t.fsync);
        stdfs::path dest = t.spool / "pending" / task;
        detail::remove_all(dest);
        rename_path(staging, dest);
        return true;
    } catch (...) {
        // The records stay in staging, which start() of the next run cleans: nothing better
        // is possible when the spool's own file system fails.
        return false;
    }
}

std::vector<staged_chunk> read_pending(const stdfs::path& dir) {
    std::vector<staged_chunk> out;
    for (const auto& line : read_lines(dir / "index")) {
        std::vector<std::string> f;
        std::size_t start = 0;
        for (;;) {
            auto tab = line.find('\t', start);
            f.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
            if (tab == std::string::npos) break;
            start = tab + 1;
        }
        auto number = [](const std::string& s) {
            return !s.empty() && s.size() <= 19 && s.find_first_not_of("0123456789") == std::string::npos;
        };
        if (f.size() != 6 || !safe_name(f[0]) || f[1].empty() || f[1].find('/') != std::string::npos || f[1][0] == '.' ||
            !number(f[2]) || !number(f[3]) || !number(f[5]) || f[5].size() > 9 || (!f[4].empty() && !safe_name(f[4])))
            throw sink_error("corrupt spool index " + (dir / "index").string() + ": \"" + line + "\"");
        out.push_back({f[4], static_cast<std::uint32_t>(std::stoul(f[5])), f[0], dir / f[1], std::stoull(f[2]),
                       std::stoull(f[3])});
    }
    return out;
}

}  // namespace drover::detail
