#pragma once
// A file sink whose commits take `delay` each, like a store across a network; the first
// commit of each task in `fail_once` fails. For tests of commits that overlap the next task
// (tests/scheduler/commit_overlap_test.cpp, the service's counts in tests/service/api_test.cpp).

#include <drover/sink.hpp>
#include <drover/sinks/file.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>

namespace drover::test {

class slow_commit_sink final : public sink {
public:
    slow_commit_sink(file_sink_options o, std::chrono::milliseconds delay, std::set<std::string> fail_once = {})
        : inner_(std::make_shared<file_sink>(std::move(o))), delay_(delay), fail_once_(std::move(fail_once)) {}

    std::string describe() const override { return inner_->describe(); }
    void start(const sink_context& ctx) override {
        ex_ = ctx.io_ex;
        inner_->start(ctx);
    }
    void stop() noexcept override {
        inner_->stop();
        ex_ = {};  // the run's strand goes with its run
    }
    std::unique_ptr<sink_writer> open(const sink_attempt& a) override {
        return std::make_unique<writer>(*this, inner_->open(a), std::string(a.task_id));
    }

    std::atomic<int> in_commit{0}, most_in_commit{0};

private:
    class writer final : public sink_writer {
    public:
        writer(slow_commit_sink& s, std::unique_ptr<sink_writer> w, std::string task)
            : s_(s), w_(std::move(w)), task_(std::move(task)) {}
        void write(const record& r) override { w_->write(r); }
        committed_output commit() override { return w_->commit(); }
        void abort() noexcept override { w_->abort(); }
        void async_commit(commit_handler h) override {
            int now = ++s_.in_commit;
            for (int m = s_.most_in_commit; now > m && !s_.most_in_commit.compare_exchange_weak(m, now);) {
            }
            auto timer = std::make_shared<boost::asio::steady_timer>(s_.ex_, s_.delay_);
            timer->async_wait([this, timer, h = std::move(h)](boost::system::error_code) mutable {
                --s_.in_commit;
                if (s_.fail_once_.erase(task_)) {
                    w_->abort();
                    boost::asio::post(s_.ex_, [h = std::move(h)]() mutable {
                        std::move(h)(std::make_exception_ptr(sink_error("the store refused it")), committed_output{});
                    });
                    return;
                }
                w_->async_commit(std::move(h));
            });
        }

    private:
        slow_commit_sink& s_;
        std::unique_ptr<sink_writer> w_;
        std::string task_;
    };

    std::shared_ptr<file_sink> inner_;
    std::chrono::milliseconds delay_;
    std::set<std::string> fail_once_;
    boost::asio::any_io_executor ex_;
};

}  // namespace drover::test
