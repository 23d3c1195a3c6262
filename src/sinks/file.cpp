// The file sink: gzip JSON-lines chunks staged per attempt and published on commit.
//
// Layout under the root:
//   <partition>/<task>.jsonl.gz, <task>~1.jsonl.gz, ...   published chunks
//   .drover/lock                                          flock held from start() to stop()
//   .drover/staging/<run>-<task>-<attempt>/<n>.jsonl.gz   chunks of an attempt in progress
//   .drover/manifests/<task>                              root-relative paths the task published
//
// Manifest protocol (what makes re-commits replace instead of add): the manifest on disk
// always lists a superset of the task's files that may exist. Before publishing names it
// does not list yet, commit writes old ∪ new; after removing the old names this commit
// did not write, it writes exactly the new list. A crash at any point therefore leaves
// every possibly-published file listed, and the task's next commit removes the strays.
// As a consequence a first commit writes the manifest once, a same-size re-commit not at
// all, and a task that never produced records has no manifest (absent == empty).
//
// Checkpoints extend the same protocol: a publish of segment s (at a checkpoint, or the
// commit of an attempt that checkpointed or resumed from one) keeps the task's names of
// segments below s and counts them as "new"; everything else not written now goes. open()
// of an attempt that starts at segment s removes the names of segments s and above first:
// a crash published them after the journal's last checkpoint.

#include <drover/error.hpp>
#include <drover/sinks/file.hpp>
#include <drover/task.hpp>

#include "detail/fs.hpp"
#include "sinks/partition.hpp"
#include "sinks/stager.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/blocking.hpp>
#include <boost/asio/prefer.hpp>

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>
#include <tuple>
#include <unistd.h>
#include <unordered_map>
#include <utility>

namespace drover {

namespace {

namespace stdfs = std::filesystem;
namespace asio = boost::asio;
using detail::chunk_name;
using detail::staged_chunk;

// The helpers throw std::system_error carrying path and strerror; sinks report sink_error.
template <class F>
decltype(auto) sink_errors(F&& f) {
    try {
        return f();
    } catch (const std::system_error& e) {
        throw sink_error(e.what());
    }
}

// A manifest line must stay inside the root: relative, no empty or dot-led components.
bool safe_relative(std::string_view rel) {
    if (rel.empty() || rel.front() == '/') return false;
    std::size_t start = 0;
    while (start <= rel.size()) {
        std::size_t slash = std::min(rel.find('/', start), rel.size());
        if (slash == start || rel[start] == '.') return false;
        start = slash + 1;
    }
    return true;
}

struct writer_config {
    stdfs::path root;      // absolute
    stdfs::path manifest;  // this task's manifest
    detail::stager_options stage;
    std::uint32_t first_segment = 0;
    checkpoint_policy policy;
};

class file_writer final : public sink_writer {
public:
    file_writer(writer_config cfg, detail::partition_template tpl)
        : cfg_(std::move(cfg)), stager_(cfg_.stage, std::move(tpl)), segment_(cfg_.first_segment) {
        sink_errors([&] { take_back_segments(); });
    }

    ~file_writer() override {
        if (state_ == state::open || state_ == state::failed) abort();
    }

    void write(const record& r) override {
        require_open("write");
        try {
            stager_.write(r);
        } catch (const record_rejected&) {
            throw;  // one record refused before anything was staged: the writer goes on
        } catch (const std::system_error& e) {
            state_ = state::failed;
            throw sink_error(e.what());
        } catch (...) {
            state_ = state::failed;
            throw;
        }
    }

    committed_output commit() override {
        require_open("commit");
        std::vector<std::string> published;  // names this commit added (for rollback)
        try {
            // An attempt that checkpointed, or resumed from a checkpoint, ends with a segment too.
            std::optional<std::uint32_t> seg;
            if (segmented()) seg = segment_;
            committed_output out = sink_errors([&] { return publish(stager_.finish(seg), seg, published); });
            state_ = state::committed;
            if (stager_.created()) detail::remove_all(stager_.dir());
            return out;
        } catch (...) {
            state_ = state::failed;
            // Best effort: take back names that were not there before this commit.
            for (const auto& rel : published) ::unlink((cfg_.root / rel).c_str());
            throw;
        }
    }

    void abort() noexcept override {
        if (state_ == state::committed || state_ == state::aborted) return;
        stager_.discard();
        state_ = state::aborted;
    }

    std::optional<checkpoint_policy> checkpoints() const override { return cfg_.policy; }

    void async_checkpoint(commit_handler h) override {
        std::exception_ptr error;
        committed_output out;
        try {
            out = checkpoint();
        } catch (...) {
            error = std::current_exception();
        }
        auto ex = asio::prefer(asio::get_associated_executor(h), asio::execution::blocking.never);
        ex.execute([h = std::move(h), error, out = std::move(out)]() mutable { std::move(h)(error, std::move(out)); });
    }

private:
    bool segmented() const noexcept { return checkpointed_ || cfg_.first_segment > 0; }

