#include "scheduler/attempt.hpp"

#include "scheduler/task_json.hpp"

#include <drover/error.hpp>
#include <drover/duration.hpp>

#include "detail/durations.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/value.hpp>

namespace drover::detail {

namespace asio = boost::asio;

namespace {
constexpr std::size_t max_tail_line = 1000;
// More than this many children from one attempt is taken for a runaway loop.
constexpr std::size_t max_children = 100000;
}

attempt_run::attempt_run(attempt_context ctx, done_fn done)
    : ctx_(std::move(ctx)),
      done_(std::move(done)),
      timeout_timer_(ctx_.strand) {}

attempt_run::~attempt_run() = default;

void attempt_run::start() {
    started_ = std::chrono::steady_clock::now();
    try {
        writer_ = ctx_.output.open({ctx_.run_id, ctx_.task.id, ctx_.attempt, ctx_.task.params, ctx_.first_segment});
        // Twins of a speculating task must not both publish segments: they publish at the end.
        if (!ctx_.claim) policy_ = writer_->checkpoints();
        next_segment_ = ctx_.first_segment;
        last_publish_ = started_;
    } catch (const std::exception& e) {
        attempt_outcome o;
        o.failure = failure_class::output_error;
        o.message = std::string("cannot stage output: ") + e.what();
        asio::post(ctx_.strand, [self = shared_from_this(), o = std::move(o)]() mutable { self->finish(std::move(o)); });
        return;
    }
    arm_timeout();
    attempt_request req{ctx_.task, ctx_.attempt, ctx_.run_id, ctx_.avoid_host};
    ctx_.exec.async_execute(
        ctx_.strand, req, *this,
        asio::bind_cancellation_slot(cancel_signal_.slot(),
                                     asio::bind_executor(ctx_.strand, [self = shared_from_this()](execution_result r) {
                                         self->on_executed(std::move(r));
                                     })));
}

void attempt_run::arm_timeout() {
    // 0 means no timeout; one too large for a timer is "never" (timer_delay saturates).
    if (!ctx_.task.timeout || ctx_.task.timeout->count() <= 0) return;
    timeout_timer_.expires_after(timer_delay(*ctx_.task.timeout));
    timeout_timer_.async_wait([self = shared_from_this(), armed = ++timeouts_armed_](boost::system::error_code ec) {
        // A wait that on_queued cancelled after it had already expired still comes here.
        if (ec || self->finished_ || armed != self->timeouts_armed_) return;
        self->timed_out_ = true;
        self->cancel_signal_.emit(asio::cancellation_type::terminal);
    });
}

void attempt_run::on_queued() {
    if (finished_ || timed_out_ || queued_) return;
    queued_ = true;
    ++timeouts_armed_;  // the armed wait, if any, no longer fires
    timeout_timer_.cancel();
}

void attempt_run::on_running() {
    if (finished_ || !queued_) return;
    queued_ = false;
    arm_timeout();
}

void attempt_run::cancel() {
    if (finished_ || cancelled_) return;
    cancelled_ = true;
    cancel_signal_.emit(asio::cancellation_type::terminal);
}

void attempt_run::on_stdout_line(std::string_view line) {
    ++line_no_;
    if (line.find_first_not_of(" \t") == std::string_view::npos) return;  // blank lines are not records
    boost::system::error_code ec;
    ctx_.parser.reset();
    ctx_.parser.write(line.data(), line.size(), ec);
    if (ec) return bad("not valid JSON: " + ec.message(), line, line.size());
    boost::json::value v = ctx_.parser.release();
    if (!v.is_object()) return bad("not a JSON object", line, line.size());
    if (ctx_.task.control_lines && v.get_object().size() == 1 && v.get_object().contains("$drover"))
        return control(v.get_object().at("$drover"));
    ++records_;
    if (!output_error_.empty()) return;  // the attempt already failed to stage; it will be retried
    try {
        writer_->write(record{line, v.get_object()});
    } catch (const record_rejected& e) {
        --records_;  // not published: a bad record, kept with the sink's reason
        bad(e.what(), line, line.size());
    } catch (const std::exception& e) {
        output_error_ = e.what();
    }
}

// A control line: {"$drover": {"submit": {task}}} or {"$drover": {"checkpoint": "TOKEN"}}. The
// first invalid one fails the attempt.
void attempt_run::control(const boost::json::value& v) {
    if (!control_error_.empty()) return;
    auto fail = [&](const std::string& why) { control_error_ = "line " + std::to_string(line_no_) + ": " + why; };
    if (!v.is_object() || v.get_object().size() != 1)
        return fail(R"(a control line is {"$drover": {"submit": {...}}} or {"$drover": {"checkpoint": "TOKEN"}})");
    const auto& [verb, body] = *v.get_object().begin();
    if (verb == "checkpoint") return checkpoint(body);
    if (verb != "submit") return fail("unknown control verb '" + std::string(verb) + "' (known: submit, checkpoint)");
    if (!body.is_object()) return fail("submit: must be an object (a task: id, command, ...)");
    if (children_.size() >= max_children)
        return fail("more than " + std::to_string(max_children) + " tasks fanned out by one attempt");
    try {
        children_.push_back({task_from_json(body.get_object(), ctx_.defaults), line_no_, {}, {}});
    } catch (const config_error& e) {
        fail("submit: " + std::string(e.what()));
    }
}

void attempt_run::on_stdout_oversized(std::uint64_t length, std::string_view head) {
    ++line_no_;
    bad("line of " + std::to_string(length) + " bytes exceeds the executor's limit", head, length);
}

void attempt_run::bad(std::string_view error, std::string_view text, std::uint64_t length) {
    ++bad_records_;
    try {
        if (!bad_log_) bad_log_ = std::make_unique<bad_record_log>(ctx_.files, ctx_.task.id, ctx_.attempt);
        bad_log_->add(line_no_, error, text, length);  // the cap may drop it, counted
    } catch (const std::exception& e) {
        // A bad record that cannot be kept must not vanish: fail the attempt instead.
        if (output_error_.empty()) output_error_ = e.what();
    }
    auto limit = ctx_.files.limits().max_bad_records;
    if (limit && bad_records_ > limit && !too_many_bad_ && !finished_) {
        too_many_bad_ = true;  // its output is not what it should be: stop it now
        cancel_signal_.emit(asio::cancellation_type::terminal);
    }
}

void attempt_run::on_stderr(std::string_view bytes) {
    if (bytes.empty()) return;
    if (!log_)
        log_ = std::make_unique<stderr_log>(ctx_.files, ctx_.task.id, ctx_.attempt,
                                            ctx_.files.limits().stderr_log_bytes);
    log_->write(bytes);  // never fails: a full disk must not fail the task
    // Keep the last lines for the outcome (and the dead letter).
    for (char c : bytes) {
        if (c == '\n') {
            keep_tail_line();
        } else if (tail_partial_.size() < max_tail_line) {
            tail_partial_.push_back(c);
        }
    }
}

void attempt_run::keep_tail_line() {
    if (ctx_.tail_lines == 0) {
        tail_partial_.clear();
    } else if (tail_.size() < ctx_.tail_lines) {
        tail_.push_back(std::move(tail_partial_));
    } else {
        tail_[tail_next_] = std::move(tail_partial_);
        tail_next_ = (tail_next_ + 1) % tail_.size();
    }
    tail_partial_.clear();
}

void attempt_run::on_executed(execution_result r) {
    attempt_outcome o;
    o.failure = r.failure;
    o.exit_code = r.exit_code;
    o.signal = r.signal;
    o.message = std::move(r.message);
    if (!checkpoint_error_.empty()) {
        // finish() reports the publish that failed (the task was killed for it).
    } else if (timed_out_) {
        o.failure = failure_class::timeout;
        o.message = "timed out after " + format_duration(*ctx_.task.timeout);
    } else if (cancelled_) {
        o.failure = failure_class::cancelled;
        o.message = "cancelled";
    } else if (too_many_bad_) {
        o.failure = failure_class::output_error;
        o.message = "more than " + std::to_string(ctx_.files.limits().max_bad_records) +
                    " bad records (limits.max_bad_records)";
    } else if (o.ok() && !output_error_.empty()) {
        o.failure = failure_class::output_error;
        o.message = "cannot stage records: " + output_error_;
    } else if (o.ok() && !control_error_.empty()) {
        o.failure = failure_class::control_error;
        o.message = control_error_;
    }
    finish(std::move(o));
}

void attempt_run::finish(attempt_outcome o) {
    if (finished_) return;
    finished_ = true;
    timeout_timer_.cancel();
    if (publishing_) {
        deferred_ = std::make_unique<attempt_outcome>(std::move(o));  // checkpoint_published() goes on
        return;
    }
    complete(std::move(o));
}

void attempt_run::complete(attempt_outcome o) {
    if (!checkpoint_error_.empty()) {
        o.failure = checkpoint_failure_;
        o.message = checkpoint_error_;
    }
    if (log_) log_->close();
    try {
        if (bad_log_) bad_log_->finish();  // the kept tail and the count of what was dropped
    } catch (const std::exception& e) {
        if (o.ok()) {
            o.failure = failure_class::output_error;
            o.message = std::string("cannot keep bad records: ") + e.what();
        }
    }
    if (!tail_partial_.empty()) keep_tail_line();
    o.attempt = ctx_.attempt;
    o.executor = ctx_.exec.name();
    o.records = records_;
    o.bad_records = bad_records_;
    o.stderr_tail.reserve(tail_.size());
    for (std::size_t k = 0; k < tail_.size(); ++k) o.stderr_tail.push_back(std::move(tail_[(tail_next_ + k) % tail_.size()]));
    o.elapsed = std::chrono::duration_cast<duration>(std::chrono::steady_clock::now() - started_);
    if (o.ok() && ctx_.claim && !ctx_.claim()) {
        o.failure = failure_class::cancelled;
        o.message = "superseded: another attempt of the task succeeded first; its output is discarded";
    }
    // Children exist only with the parent's success: admitted (ids reserved) before the commit.
    std::vector<child_task> children;
    if (o.ok() && !children_.empty()) {
        if (auto problem = ctx_.admit(children_)) {
            o.failure = failure_class::control_error;
            o.message = *problem;
        } else {
            children = std::move(children_);
        }
    }
    if (writer_ && o.ok()) {
        // The writer stays alive in the handler until the commit completes.
        auto* w = writer_.get();
        if (ctx_.on_released) ctx_.on_released();
        w->async_commit(asio::bind_executor(
            ctx_.strand, [self = shared_from_this(), o = std::move(o), children = std::move(children),
                          asked = std::chrono::steady_clock::now()](std::exception_ptr error, committed_output out) mutable {
                self->commit_time_ = std::chrono::duration_cast<duration>(std::chrono::steady_clock::now() - asked);
                if (error) {
                    out = {};
                    self->writer_->abort();
                    o.failure = failure_class::output_error;
                    try {
                        std::rethrow_exception(error);
                    } catch (const sink_unavailable& e) {
                        o.failure = failure_class::sink_unavailable;
                        o.message = e.what();
                    } catch (const std::exception& e) {
                        o.message = std::string("cannot commit records: ") + e.what();
                    } catch (...) {
                        o.message = "cannot commit records: unknown error";
                    }
                }
                self->writer_.reset();
                self->done_(std::move(o), std::move(out), std::move(children));
            }));
        return;
    }
    if (writer_) {
        writer_->abort();
        writer_.reset();
    }
    done_(std::move(o), committed_output{}, std::move(children));
}

}  // namespace drover::detail
