#include "executors/host_source.hpp"

#include <drover/duration.hpp>
#include <drover/executors/local.hpp>

#include "detail/utf8.hpp"
#include "executors/host_fleet.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace drover::detail {

namespace asio = boost::asio;

namespace {
constexpr std::size_t max_list_bytes = 1u << 20;
constexpr std::size_t max_host_bytes = 1024;

bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }
}  // namespace

host_list parse_host_list(std::string_view text, const std::function<std::string(const std::string&)>& check) {
    host_list out;
    std::set<std::string> seen;
    std::size_t line = 0;
    while (!text.empty()) {
        ++line;
        auto nl = text.find('\n');
        auto row = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        while (!row.empty()) {
            while (!row.empty() && blank(row.front())) row.remove_prefix(1);
            if (row.empty() || row.front() == '#') break;
            std::size_t n = 0;
            while (n < row.size() && !blank(row[n])) ++n;
            auto word = row.substr(0, n);
            row.remove_prefix(n);
            std::string why;
            if (word.size() > max_host_bytes) why = fmt::format("a host of {} bytes (at most {})", word.size(), max_host_bytes);
            else if (std::any_of(word.begin(), word.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
                why = "a control character in a host";
            else if (!seen.count(std::string(word))) why = check(std::string(word));
            if (!why.empty()) {
                out.errors.push_back({line, std::move(why)});
                continue;
            }
            if (seen.insert(std::string(word)).second) out.hosts.emplace_back(word);
        }
    }
    return out;
}

namespace {

// Collects the command's stdout lines and the tail of its stderr.
struct list_io final : attempt_io {
    std::string out, err;
    bool too_big = false;
    void on_stdout_line(std::string_view l) override {
        if (out.size() + l.size() + 1 > max_list_bytes) too_big = true;
        else out.append(l).push_back('\n');
    }
    void on_stdout_oversized(std::uint64_t, std::string_view) override { too_big = true; }
    void on_stderr(std::string_view b) override {
        err.append(b);
        if (err.size() > 4096) err.erase(0, err.size() - 4096);
    }
};

}  // namespace

std::string last_line(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
    auto nl = text.rfind('\n');
    return std::string(nl == std::string_view::npos ? text : text.substr(nl + 1));
}


struct host_source::impl : std::enable_shared_from_this<impl> {
    kind what;
    std::weak_ptr<host_fleet> fleet;
    host_pool_options opts;
    asio::any_io_executor ex;
    asio::steady_timer timer;
    local_executor runner{local_executor_options{.slots = 4, .kill_grace = std::chrono::milliseconds(1000)}};
    std::shared_ptr<asio::cancellation_signal> running;  // the command's run in flight
    std::chrono::steady_clock::time_point run_started;    // of the command's last run
    bool stopped = false;
    std::string failing;  // why the last read or run failed (each new reason reported once)
    std::set<std::string> reported;  // the bad lines of the last list
    struct stat last{};
    bool have_last = false;

    impl(kind k, std::weak_ptr<host_fleet> f, const host_pool_options& o, asio::any_io_executor e)
        : what(k), fleet(std::move(f)), opts(o), ex(e), timer(e) {}

    std::string name() const {
        return what == file ? "hosts file " + opts.hosts_file : "hosts_command " + opts.hosts_command.front();
    }

    void report(const std::string& msg) const {
        if (auto f = fleet.lock()) f->report(msg);
    }

    void failed(const std::string& why) {
        if (failing != why) report(fmt::format("{}: {}; keeping the last list of hosts", name(), why));
        failing = why;
    }

    void listed(std::string_view text) {
        auto f = fleet.lock();
        if (!f) return;
        auto list = parse_host_list(text, [&](const std::string& s) { return f->check_line(s); });
        // Each bad line is reported once, not at every refresh that lists it again.
        std::set<std::string> errors;
        for (auto& e : list.errors) {
            auto msg = what == file ? fmt::format("{}:{}: {}", opts.hosts_file, e.line, e.message)
                                    : fmt::format("{}: line {} of its output: {}", name(), e.line, e.message);
            if (!reported.count(msg)) report(msg);
            errors.insert(std::move(msg));
        }
        reported = std::move(errors);
        if (!failing.empty()) report(name() + " works again");
        failing.clear();
        f->source_listed(what, list.hosts);
    }

    // ---- the file: checked 4 times a second (a stat), read when it changed ----

    void poll() {
        if (stopped) return;
        struct stat st{};
        if (::stat(opts.hosts_file.c_str(), &st) != 0) {
            failed(std::strerror(errno));
            have_last = false;
        } else if (!have_last || st.st_ino != last.st_ino || st.st_size != last.st_size ||
                   st.st_mtim.tv_sec != last.st_mtim.tv_sec || st.st_mtim.tv_nsec != last.st_mtim.tv_nsec ||
                   st.st_ctim.tv_nsec != last.st_ctim.tv_nsec) {
            read_file(st);
        }
        auto every = std::min<duration>(opts.hosts_refresh, std::chrono::milliseconds(250));
        timer.expires_after(std::max<duration>(every, std::chrono::milliseconds(10)));
        timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) self->poll();
        });
    }

    void read_file(const struct stat& st) {
        if (!S_ISREG(st.st_mode)) return failed("not a regular file");
        if (static_cast<std::size_t>(st.st_size) > max_list_bytes)
            return failed(fmt::format("{} bytes (at most {})", st.st_size, max_list_bytes));
        int fd = ::open(opts.hosts_file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) return failed(std::strerror(errno));
        std::string text;
        char buf[65536];
        for (;;) {
            auto n = ::read(fd, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0 || text.size() + static_cast<std::size_t>(n) > max_list_bytes) break;
            text.append(buf, static_cast<std::size_t>(n));
        }
        ::close(fd);
        last = st;
        have_last = true;
        listed(text);
    }

    // ---- the command: run every hosts_refresh, killed after hosts_timeout ----

    void run_command() {
        if (stopped) return;
        run_started = std::chrono::steady_clock::now();
        auto task = std::make_shared<task_spec>();
        task->id = "hosts-command";
        task->command = opts.hosts_command;
        auto io = std::make_shared<list_io>();
        auto sig = running = std::make_shared<asio::cancellation_signal>();
        auto deadline = std::make_shared<asio::steady_timer>(ex);
        auto timed_out = std::make_shared<bool>(false);
        deadline->expires_after(opts.hosts_timeout);
        deadline->async_wait([sig, timed_out](boost::system::error_code ec) {
            if (ec) return;
            *timed_out = true;
            sig->emit(asio::cancellation_type::terminal);
        });
        attempt_request req{*task, 1, "hosts"};
        runner.async_execute(ex, req, *io,
                             asio::bind_cancellation_slot(sig->slot(), [self = shared_from_this(), task, io, sig, deadline,
                                                                        timed_out](execution_result r) {
                                 deadline->cancel();
                                 self->command_done(r, *io, *timed_out);
                             }));
    }

    void command_done(const execution_result& r, const list_io& io, bool timed_out) {
        running.reset();
        if (stopped) return;
        if (timed_out) failed(fmt::format("no answer within {}", format_duration(opts.hosts_timeout)));
        else if (r.failure == failure_class::spawn_error) failed(r.message);
        else if (r.failure != failure_class::none) {
            auto err = last_line(io.err);
            failed(fmt::format("{}{}", r.message.empty() ? fmt::format("exit code {}", r.exit_code) : r.message,
                               err.empty() ? "" : ": " + terminal_safe(err)));
        } else if (io.too_big) failed(fmt::format("more than {} bytes of output", max_list_bytes));
        else listed(io.out);
        // Runs start hosts_refresh apart (not hosts_refresh after the last one ended), so a
        // change waits at most hosts_refresh for a run that sees it; a run that took longer
        // than that is followed at once.
        timer.expires_at(run_started + opts.hosts_refresh);
        timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (!ec) self->run_command();
        });
    }
};

host_source::host_source(kind k, std::weak_ptr<host_fleet> fleet, const host_pool_options& opts, asio::any_io_executor ex)
    : impl_(std::make_shared<impl>(k, std::move(fleet), opts, std::move(ex))) {}

host_source::~host_source() { stop(); }

void host_source::start() {
    if (impl_->what == file) impl_->poll();
    else impl_->run_command();
}

void host_source::stop() noexcept {
    if (!impl_ || impl_->stopped) return;
    impl_->stopped = true;
    impl_->timer.cancel();
    if (impl_->running) impl_->running->emit(asio::cancellation_type::terminal);
}

std::string host_source::name() const { return impl_->name(); }

}  // namespace drover::detail