    committed_output checkpoint() {
        require_open("checkpoint");
        std::vector<std::string> published;
        try {
            auto out = sink_errors([&] { return publish(stager_.cut(segment_), segment_, published); });
            ++segment_;
            checkpointed_ = true;
            return out;
        } catch (...) {
            state_ = state::failed;
            // Names it added stay listed in the manifest: the next open() or publish takes them back.
            throw;
        }
    }

    // Segments from first_segment on were published after the journal's last checkpoint.
    void take_back_segments() {
        std::vector<std::string> old = read_manifest(), keep;  // absent: empty
        std::vector<stdfs::path> dirs;
        for (const auto& rel : old) {
            auto seg = detail::segment_of(rel, cfg_.stage.task_id);
            if (seg && *seg >= cfg_.first_segment) {
                ::unlink((cfg_.root / rel).c_str());  // ENOENT: a crash before its rename
                dirs.push_back((cfg_.root / rel).parent_path());
            } else {
                keep.push_back(rel);
            }
        }
        if (dirs.empty()) return;
        // The removals are durable before the manifest stops listing them.
        if (cfg_.stage.fsync) {
            std::sort(dirs.begin(), dirs.end());
            dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
            for (const auto& d : dirs) detail::fsync_dir(d);
        }
        write_manifest(keep);
    }

    enum class state { open, failed, committed, aborted };

    void require_open(const char* op) const {
        if (state_ == state::open) return;
        static constexpr const char* why[] = {"", "after a failure", "after commit", "after abort"};
        throw sink_error(std::string("file sink: ") + op + " for task " + cfg_.stage.task_id + " " +
                         why[static_cast<int>(state_)]);
    }

    std::vector<std::string> read_manifest() const {
        std::vector<std::string> out;
        auto text = detail::read_file_if_exists(cfg_.manifest);
        if (!text) return out;
        std::size_t start = 0;
        while (start < text->size()) {
            std::size_t nl = std::min(text->find('\n', start), text->size());
            std::string line = text->substr(start, nl - start);
            start = nl + 1;
            if (line.empty()) continue;
            // Never let a damaged manifest make us unlink outside the root.
            if (!safe_relative(line)) throw sink_error("corrupt manifest " + cfg_.manifest.string() + ": \"" + line + "\"");
            out.push_back(std::move(line));
        }
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }

    void write_manifest(const std::vector<std::string>& rels) const {
        std::string text;
        for (const auto& r : rels) text += r + "\n";
        detail::atomic_write_file(cfg_.manifest, text, cfg_.stage.fsync);
    }

    // `segment`: the chunks are that checkpoint segment; the task's earlier segments stay.
    committed_output publish(const std::vector<staged_chunk>& done, std::optional<std::uint32_t> segment,
                             std::vector<std::string>& published) {
        const bool fsync = cfg_.stage.fsync;

        std::vector<std::string> now;
        for (const auto& s : done) now.push_back(s.rel);
        std::vector<std::string> old = read_manifest();
        std::vector<std::string> kept;  // earlier segments' names
        if (segment)
            for (const auto& rel : old)
                if (auto seg = detail::segment_of(rel, cfg_.stage.task_id); seg && *seg < *segment) kept.push_back(rel);
        now.insert(now.end(), kept.begin(), kept.end());
        std::sort(now.begin(), now.end());

        if (!std::includes(old.begin(), old.end(), now.begin(), now.end())) {
            std::vector<std::string> both;
            std::set_union(old.begin(), old.end(), now.begin(), now.end(), std::back_inserter(both));
            write_manifest(both);
        }

        std::vector<stdfs::path> dirs;  // distinct final directories, in order
        for (const auto& s : done) {
            stdfs::path dir = (cfg_.root / s.rel).parent_path();
            if (dirs.empty() || dirs.back() != dir) {
                detail::create_directories(dir, fsync);
                dirs.push_back(dir);
            }
            detail::rename_path(s.file, cfg_.root / s.rel);
            if (!std::binary_search(old.begin(), old.end(), s.rel)) published.push_back(s.rel);
        }
        if (fsync)
            for (const auto& d : dirs) detail::fsync_dir(d);

        std::vector<std::string> stale;
        std::set_difference(old.begin(), old.end(), now.begin(), now.end(), std::back_inserter(stale));
        if (!stale.empty()) {
            std::vector<stdfs::path> stale_dirs;
            for (const auto& rel : stale) {
                detail::remove_file(cfg_.root / rel);
                stale_dirs.push_back((cfg_.root / rel).parent_path());
            }
            if (fsync) {
                std::sort(stale_dirs.begin(), stale_dirs.end());
                stale_dirs.erase(std::unique(stale_dirs.begin(), stale_dirs.end()), stale_dirs.end());
                for (const auto& d : stale_dirs) detail::fsync_dir(d);
            }
            write_manifest(now);
        }

        committed_output out;
        for (const auto& s : done) {
            out.records += s.records;
            out.bytes += s.bytes;
        }
        for (const auto& rel : now) out.locations.push_back((cfg_.root / rel).string());
        return out;
    }

