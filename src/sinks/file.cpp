// The file sink: a storage_sink over a directory.
//
// Layout under the root:
//   <partition>/<task>.jsonl.gz, <task>~1.jsonl.gz, ...   published chunks
//   .drover/lock                                          flock held from start() to stop()
//   .drover/{staging,pending,manifests}/                  the sink's spool (storage_publish.hpp)
//
// The spool is under the root so that a staged chunk is published by rename(2), on the same
// file system: readers see no file or the whole file.

#include <drover/error.hpp>
#include <drover/sinks/file.hpp>

#include "detail/fs.hpp"
#include "sinks/sink_options.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace drover {

namespace {

namespace stdfs = std::filesystem;

class file_storage final : public storage {
public:
    file_storage(stdfs::path root, bool fsync) : root_(std::move(root)), fsync_(fsync) {}
    ~file_storage() override { stop(); }

    std::string name() const override { return "file"; }
    std::string describe() const override { return root_.string(); }

    stdfs::path start(const sink_context&) override {
        if (lock_) throw sink_error("file sink " + describe() + ": already started");
        stdfs::path meta = root_ / ".drover";
        detail::create_directories(meta, fsync_);
        stdfs::path lock_path = meta / "lock";
        detail::unique_fd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
        if (!fd) detail::throw_errno("cannot open", lock_path, errno);
        if (auto holder = detail::lock_with_pid(fd.get(), lock_path))
            throw sink_error("output directory " + root_.string() + " is in use by another drover run (pid " + *holder +
                             ")");
        lock_ = std::move(fd);
        return meta;
    }

    // The lock file stays: unlinking it would race with a run that just opened it.
    void stop() noexcept override { lock_.reset(); }

    void put(const std::vector<staged_object>& objects) override {
        std::vector<stdfs::path> dirs;  // distinct final directories, in order
        for (const auto& o : objects) {
            stdfs::path dest = root_ / o.name;
            stdfs::path dir = dest.parent_path();
            if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) {
                detail::create_directories(dir, fsync_);
                dirs.push_back(dir);
            }
            detail::rename_path(o.file, dest);
            // The staged file stays the sink's (it may keep it for the next run if a later
            // object fails): a second link to the published inode, when the file system has links.
            // Without one, a failed later object keeps nothing pending (keep_pending checks).
            (void)::link(dest.c_str(), o.file.c_str());
        }
        if (fsync_)
            for (const auto& d : dirs) detail::fsync_dir(d);
    }

    void remove(const std::vector<std::string>& names) override {
        std::vector<stdfs::path> dirs;
        for (const auto& n : names) {
            detail::remove_file(root_ / n);  // ENOENT: not there, no error
            dirs.push_back((root_ / n).parent_path());
        }
        if (!fsync_) return;
        std::sort(dirs.begin(), dirs.end());
        dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
        for (const auto& d : dirs) detail::fsync_dir(d);
    }

    std::string location(std::string_view name) const override { return (root_ / name).string(); }

private:
    stdfs::path root_;
    bool fsync_;
    detail::unique_fd lock_;
};

stdfs::path absolute_root(const stdfs::path& root) {
    if (root.empty()) throw config_error("file sink: root must not be empty");
    // Fixed now, so a later chdir() of the embedding program cannot move the output.
    stdfs::path r = stdfs::absolute(root).lexically_normal();
    if (!r.has_filename()) r = r.parent_path();  // drop a trailing '/'
    return r;
}

}  // namespace

// Two publish threads: commits are fsync-bound, more mostly wait on the same disk.
file_sink::file_sink(file_sink_options opts)
    : storage_sink(std::make_shared<file_storage>(absolute_root(opts.root), opts.fsync),
                   detail::storage_options_of(opts, 2)),
      opts_(std::move(opts)) {
    opts_.root = absolute_root(opts_.root);
}

}  // namespace drover
