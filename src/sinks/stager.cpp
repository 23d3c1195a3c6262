#include "sinks/stager.hpp"

#include "detail/fs.hpp"
#include "sinks/gzip_file.hpp"

#include <algorithm>
#include <cerrno>
#include <sys/stat.h>
#include <tuple>

namespace drover::detail {

namespace {
// Records may interleave many partitions; beyond this many open chunks the least recently
// used one is finished (each open chunk holds ~400 KiB of zlib state and buffers).
constexpr std::size_t max_open_chunks = 64;

std::string join_rel(const std::string& dir, const std::string& name) { return dir.empty() ? name : dir + "/" + name; }
}  // namespace

std::string chunk_name(std::string_view task, std::uint32_t index) {
    std::string name(task);
    if (index > 0) name += "~" + std::to_string(index);
    return name + ".jsonl.gz";
}

std::string segment_chunk_name(std::string_view task, std::uint32_t segment, std::uint32_t index) {
    std::string name(task);
    name += "@" + std::to_string(segment);
    if (index > 0) name += "~" + std::to_string(index);
    return name + ".jsonl.gz";
}

std::optional<std::uint32_t> segment_of(std::string_view rel, std::string_view task) {
    if (auto slash = rel.rfind('/'); slash != std::string_view::npos) rel.remove_prefix(slash + 1);
    constexpr std::string_view ext = ".jsonl.gz";
    if (rel.size() <= task.size() + 1 + ext.size() || rel.substr(0, task.size()) != task || rel[task.size()] != '@' ||
        rel.substr(rel.size() - ext.size()) != ext)
        return std::nullopt;
    std::string_view rest = rel.substr(task.size() + 1, rel.size() - task.size() - 1 - ext.size());
    std::string_view seg = rest.substr(0, rest.find('~'));
    if (seg.empty() || seg.size() > 9 || seg.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    if (seg.size() < rest.size()) {
        std::string_view idx = rest.substr(seg.size() + 1);
        if (idx.empty() || idx.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
    }
    return static_cast<std::uint32_t>(std::stoul(std::string(seg)));
}

struct chunk_stager::partition_state {
    std::string dir;
    std::uint32_t next_index = 0;
    chunk* open = nullptr;
};

struct chunk_stager::chunk {
    partition_state* part;
    std::uint32_t index;
    gzip_file gz;
    std::uint64_t records = 0;
    std::uint64_t last_use = 0;
};

chunk_stager::chunk_stager(stager_options opts, partition_template bound) : opts_(std::move(opts)), tpl_(std::move(bound)) {
    if (!tpl_.uses_record()) fixed_ = &partition(tpl_.resolve());
}

chunk_stager::~chunk_stager() {
    for (auto& c : open_) c->gz.abort();
}

void chunk_stager::write(const record& r) {
    // resolve() may refuse the record (record_rejected): nothing is staged for it.
    partition_state& p = fixed_ ? *fixed_ : partition(tpl_.resolve(r.fields));
    chunk& c = p.open ? *p.open : open_chunk(p);
    c.last_use = ++tick_;
    c.gz.write(r.json);
    c.gz.write("\n");
    ++c.records;
    if ((opts_.max_records && c.records >= opts_.max_records) ||
        (opts_.max_bytes && c.gz.uncompressed_bytes() >= opts_.max_bytes))
        finish_chunk(c);
}

std::vector<staged_chunk> chunk_stager::finish(std::optional<std::uint32_t> segment) {
    while (!open_.empty()) finish_chunk(*open_.front());
    std::sort(done_.begin(), done_.end(), [](const staged_chunk& a, const staged_chunk& b) {
        return std::tie(a.dir, a.index) < std::tie(b.dir, b.index);
    });
    // Names are given now: whether a chunk belongs to a segment is known only at the end.
    for (auto& c : done_)
        c.rel = join_rel(c.dir, segment ? segment_chunk_name(opts_.task_id, *segment, c.index)
                                        : chunk_name(opts_.task_id, c.index));
    return done_;
}

std::vector<staged_chunk> chunk_stager::cut(std::uint32_t segment) {
    auto out = finish(segment);
    done_.clear();
    for (auto& [dir, p] : parts_) p->next_index = 0;
    return out;
}

void chunk_stager::discard() noexcept {
    for (auto& c : open_) c->gz.abort();
    open_.clear();
    done_.clear();
    if (created_) detail::remove_all(opts_.dir);
}

chunk_stager::partition_state& chunk_stager::partition(std::string dir) {
    auto [it, added] = parts_.try_emplace(std::move(dir));
    if (added) {
        it->second = std::make_unique<partition_state>();
        it->second->dir = it->first;
    }
    return *it->second;
}

chunk_stager::chunk& chunk_stager::open_chunk(partition_state& p) {
    if (open_.size() >= max_open_chunks) {
        auto lru = std::min_element(open_.begin(), open_.end(),
                                    [](const auto& a, const auto& b) { return a->last_use < b->last_use; });
        finish_chunk(**lru);
    }
    if (!created_) make_dir();
    auto c = std::make_unique<chunk>();
    c->part = &p;
    c->index = p.next_index++;
    c->gz.open(opts_.dir / (std::to_string(seq_++) + ".jsonl.gz"), opts_.level);
    p.open = c.get();
    open_.push_back(std::move(c));
    return *open_.back();
}

void chunk_stager::make_dir() {
    if (::mkdir(opts_.dir.c_str(), 0777) != 0) {
        // Leftovers of an attempt with the same run, task and number: start over.
        if (errno != EEXIST) throw_errno("cannot create directory", opts_.dir, errno);
        detail::remove_all(opts_.dir);
        create_directories(opts_.dir, false);
    }
    created_ = true;
}

void chunk_stager::finish_chunk(chunk& c) {
    c.gz.finish(opts_.fsync);
    done_.push_back({c.part->dir, c.index, {}, c.gz.path(), c.records, c.gz.compressed_bytes()});
    c.part->open = nullptr;
    auto it = std::find_if(open_.begin(), open_.end(), [&](const auto& p) { return p.get() == &c; });
    open_.erase(it);
}

}  // namespace drover::detail