    writer_config cfg_;
    detail::chunk_stager stager_;
    state state_ = state::open;
    std::uint32_t segment_;       // the next segment to publish
    bool checkpointed_ = false;   // this attempt published a segment
};

stdfs::path meta_dir(const stdfs::path& root) { return root / ".drover"; }


}  // namespace

file_sink::file_sink(file_sink_options opts) : opts_(std::move(opts)) {
    if (opts_.root.empty()) throw config_error("file sink: root must not be empty");
    // Fixed now, so a later chdir() of the embedding program cannot move the output.
    opts_.root = std::filesystem::absolute(opts_.root).lexically_normal();
    if (opts_.compression_level < 0 || opts_.compression_level > 9)
        throw config_error("file sink: compression_level must be 0..9, got " + std::to_string(opts_.compression_level));
    detail::partition_template check(opts_.partition, detail::time_zone(opts_.timezone));  // config_error when bad
}

file_sink::~file_sink() { stop(); }

file_sink::file_sink(file_sink&& o) noexcept : opts_(std::move(o.opts_)), lock_fd_(std::exchange(o.lock_fd_, -1)) {}

file_sink& file_sink::operator=(file_sink&& o) noexcept {
    if (this != &o) {
        stop();
        opts_ = std::move(o.opts_);
        lock_fd_ = std::exchange(o.lock_fd_, -1);
    }
    return *this;
}

std::string file_sink::describe() const { return opts_.root.string(); }

void file_sink::start(const sink_context& /*ctx*/) {
    if (lock_fd_ >= 0) throw sink_error("file sink " + describe() + ": already started");
    sink_errors([&] {
        stdfs::path meta = meta_dir(opts_.root);
        detail::create_directories(meta / "staging", opts_.fsync);
        detail::create_directories(meta / "manifests", opts_.fsync);

        stdfs::path lock_path = meta / "lock";
        detail::unique_fd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
        if (!fd) detail::throw_errno("cannot open", lock_path, errno);
        if (auto holder = detail::lock_with_pid(fd.get(), lock_path))
            throw sink_error("output directory " + opts_.root.string() + " is in use by another drover run (pid " +
                             *holder + ")");

        // We hold the lock, so no other run is staging here: whatever is left crashed.
        for (const auto& e : stdfs::directory_iterator(meta / "staging")) {
            std::error_code ec;
            stdfs::remove_all(e.path(), ec);
            if (ec) detail::throw_errno("cannot remove leftover staging", e.path(), ec.value());
        }
        for (const auto& e : stdfs::directory_iterator(meta / "manifests"))
            if (detail::is_atomic_write_temp(e.path().filename().string())) detail::remove_file(e.path());
        lock_fd_ = fd.release();
    });
}

void file_sink::stop() noexcept {
    // The lock file stays: unlinking it would race with a run that just opened it.
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = -1;
}

std::unique_ptr<sink_writer> file_sink::open(const sink_attempt& a) {
    if (lock_fd_ < 0) throw sink_error("file sink " + describe() + ": open() before start()");
    if (!valid_task_id(a.task_id)) throw sink_error("file sink: invalid task id \"" + std::string(a.task_id) + "\"");
    auto tpl = detail::partition_template(opts_.partition, detail::time_zone(opts_.timezone), opts_.bad_values)
                   .bind(a.params);
    return sink_errors([&] {
        writer_config cfg;
        cfg.root = stdfs::absolute(opts_.root).lexically_normal();
        if (!cfg.root.has_filename()) cfg.root = cfg.root.parent_path();  // drop a trailing '/'
        stdfs::path meta = meta_dir(cfg.root);
        cfg.stage.dir = meta / "staging" / (detail::sanitize_component(a.run_id) + "-" + std::string(a.task_id) + "-" +
                                            std::to_string(a.attempt));
        cfg.manifest = meta / "manifests" / std::string(a.task_id);
        cfg.stage.task_id = a.task_id;
        cfg.stage.level = opts_.compression_level;
        cfg.stage.max_records = opts_.max_records;
        cfg.stage.max_bytes = opts_.max_bytes;
        cfg.stage.fsync = opts_.fsync;
        cfg.first_segment = a.first_segment;
        cfg.policy = {opts_.rotate_interval, opts_.flush_records};
        return std::unique_ptr<sink_writer>(std::make_unique<file_writer>(std::move(cfg), std::move(tpl)));
    });
}

}  // namespace drover
