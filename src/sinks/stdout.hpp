#pragma once
// The sink of `drover exec` without --out: each task's records go to a stream (stdout) when
// its attempt commits, all of a task's records together, never interleaved with another
// task's (what `parallel --group` does for output). Exactly once within a run: a failed
// attempt's records are discarded. Tasks that succeeded in an earlier run of a resumed state
// directory are not printed again.

#include <drover/sink.hpp>

#include <cstdio>
#include <memory>
#include <mutex>

namespace drover::detail {

class stream_sink final : public sink {
public:
    /// `out` must outlive the sink (stdout does).
    explicit stream_sink(std::FILE* out = stdout);

    std::string describe() const override;
    void start(const sink_context& ctx) override;
    void stop() noexcept override;
    std::unique_ptr<sink_writer> open(const sink_attempt& a) override;

private:
    std::FILE* out_;
    std::shared_ptr<std::mutex> lock_;  // one task's records at a time
};

}  // namespace drover::detail
