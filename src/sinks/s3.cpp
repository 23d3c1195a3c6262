// The S3 sink: records staged as gzip chunks in a spool under the state directory,
// uploaded on commit from the sink's own I/O thread(s), published under deterministic keys.
//
// Spool layout (<state_dir>/s3-spool/):
//   staging/<run>-<task>-<attempt>/<n>.jsonl.gz   chunks of an attempt in progress
//   pending/<task>/{<n>.jsonl.gz,index}           chunks of a successful attempt whose
//                                                  commit failed; uploaded by the next start()
//   manifests/<task>                              keys the task's objects may have
//
// Re-commit rule (exactly once): the manifest lists a superset of the task's keys that may
// exist in the bucket. Before uploading, a commit writes old ∪ new; after its uploads it
// deletes old − new, and also any `<task>~<n>.jsonl.gz` in the partitions it wrote that it
// did not write (found by listing, so a lost state directory cannot leave stray rotated
// objects behind); then it writes exactly the new list. Keys are derived only from the
// task id, partition and rotation index, so every upload overwrites, never adds.
//
// Checkpoint segments (`<task>@<s>...`, docs/sinks.md "Checkpoints") follow the file sink's
// rule: a publish of segment s keeps the task's keys of segments below s, and open() of an
// attempt starting at segment s deletes the keys of segments s and above. A checkpointing
// attempt whose upload fails keeps nothing pending: its retry resumes from the journal's
// last checkpoint and stages those records again.

#include <drover/error.hpp>
#include <drover/sinks/s3.hpp>
#include <drover/task.hpp>

#include "detail/fs.hpp"
#include "s3/uploader.hpp"
#include "s3/url.hpp"
#include "sinks/partition.hpp"
#include "sinks/stager.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/execution/blocking.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/associated_executor.hpp>

#include <algorithm>
#include <set>
#include <thread>

