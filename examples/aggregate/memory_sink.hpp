#pragma once
// A drover sink that keeps committed records in memory: the aggregation's count tasks
// print one small record each, and the merge wants them in this process, not in files.
// Same contract as every sink: an attempt's records become visible only at commit, so a
// failed or retried count task never contributes twice.

#include <drover/sink.hpp>

#include <boost/json.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace aggregate {

class memory_sink final : public drover::sink {
public:
    /// Committed records by task id (a re-commit of a task replaces its records).
    using store = std::map<std::string, std::vector<std::string>>;

    memory_sink() : store_(std::make_shared<shared>()) {}

    std::string describe() const override { return "memory"; }
    void start(const drover::sink_context&) override {}
    void stop() noexcept override {}

    std::unique_ptr<drover::sink_writer> open(const drover::sink_attempt& a) override {
        return std::make_unique<writer>(store_, std::string(a.task_id));
    }

    store records() const {
        std::lock_guard lock(store_->mutex);
        return store_->records;
    }

private:
    struct shared {
        std::mutex mutex;
        store records;
    };

    class writer final : public drover::sink_writer {
    public:
        writer(std::shared_ptr<shared> s, std::string task) : store_(std::move(s)), task_(std::move(task)) {}
        void write(const drover::record& r) override { staged_.emplace_back(r.json); }
        drover::committed_output commit() override {
            drover::committed_output out{{"memory:" + task_}, staged_.size(), 0};
            for (auto& s : staged_) out.bytes += s.size();
            std::lock_guard lock(store_->mutex);
            store_->records[task_] = std::move(staged_);
            return out;
        }
        void abort() noexcept override { staged_.clear(); }

    private:
        std::shared_ptr<shared> store_;
        std::string task_;
        std::vector<std::string> staged_;
    };

    std::shared_ptr<shared> store_;
};

}  // namespace aggregate
