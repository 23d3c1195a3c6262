// Checkpoints of an attempt: `{"$drover": {"checkpoint": "TOKEN"}}` on stdout, in order with
// the records. At a checkpoint that is due (the sink's checkpoint_policy), the writer
// publishes everything before it as the attempt's next segment; once that publish is done,
// the dispatcher journals the token (a retry or a resumed run starts from it). One publish
// is in flight at a time: checkpoints meanwhile are coalesced (only the latest token counts,
// and only a due checkpoint publishes), so a task that checkpoints thousands of times a
// second costs one token string, never a queue.

#include "scheduler/attempt.hpp"

#include <drover/error.hpp>

#include <boost/asio/bind_executor.hpp>
#include <boost/json/value.hpp>

namespace drover::detail {

namespace asio = boost::asio;

namespace {
// With neither rotate_interval nor flush_records set, a checkpoint publishes at most this often.
constexpr auto min_publish_interval = std::chrono::seconds(1);
}  // namespace

void attempt_run::checkpoint(const boost::json::value& v) {
    auto fail = [&](const std::string& why) {
        control_error_ = "line " + std::to_string(line_no_) + ": checkpoint: " + why;
    };
    if (!v.is_string()) return fail(R"(the token must be a string, as in {"$drover": {"checkpoint": "page-42"}})");
    const auto& token = v.get_string();
    if (token.empty()) return fail("the token must not be empty");
    if (token.size() > max_checkpoint_token)
        return fail("a token of " + std::to_string(token.size()) + " bytes is over the limit of " +
                    std::to_string(max_checkpoint_token) + " bytes");
    if (token.find('\0') != boost::json::string::npos)
        return fail("the token must not contain NUL (it is passed to the next attempt in DROVER_CHECKPOINT)");
    if (!policy_ || publishing_ || finished_ || !output_error_.empty() || !checkpoint_error_.empty()) return;
    if (checkpoint_due()) publish_checkpoint(std::string(token));
}

bool attempt_run::checkpoint_due() const {
    auto since = std::chrono::steady_clock::now() - last_publish_;
    if (policy_->flush_records && records_ - records_at_publish_ >= policy_->flush_records) return true;
    if (policy_->rotate_interval.count() > 0) return since >= policy_->rotate_interval;
    return !policy_->flush_records && since >= min_publish_interval;
}

void attempt_run::publish_checkpoint(std::string token) {
    publishing_ = true;
    last_publish_ = std::chrono::steady_clock::now();
    records_at_publish_ = records_;
    writer_->async_checkpoint(asio::bind_executor(
        ctx_.strand, [self = shared_from_this(), token = std::move(token)](std::exception_ptr e, committed_output out) {
            self->checkpoint_published(token, e, out);
        }));
}

void attempt_run::checkpoint_published(const std::string& token, std::exception_ptr error, const committed_output& out) {
    publishing_ = false;
    if (error) {
        try {
            std::rethrow_exception(error);
        } catch (const sink_unavailable& e) {
            checkpoint_failure_ = failure_class::sink_unavailable;
            checkpoint_error_ = e.what();
        } catch (const std::exception& e) {
            checkpoint_error_ = std::string("cannot publish at a checkpoint: ") + e.what();
        } catch (...) {
            checkpoint_error_ = "cannot publish at a checkpoint: unknown error";
        }
        // Its output can no longer be published: stop it; the retry resumes from the last checkpoint.
        if (!finished_) cancel_signal_.emit(asio::cancellation_type::terminal);
    } else {
        next_segment_++;
        if (ctx_.on_checkpoint) ctx_.on_checkpoint(token, next_segment_, out);
    }
    if (deferred_) {
        auto o = std::move(*deferred_);
        deferred_.reset();
        complete(std::move(o));
    }
}

}  // namespace drover::detail