namespace drover {

namespace asio = boost::asio;
namespace stdfs = std::filesystem;

struct s3_sink::state {
    s3_sink_options opts;
    s3::bucket_prefix where;
    stdfs::path spool;
    asio::io_context ioc;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    std::vector<std::thread> threads;
    std::unique_ptr<s3::api> api;
    std::string run_id;
};

namespace {

using detail::staged_chunk;

std::vector<std::string> read_lines(const stdfs::path& p) {
    std::vector<std::string> out;
    auto text = detail::read_file_if_exists(p);
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

// `<task>~<digits>.jsonl.gz`: a rotated chunk name of this task.
bool rotated_name_of(std::string_view name, std::string_view task) {
    if (name.size() <= task.size() + 1 || name.substr(0, task.size()) != task || name[task.size()] != '~') return false;
    std::string_view rest = name.substr(task.size() + 1);
    constexpr std::string_view ext = ".jsonl.gz";
    if (rest.size() <= ext.size() || rest.substr(rest.size() - ext.size()) != ext) return false;
    rest.remove_suffix(ext.size());
    return rest.find_first_not_of("0123456789") == std::string_view::npos;
}

// Uploads the chunks of one task and removes what earlier commits left that this one did
// not write; with `segment`, the chunks are that checkpoint segment and the task's earlier
// segments stay. Runs on the sink's I/O threads.
asio::awaitable<committed_output> publish(std::shared_ptr<s3_sink::state> st, std::string task,
                                          std::vector<staged_chunk> chunks,
                                          std::optional<std::uint32_t> segment = std::nullopt) {
    auto& api = *st->api;
    const auto& bucket = st->where.bucket;
    stdfs::path manifest = st->spool / "manifests" / task;

    std::vector<std::string> now;
    for (const auto& c : chunks) now.push_back(s3::join_key(st->where.prefix, c.rel));
    std::vector<std::string> old = read_lines(manifest);
    std::sort(old.begin(), old.end());
    old.erase(std::unique(old.begin(), old.end()), old.end());
    if (segment)
        for (const auto& key : old)
            if (auto seg = detail::segment_of(key, task); seg && *seg < *segment) now.push_back(key);
    std::sort(now.begin(), now.end());
    if (!std::includes(old.begin(), old.end(), now.begin(), now.end())) {
        std::vector<std::string> both;
        std::set_union(old.begin(), old.end(), now.begin(), now.end(), std::back_inserter(both));
        detail::atomic_write_file(manifest, join_lines(both), st->opts.fsync);
    }

    s3::upload_options uo{st->opts.part_size, st->opts.parallel_parts, st->opts.if_none_match};
    committed_output out;
    for (const auto& c : chunks) {
        std::string key = s3::join_key(st->where.prefix, c.rel);
        co_await s3::upload_file(api, bucket, key, c.file, uo);
        out.records += c.records;
        out.bytes += c.bytes;
        if (segment) detail::remove_file(c.file);  // a long attempt's staging does not grow
    }
    for (const auto& key : now) out.locations.push_back("s3://" + bucket + "/" + key);

    std::vector<std::string> stale;
    std::set_difference(old.begin(), old.end(), now.begin(), now.end(), std::back_inserter(stale));
    // Rotated chunks of this task in the partitions just written, even if no manifest knew them.
    std::vector<std::string> dirs;
    for (const auto& c : chunks)
        if (dirs.empty() || dirs.back() != c.dir) dirs.push_back(c.dir);
    // Segments: also the task's segment keys from this segment on that this publish did not write.
    for (const auto& dir : dirs) {
        for (char sep : segment ? std::string_view("~@") : std::string_view("~")) {
            std::string list_prefix = s3::join_key(st->where.prefix, (dir.empty() ? "" : dir + "/") + task + sep);
            std::string token;
            do {
                auto page = co_await api.list_objects(bucket, list_prefix, token);
                for (const auto& o : page.objects) {
                    std::string_view name = std::string_view(o.key).substr(list_prefix.size() - task.size() - 1);
                    bool ours = sep == '~' ? rotated_name_of(name, task) : detail::segment_of(name, task) >= segment;
                    if (ours && !std::binary_search(now.begin(), now.end(), o.key) &&
                        std::find(stale.begin(), stale.end(), o.key) == stale.end())
                        stale.push_back(o.key);
                }
                token = page.truncated ? page.next_token : std::string();
            } while (!token.empty());
        }
    }
    for (const auto& key : stale) co_await api.delete_object(bucket, key);
    if (!stale.empty() || old.size() != now.size()) detail::atomic_write_file(manifest, join_lines(now), st->opts.fsync);
    detail::remove_all(st->spool / "pending" / task);  // superseded
    co_return out;
}

// Keeps the chunks of a successful attempt whose commit failed, for the next start().
void keep_pending(const s3_sink::state& st, const std::string& task, const stdfs::path& staging,
                  const std::vector<staged_chunk>& chunks) noexcept {
    try {
        std::string index;
        for (const auto& c : chunks)
            index += c.rel + "\t" + c.file.filename().string() + "\t" + std::to_string(c.records) + "\t" +
                     std::to_string(c.bytes) + "\t" + c.dir + "\t" + std::to_string(c.index) + "\n";
        detail::atomic_write_file(staging / "index", index, st.opts.fsync);
        stdfs::path dest = st.spool / "pending" / task;
        detail::remove_all(dest);
        detail::rename_path(staging, dest);
    } catch (...) {
        // The records stay in staging; start() of the next run cleans staging. Nothing
        // better is possible when the spool's own file system fails.
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
        if (f.size() != 6 || f[1].find('/') != std::string::npos || f[0].empty() || f[0].front() == '/' ||
            f[0].find("..") != std::string::npos)
            throw sink_error("corrupt spool index " + (dir / "index").string() + ": \"" + line + "\"");
        out.push_back({f[4], static_cast<std::uint32_t>(std::stoul(f[5])), f[0], dir / f[1], std::stoull(f[2]),
                       std::stoull(f[3])});
    }
    return out;
}

template <class T>
T run_blocking(s3_sink::state& st, asio::awaitable<T> op) {
    return asio::co_spawn(st.ioc, std::move(op), asio::use_future).get();
}

// Errors no commit can get past (S3's codes for bad credentials or a bucket that is not
// there): the run halts instead of failing task after task.
bool refuses_every_commit(const std::exception& e) {
    if (dynamic_cast<const s3::credential_error*>(&e)) return true;  // the source cannot give credentials
    const auto* r = dynamic_cast<const s3::request_error*>(&e);
    if (!r) return false;
    static const std::set<std::string, std::less<>> codes = {
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
        "AccessDenied", "AllAccessDisabled", "AccountProblem", "NoSuchBucket", "InvalidBucketName",
        "PermanentRedirect", "AuthorizationHeaderMalformed"};
    return codes.contains(r->code) || (r->code.empty() && (r->status == 401 || r->status == 403));
}

// The error a failed commit reports: sink_unavailable when no commit can succeed.
std::exception_ptr commit_error(const std::exception& e, const std::string& message) {
    if (refuses_every_commit(e)) return std::make_exception_ptr(sink_unavailable(message));
    return std::make_exception_ptr(sink_error(message));
}

// Deletes the task's keys of segments `first` and above (published after the journal's last
// checkpoint), then drops them from the manifest.
asio::awaitable<void> take_back_segments(std::shared_ptr<s3_sink::state> st, std::string task, std::uint32_t first) {
    stdfs::path manifest = st->spool / "manifests" / task;
    std::vector<std::string> keep, gone;
    for (auto& key : read_lines(manifest)) {
        auto seg = detail::segment_of(key, task);
        (seg && *seg >= first ? gone : keep).push_back(std::move(key));
    }
    if (gone.empty()) co_return;
    for (const auto& key : gone) co_await st->api->delete_object(st->where.bucket, key);
    detail::atomic_write_file(manifest, join_lines(keep), st->opts.fsync);
}

class s3_writer final : public sink_writer {
public:
    s3_writer(std::shared_ptr<s3_sink::state> st, detail::stager_options so, detail::partition_template tpl,
              std::uint32_t first_segment)
        : st_(std::move(st)), task_(so.task_id), stager_(std::move(so), std::move(tpl)), first_segment_(first_segment),
          segment_(first_segment) {}

    ~s3_writer() override {
        if (state_ == wstate::open || state_ == wstate::failed) abort();
    }

    void write(const record& r) override {
        require_open("write");
        try {
            stager_.write(r);
        } catch (const record_rejected&) {
            throw;  // one record refused before anything was staged: the writer goes on
        } catch (const std::system_error& e) {
            state_ = wstate::failed;
            throw sink_error(e.what());
        } catch (...) {
            state_ = wstate::failed;
            throw;
        }
    }

    committed_output commit() override {
        require_open("commit");
        auto chunks = finish();
        try {
            auto out = run_blocking(*st_, publish(st_, task_, chunks, final_segment()));
            done();
            return out;
        } catch (const std::exception& e) {
            failed(chunks);
            std::rethrow_exception(commit_error(e, describe_failure(e)));
        }
    }

    void async_commit(commit_handler h) override {
        std::vector<staged_chunk> chunks;
        try {
            require_open("commit");
            chunks = finish();
        } catch (...) {
            complete(std::move(h), std::current_exception(), {});
            return;
        }
        // Keeps the caller's io_context running while the upload happens on our threads.
        auto work = asio::prefer(asio::get_associated_executor(h), asio::execution::outstanding_work.tracked);
        asio::co_spawn(st_->ioc, publish(st_, task_, chunks, final_segment()),
                       [this, h = std::move(h), work = std::move(work), chunks](std::exception_ptr e,
                                                                               committed_output out) mutable {
                           if (e) {
                               failed(chunks);
                               try {
                                   std::rethrow_exception(e);
                               } catch (const std::exception& x) {
                                   e = commit_error(x, describe_failure(x));
                               } catch (...) {
                               }
                               out = {};
                           } else {
                               done();
                           }
                           complete(std::move(h), e, std::move(out));
                       });
    }

    void abort() noexcept override {
        if (state_ == wstate::committed || state_ == wstate::aborted) return;
        if (state_ != wstate::kept) stager_.discard();
        state_ = wstate::aborted;
    }

    std::optional<checkpoint_policy> checkpoints() const override {
        return checkpoint_policy{st_->opts.rotate_interval, st_->opts.flush_records};
    }

    void async_checkpoint(commit_handler h) override {
        std::vector<staged_chunk> chunks;
        try {
            require_open("checkpoint");
            chunks = stager_.cut(segment_);
        } catch (const std::system_error& e) {
            state_ = wstate::failed;
            complete(std::move(h), std::make_exception_ptr(sink_error(e.what())), {});
            return;
        } catch (...) {
            complete(std::move(h), std::current_exception(), {});
            return;
        }
        auto work = asio::prefer(asio::get_associated_executor(h), asio::execution::outstanding_work.tracked);
        asio::co_spawn(st_->ioc, publish(st_, task_, std::move(chunks), segment_),
                       [this, h = std::move(h), work = std::move(work)](std::exception_ptr e,
                                                                       committed_output out) mutable {
                           if (e) {
                               // Nothing kept pending: the retry resumes from the last journaled checkpoint.
                               state_ = wstate::failed;
                               try {
                                   std::rethrow_exception(e);
                               } catch (const std::exception& x) {
                                   e = commit_error(x, "s3 sink: task " + task_ + ": checkpoint: " + x.what());
                               } catch (...) {
                               }
                               out = {};
                           } else {
                               ++segment_;
                               checkpointed_ = true;
                           }
                           complete(std::move(h), e, std::move(out));
                       });
    }

private:
    // An attempt that checkpointed, or resumed from a checkpoint, ends with a segment too.
    std::optional<std::uint32_t> final_segment() const {
        if (checkpointed_ || first_segment_ > 0) return segment_;
        return std::nullopt;
    }

    enum class wstate { open, failed, committed, aborted, kept };

    static void complete(commit_handler h, std::exception_ptr e, committed_output out) {
        auto ex = asio::prefer(asio::get_associated_executor(h), asio::execution::blocking.never);
        ex.execute([h = std::move(h), e, out = std::move(out)]() mutable { std::move(h)(e, std::move(out)); });
    }

    std::string describe_failure(const std::exception& e) const {
        return "s3 sink: task " + task_ + ": " + e.what() + " (records kept in " +
               (st_->spool / "pending" / task_).string() + " for the next run)";
    }

    void require_open(const char* op) const {
        if (state_ == wstate::open) return;
        throw sink_error(std::string("s3 sink: ") + op + " for task " + task_ + " in a finished writer");
    }

    std::vector<staged_chunk> finish() {
        try {
            return stager_.finish(final_segment());
        } catch (const std::system_error& e) {
            state_ = wstate::failed;
            throw sink_error(e.what());
        }
    }

    void done() {
        state_ = wstate::committed;
        if (stager_.created()) detail::remove_all(stager_.dir());
    }

    void failed(const std::vector<staged_chunk>& chunks) {
        // Pending chunks are published alone by the next start(): not for segments, whose
        // publish must keep the earlier ones; the retry resumes from the last checkpoint.
        if (!chunks.empty() && !final_segment()) {
            keep_pending(*st_, task_, stager_.dir(), chunks);
            state_ = wstate::kept;
        } else {
            state_ = wstate::failed;
        }
    }

    std::shared_ptr<s3_sink::state> st_;
    std::string task_;
    detail::chunk_stager stager_;
    wstate state_ = wstate::open;
    std::uint32_t first_segment_;
    std::uint32_t segment_;        // the next segment to publish
    bool checkpointed_ = false;    // this attempt published a segment
};

}  // namespace

s3_sink::s3_sink(s3_sink_options opts) : opts_(std::move(opts)) {
    s3::parse_s3_url(opts_.url);  // config_error early
    if (opts_.compression_level < 0 || opts_.compression_level > 9)
        throw config_error("s3 sink: compression_level must be 0..9, got " + std::to_string(opts_.compression_level));
    if (opts_.part_size < (5ull << 20)) throw config_error("s3 sink: part_size must be at least 5 MiB");
    if (opts_.parallel_parts == 0) throw config_error("s3 sink: parallel_parts must be at least 1");
    detail::partition_template check(opts_.partition, detail::time_zone(opts_.timezone));  // config_error when bad
}

s3_sink::~s3_sink() { stop(); }

s3_sink::s3_sink(s3_sink&& o) noexcept : opts_(std::move(o.opts_)), state_(std::move(o.state_)) {}

s3_sink& s3_sink::operator=(s3_sink&& o) noexcept {
    if (this != &o) {
        stop();
        opts_ = std::move(o.opts_);
        state_ = std::move(o.state_);
    }
    return *this;
}

std::string s3_sink::describe() const { return opts_.url; }

void s3_sink::start(const sink_context& ctx) {
    if (state_) throw sink_error("s3 sink " + describe() + ": already started");
    if (ctx.state_dir.empty()) throw sink_error("s3 sink " + describe() + ": needs a state directory for its spool");
    auto st = std::make_shared<state>();
    st->opts = opts_;
    st->where = s3::parse_s3_url(opts_.url);
    st->run_id = ctx.run_id;
    st->spool = stdfs::absolute(ctx.state_dir) / "s3-spool";
    auto api_opts = s3::make_api_options(opts_);  // config_error: no credentials
    try {
        detail::create_directories(st->spool / "staging", opts_.fsync);
        detail::create_directories(st->spool / "pending", opts_.fsync);
        detail::create_directories(st->spool / "manifests", opts_.fsync);
        for (const auto& e : stdfs::directory_iterator(st->spool / "staging")) detail::remove_all(e.path());
    } catch (const std::system_error& e) {
        throw sink_error(std::string("s3 sink: ") + e.what());
    }
    st->api = std::make_unique<s3::api>(st->ioc.get_executor(), std::move(api_opts));
    st->work.emplace(st->ioc.get_executor());
    st->threads.emplace_back([s = st.get()] { s->ioc.run(); });
    state_ = st;

    // Chunks that earlier runs could not upload go first.
    std::vector<stdfs::path> pending;
    for (const auto& e : stdfs::directory_iterator(st->spool / "pending")) pending.push_back(e.path());
    std::sort(pending.begin(), pending.end());
    for (const auto& dir : pending) {
        std::string task = dir.filename().string();
        try {
            if (!valid_task_id(task)) throw sink_error("not a task id");
            auto out = run_blocking(*st, publish(st, task, read_pending(dir)));
            if (ctx.recovered) ctx.recovered(task, out);
        } catch (const std::exception& e) {
            stop();
            auto message = "s3 sink: cannot upload records an earlier run left in " + dir.string() + ": " + e.what();
            std::rethrow_exception(commit_error(e, message));
        }
    }
}

void s3_sink::stop() noexcept {
    if (!state_) return;
    state_->work.reset();
    for (auto& t : state_->threads)
        if (t.joinable()) t.join();
    state_->api.reset();
    state_.reset();
}

std::unique_ptr<sink_writer> s3_sink::open(const sink_attempt& a) {
    if (!state_) throw sink_error("s3 sink " + describe() + ": open() before start()");
    if (!valid_task_id(a.task_id)) throw sink_error("s3 sink: invalid task id \"" + std::string(a.task_id) + "\"");
    auto tpl = detail::partition_template(opts_.partition, detail::time_zone(opts_.timezone), opts_.bad_values)
                   .bind(a.params);
    detail::stager_options so;
    so.dir = state_->spool / "staging" /
             (detail::sanitize_component(a.run_id) + "-" + std::string(a.task_id) + "-" + std::to_string(a.attempt));
    so.task_id = a.task_id;
    so.level = opts_.compression_level;
    so.max_records = opts_.max_records;
    so.max_bytes = opts_.max_bytes;
    so.fsync = opts_.fsync;
    // Rare (after a crash): the keys of segments the journal does not know, deleted before
    // the attempt starts. Blocks the caller for those requests.
    if (std::filesystem::exists(state_->spool / "manifests" / std::string(a.task_id))) {
        try {
            run_blocking(*state_, take_back_segments(state_, std::string(a.task_id), a.first_segment));
        } catch (const std::exception& e) {
            std::rethrow_exception(commit_error(e, "s3 sink: task " + std::string(a.task_id) +
                                                       ": cannot take back unjournaled checkpoint chunks: " + e.what()));
        }
    }
    return std::make_unique<s3_writer>(state_, std::move(so), std::move(tpl), a.first_segment);
}

}  // namespace drover
