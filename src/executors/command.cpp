#include "executors/command.hpp"

#include <drover/duration.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fmt/format.h>

namespace drover::detail {

namespace asio = boost::asio;

namespace {

struct collect_io final : attempt_io {
    explicit collect_io(std::size_t max) : max(max) {}
    void on_stdout_line(std::string_view line) override {
        if (out.size() + line.size() + 1 > max) return;
        out.append(line);
        out.push_back('\n');
    }
    void on_stdout_oversized(std::uint64_t, std::string_view head) override { on_stdout_line(head); }
    void on_stderr(std::string_view bytes) override {
        if (err.size() + bytes.size() <= max) err.append(bytes);
    }
    std::size_t max;
    std::string out, err;
};

std::string last_line(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
    auto nl = s.find_last_of('\n');
    if (nl != std::string_view::npos) s.remove_prefix(nl + 1);
    return std::string(s.substr(0, 300));
}

}  // namespace

std::string command_result::problem() const {
    if (timed_out) return "no answer in time (killed)";
    auto err_line = last_line(err);
    std::string what = result.message.empty() ? fmt::format("exit code {}", result.exit_code) : result.message;
    return err_line.empty() ? what : what + ": " + err_line;
}

void run_command(local_executor& runner, asio::any_io_executor ex, command_request req,
                 std::function<void(command_result)> done) {
    struct state {
        task_spec task;
        collect_io io;
        asio::cancellation_signal sig;
        asio::steady_timer deadline;
        bool timed_out = false;
        state(asio::any_io_executor ex, std::size_t max) : io(max), deadline(std::move(ex)) {}
    };
    auto s = std::make_shared<state>(ex, req.max_bytes);
    s->task.id = "command";
    s->task.command = std::move(req.argv);
    s->task.env = std::move(req.env);
    s->deadline.expires_after(req.timeout);
    s->deadline.async_wait([s](boost::system::error_code ec) {
        if (ec) return;
        s->timed_out = true;
        s->sig.emit(asio::cancellation_type::terminal);
    });
    attempt_request areq{s->task, 1, "command"};
    runner.async_execute(ex, areq, s->io,
                         asio::bind_cancellation_slot(s->sig.slot(), [s, done = std::move(done)](execution_result r) {
                             s->deadline.cancel();
                             command_result c{std::move(r), std::move(s->io.out), std::move(s->io.err), s->timed_out};
                             done(std::move(c));
                         }));
}

}  // namespace drover::detail
