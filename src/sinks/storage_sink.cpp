// storage_sink: staging, rotation and partitions (chunk_stager), the manifest protocol
// (storage_publish.cpp), and publishes on the sink's own threads.

#include <drover/error.hpp>
#include <drover/storage_sink.hpp>
#include <drover/task.hpp>

#include "detail/fs.hpp"
#include "sinks/partition.hpp"
#include "sinks/stager.hpp"
#include "sinks/storage_publish.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/blocking.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <optional>

namespace drover {

namespace asio = boost::asio;
namespace stdfs = std::filesystem;

std::vector<std::string> storage::list(std::string_view) { return {}; }

struct storage_sink::state {
    std::shared_ptr<storage> where;
    detail::publish_target target;
    detail::partition_template tpl;
    storage_sink_options opts;
    asio::thread_pool pool;

    state(std::shared_ptr<storage> w, stdfs::path spool, const storage_sink_options& o)
        : where(std::move(w)), target{*where, std::move(spool), o.fsync, where->name() + " sink"},
          tpl(o.partition, detail::time_zone(o.timezone), o.bad_values), opts(o), pool(o.publish_threads) {}
};

namespace {

using detail::staged_chunk;

// An error of the storage or the spool, as the sink reports it: sink_unavailable stays
// sink_unavailable (the run halts), anything else becomes a sink_error.
std::exception_ptr sink_failure(std::exception_ptr e, const std::string& message_prefix, const std::string& suffix = {}) {
    try {
        std::rethrow_exception(e);
    } catch (const sink_unavailable& x) {
        return std::make_exception_ptr(sink_unavailable(message_prefix + x.what() + suffix));
    } catch (const std::exception& x) {
        return std::make_exception_ptr(sink_error(message_prefix + x.what() + suffix));
    } catch (...) {
        return e;
    }
}

class storage_writer final : public sink_writer {
public:
    storage_writer(std::shared_ptr<storage_sink::state> st, detail::stager_options so, detail::partition_template tpl,
                   std::uint32_t first_segment)
        : st_(std::move(st)), task_(so.task_id), stager_(std::move(so), std::move(tpl)), first_segment_(first_segment),
          segment_(first_segment) {}

    ~storage_writer() override {
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
        auto r = publish_all(finish());
        state_ = r.next;
        if (r.error) std::rethrow_exception(r.error);
        return std::move(r.out);
    }

    void async_commit(commit_handler h) override {
        std::vector<staged_chunk> chunks;
        try {
            require_open("commit");
            chunks = finish();
        } catch (...) {
            return complete(std::move(h), std::current_exception(), {});
        }
        // Keeps the caller's io_context running while the publish happens on the sink's threads.
        auto work = asio::prefer(asio::get_associated_executor(h), asio::execution::outstanding_work.tracked);
        asio::post(st_->pool, [this, h = std::move(h), work = std::move(work), chunks = std::move(chunks)]() mutable {
            auto r = publish_all(chunks);
            // The state changes on the caller's executor (the scheduler's strand), like every other call.
            auto ex = asio::prefer(asio::get_associated_executor(h), asio::execution::blocking.never);
            ex.execute([this, h = std::move(h), r = std::move(r)]() mutable {
                state_ = r.next;
                std::move(h)(r.error, std::move(r.out));
            });
            // `work` goes only now, after execute() returned: the caller's io_context cannot run
            // out of work, and be destroyed, while this thread still hands it the completion.
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
            return complete(std::move(h), std::make_exception_ptr(sink_error(e.what())), {});
        } catch (...) {
            return complete(std::move(h), std::current_exception(), {});
        }
        auto work = asio::prefer(asio::get_associated_executor(h), asio::execution::outstanding_work.tracked);
        asio::post(st_->pool, [this, h = std::move(h), work = std::move(work), chunks = std::move(chunks),
                               segment = segment_]() mutable {
            std::exception_ptr error;
            committed_output out;
            try {
                out = detail::publish(st_->target, task_, chunks, segment, false);
            } catch (...) {
                // Names it added stay listed in the manifest: the next open() or publish takes
                // them back. Nothing is kept pending: the retry resumes from the last checkpoint.
                error = sink_failure(std::current_exception(), st_->target.what + ": task " + task_ + ": checkpoint: ");
            }
            auto ex = asio::prefer(asio::get_associated_executor(h), asio::execution::blocking.never);
            ex.execute([this, h = std::move(h), error, out = std::move(out)]() mutable {
                if (error) {
                    state_ = wstate::failed;
                } else {
                    ++segment_;
                    checkpointed_ = true;
                }
                std::move(h)(error, std::move(out));
            });
        });
    }

private:
    enum class wstate { open, failed, committed, aborted, kept };

    struct published {
        std::exception_ptr error;
        committed_output out;
        wstate next;
    };

    // An attempt that checkpointed, or resumed from a checkpoint, ends with a segment too.
    std::optional<std::uint32_t> final_segment() const {
        if (checkpointed_ || first_segment_ > 0) return segment_;
        return std::nullopt;
    }

    // The final publish, on any thread; does not touch state_.
    published publish_all(const std::vector<staged_chunk>& chunks) {
        try {
            auto out = detail::publish(st_->target, task_, chunks, final_segment(), true);
            if (stager_.created()) detail::remove_all(stager_.dir());
            return {nullptr, std::move(out), wstate::committed};
        } catch (...) {
            // Chunks kept pending are published alone by the next start(): not for segments,
            // whose publish must keep the earlier ones; the retry resumes from the last checkpoint.
            bool kept = !chunks.empty() && !final_segment() && detail::keep_pending(st_->target, task_, stager_.dir(), chunks);
            std::string suffix = kept ? " (records kept in " + (st_->target.spool / "pending" / task_).string() +
                                            " for the next run)"
                                      : "";
            return {sink_failure(std::current_exception(), st_->target.what + ": task " + task_ + ": ", suffix), {},
                    kept ? wstate::kept : wstate::failed};
        }
    }

    static void complete(commit_handler h, std::exception_ptr e, committed_output out) {
        auto ex = asio::prefer(asio::get_associated_executor(h), asio::execution::blocking.never);
        ex.execute([h = std::move(h), e, out = std::move(out)]() mutable { std::move(h)(e, std::move(out)); });
    }

    void require_open(const char* op) const {
        if (state_ == wstate::open) return;
        static constexpr const char* why[] = {"", "after a failure", "after commit", "after abort", "after a failed commit"};
        throw sink_error(st_->target.what + ": " + op + " for task " + task_ + " " + why[static_cast<int>(state_)]);
    }

    std::vector<staged_chunk> finish() {
        try {
            return stager_.finish(final_segment());
        } catch (const std::system_error& e) {
            state_ = wstate::failed;
            throw sink_error(e.what());
        }
    }

    std::shared_ptr<storage_sink::state> st_;
    std::string task_;
    detail::chunk_stager stager_;
    wstate state_ = wstate::open;
    std::uint32_t first_segment_;
    std::uint32_t segment_;        // the next segment to publish
    bool checkpointed_ = false;    // this attempt published a segment
};

}  // namespace

storage_sink::storage_sink(std::shared_ptr<storage> where, storage_sink_options opts)
    : storage_(std::move(where)), opts_(std::move(opts)) {
    if (!storage_) throw config_error("storage sink: no storage");
    std::string what = storage_->name() + " sink";
    if (opts_.compression_level < 0 || opts_.compression_level > 9)
        throw config_error(what + ": compression_level must be 0..9, got " + std::to_string(opts_.compression_level));
    if (opts_.publish_threads == 0) throw config_error(what + ": publish_threads must be at least 1");
    detail::partition_template check(opts_.partition, detail::time_zone(opts_.timezone));  // config_error when bad
}

storage_sink::~storage_sink() { stop(); }

storage_sink::storage_sink(storage_sink&& o) noexcept
    : storage_(std::move(o.storage_)), opts_(std::move(o.opts_)), state_(std::move(o.state_)) {}

storage_sink& storage_sink::operator=(storage_sink&& o) noexcept {
    if (this != &o) {
        stop();
        storage_ = std::move(o.storage_);
        opts_ = std::move(o.opts_);
        state_ = std::move(o.state_);
    }
    return *this;
}

std::string storage_sink::describe() const { return storage_ ? storage_->describe() : std::string("(moved-from sink)"); }

void storage_sink::start(const sink_context& ctx) {
    if (!storage_) throw sink_error("storage sink: start() of a moved-from sink");
    std::string what = storage_->name() + " sink";
    if (state_) throw sink_error(what + " " + describe() + ": already started");
    stdfs::path spool;
    try {
        spool = storage_->start(ctx);
        detail::create_directories(spool / "staging", opts_.fsync);
        detail::create_directories(spool / "pending", opts_.fsync);
        detail::create_directories(spool / "manifests", opts_.fsync);
        // The storage is ours for this run: whatever is left in staging crashed.
        for (const auto& e : stdfs::directory_iterator(spool / "staging")) {
            std::error_code ec;
            stdfs::remove_all(e.path(), ec);
            if (ec) detail::throw_errno("cannot remove leftover staging", e.path(), ec.value());
        }
        for (const auto& e : stdfs::directory_iterator(spool / "manifests"))
            if (detail::is_atomic_write_temp(e.path().filename().string())) detail::remove_file(e.path());
    } catch (const std::system_error& e) {
        storage_->stop();
        throw sink_error(what + ": " + e.what());
    } catch (...) {
        storage_->stop();
        throw;
    }
    auto st = std::make_shared<state>(storage_, stdfs::absolute(spool), opts_);
    state_ = st;

    // Chunks that earlier runs could not publish go first.
    std::vector<stdfs::path> pending;
    for (const auto& e : stdfs::directory_iterator(st->target.spool / "pending")) pending.push_back(e.path());
    std::sort(pending.begin(), pending.end());
    for (const auto& dir : pending) {
        std::string task = dir.filename().string();
        try {
            if (!valid_task_id(task)) throw sink_error("not a task id");
            auto out = detail::publish(st->target, task, detail::read_pending(dir), std::nullopt, false);
            if (ctx.recovered) ctx.recovered(task, out);
        } catch (...) {
            auto error = sink_failure(std::current_exception(),
                                      what + ": cannot publish records an earlier run left in " + dir.string() + ": ");
            stop();
            std::rethrow_exception(error);
        }
    }
}

void storage_sink::stop() noexcept {
    if (!state_) return;
    state_->pool.join();  // publishes in flight end first
    storage_->stop();
    state_.reset();
}

std::unique_ptr<sink_writer> storage_sink::open(const sink_attempt& a) {
    if (!state_) throw sink_error((storage_ ? storage_->name() : "storage") + " sink " + describe() + ": open() before start()");
    const auto& what = state_->target.what;
    std::string task(a.task_id);
    if (!valid_task_id(task)) throw sink_error(what + ": invalid task id \"" + task + "\"");
    detail::stager_options so;
    so.dir = state_->target.spool / "staging" /
             (detail::sanitize_component(a.run_id) + "-" + task + "-" + std::to_string(a.attempt));
    so.task_id = task;
    so.level = opts_.compression_level;
    so.max_records = opts_.max_records;
    so.max_bytes = opts_.max_bytes;
    so.fsync = opts_.fsync;
    // Rare (after a crash): the names of segments the journal does not know, removed before
    // the attempt starts. Blocks the caller for that; without a manifest it reads nothing.
    try {
        detail::take_back_segments(state_->target, task, a.first_segment);
    } catch (...) {
        std::rethrow_exception(sink_failure(std::current_exception(),
                                            what + ": task " + task + ": cannot take back unjournaled checkpoint chunks: "));
    }
    return std::make_unique<storage_writer>(state_, std::move(so), state_->tpl.bind(a.params), a.first_segment);
}

}  // namespace drover
