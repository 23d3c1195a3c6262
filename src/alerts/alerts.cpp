#include "alerts/alerts.hpp"

#include <drover/error.hpp>
#include <drover/summary.hpp>

#include "detail/safe_url.hpp"
#include "detail/utf8.hpp"
#include "http/client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <pthread.h>
#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace drover::detail {

namespace json = boost::json;

std::pair<http::endpoint, std::string> parse_webhook_url(std::string_view url) {
    std::string shown = "webhook " + url_for_message(url);
    if (!(url.starts_with("http://") || url.starts_with("https://")))
        throw config_error(shown + ": must be an http:// or https:// URL");
    auto scheme = url.find("://");
    auto slash = url.find('/', scheme + 3);
    std::string_view base = slash == std::string_view::npos ? url : url.substr(0, slash);
    std::string target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    if (url_has_userinfo(url)) throw config_error(shown + ": credentials (user:password@) in the URL are not supported");
    for (char c : target)
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
            throw config_error(shown + ": the path has spaces or control characters (percent-encode them)");
    try {
        return {http::parse_endpoint(base), target};
    } catch (const config_error& e) {
        throw config_error("webhook: " + std::string(e.what()));  // names only the endpoint
    }
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
    for (const auto& s : secrets) {
        if (s.empty()) continue;
        for (auto pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 10))
            text.replace(pos, s.size(), "[redacted]");
    }
    return text;
}

std::vector<std::string> secret_values(const std::map<std::string, std::string>& env) {
    static const char* marks[] = {"KEY", "SECRET", "TOKEN", "PASSW", "CREDENTIAL", "AUTH", "PRIVATE"};
    std::vector<std::string> out;
    for (const auto& [name, value] : env) {
        std::string upper;
        for (char c : name) upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
        bool secret = std::any_of(std::begin(marks), std::end(marks),
                                  [&](const char* m) { return upper.find(m) != std::string::npos; });
        if (secret && value.size() >= 4) out.push_back(value);
    }
    // Longest first, so a secret containing another is replaced whole.
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    return out;
}

alerter::alerter(std::string job_name, alert_config cfg, log_fn log, std::chrono::milliseconds timeout)
    : job_(std::move(job_name)), cfg_(std::move(cfg)), log_(std::move(log)), timeout_(timeout) {
    if (!cfg_.webhook.empty()) std::tie(endpoint_, target_) = parse_webhook_url(cfg_.webhook);
    thread_ = std::thread([this] { worker(); });
}

alerter::~alerter() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void alerter::on_task_finished(const task_spec& t, const attempt_outcome& o, task_state next) {
    if (next != task_state::dead) return;
    auto secrets = secret_values(t.env);
    json::object j;
    j["event"] = "task_dead";
    j["job"] = job_;
    j["task"] = t.id;
    json::array cmd;
    for (const auto& a : t.command) cmd.emplace_back(redact(a, secrets));
    j["command"] = std::move(cmd);
    j["attempt"] = o.attempt;
    j["failure"] = std::string(to_string(o.failure));
    j["message"] = redact(o.message, secrets);
    if (o.exit_code >= 0) j["exit_code"] = o.exit_code;
    if (o.signal) j["signal"] = o.signal;
    j["executor"] = o.executor;
    json::array tail;
    for (const auto& l : o.stderr_tail) tail.emplace_back(redact(l, secrets));
    j["stderr_tail"] = std::move(tail);
    {
        std::lock_guard lock(mutex_);
        queue_.emplace_back("task_dead", to_json_text(j));
    }
    cv_.notify_all();
}

void alerter::on_run_finished(const run_summary& s) {
    if (s.ok()) return;
    json::object j;
    j["event"] = "run_failed";
    j["job"] = job_;
    j["run_id"] = s.run_id;
    j["cancelled"] = s.cancelled;
    j["halted"] = s.halted;
    j["total"] = s.counts.total;
    j["succeeded"] = s.counts.succeeded;
    j["dead"] = s.counts.dead;
    j["upstream_failed"] = s.counts.upstream_failed;
    j["skipped"] = s.counts.skipped;
    json::array dead;
    for (const auto& t : s.tasks)
        if (t.state == task_state::dead && dead.size() < 100) dead.emplace_back(t.id);
    j["dead_tasks"] = std::move(dead);
    j["run_dir"] = s.run_dir.string();
    {
        std::lock_guard lock(mutex_);
        queue_.emplace_back("run_failed", to_json_text(j));
    }
    cv_.notify_all();
}

void alerter::drain() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return queue_.empty() && in_flight_ == 0; });
}

std::size_t alerter::sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
}

std::size_t alerter::failed() const {
    std::lock_guard lock(mutex_);
    return failed_;
}

void alerter::worker() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    std::unique_lock lock(mutex_);
    for (;;) {
        cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;
        auto [event, payload] = std::move(queue_.front());
        queue_.pop_front();
        ++in_flight_;
        lock.unlock();
        deliver(event, payload);
        lock.lock();
        --in_flight_;
        cv_.notify_all();
    }
}

void alerter::deliver(const std::string& event, const std::string& payload) {
    bool ok_cmd = cfg_.command.empty() || run_command(event, payload);
    bool ok_hook = cfg_.webhook.empty() || post_webhook(payload);
    std::lock_guard lock(mutex_);
    sent_ += (!cfg_.command.empty() && ok_cmd) + (!cfg_.webhook.empty() && ok_hook);
    failed_ += !ok_cmd + !ok_hook;
}

// The command gets the payload on stdin and DROVER_ALERT_EVENT in its environment; it is
// killed when it outlives the timeout.
bool alerter::run_command(const std::string& event, const std::string& payload) {
    int in[2];
    if (::pipe2(in, O_CLOEXEC) != 0) {
        log_("on_failure command: pipe: " + std::string(std::strerror(errno)));
        return false;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    std::vector<std::string> env_storage;
    for (char** e = environ; *e; ++e) env_storage.emplace_back(*e);
    env_storage.push_back("DROVER_ALERT_EVENT=" + event);
    std::vector<char*> envp;
    for (auto& e : env_storage) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<char*> argv;
    for (auto& a : cfg_.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    if (rc != 0) {
        ::close(in[1]);
        log_("on_failure command '" + cfg_.command[0] + "' cannot start: " + std::strerror(rc));
        return false;
    }
    // Write the payload (a command that does not read it gives EPIPE, which is fine). SIGPIPE
    // is blocked in this thread (worker()); a pending one is consumed so it never fires later.
    for (std::string_view rest = payload; !rest.empty();) {
        ssize_t n = ::write(in[1], rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (errno == EPIPE) {
                sigset_t pipe_set;
                sigemptyset(&pipe_set);
                sigaddset(&pipe_set, SIGPIPE);
                timespec zero{0, 0};
                (void)::sigtimedwait(&pipe_set, nullptr, &zero);
            }
            break;
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    ::close(in[1]);
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            log_("on_failure command '" + cfg_.command[0] + "' killed after " +
                 std::to_string(timeout_.count()) + " ms");
            return false;
        }
        ::poll(nullptr, 0, 10);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
    log_("on_failure command '" + cfg_.command[0] + "' failed: " +
         (WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                            : "signal " + std::to_string(WTERMSIG(status))));
    return false;
}

bool alerter::post_webhook(const std::string& payload) {
    boost::asio::io_context ctx;
    http::client_options o;
    o.target = endpoint_;
    o.connect_timeout = timeout_;
    o.request_timeout = timeout_;
    http::client c(ctx.get_executor(), o);
    http::request req;
    req.method = boost::beast::http::verb::post;
    req.target = target_;
    req.headers = {{"Content-Type", "application/json"}};
    req.body = payload;
    http::result res;
    c.async_request(std::move(req), [&](http::result r) { res = std::move(r); });
    ctx.run();
    // The URL's path and query may carry a token: name only the endpoint in messages.
    std::string where = "on_failure webhook " + endpoint_.to_string();
    if (!res) {
        log_(where + ": " + res.error);
        return false;
    }
    if (res.res.status < 200 || res.res.status >= 300) {
        log_(where + ": HTTP " + std::to_string(res.res.status) + " " + res.res.reason + ": " +
             res.res.body.substr(0, 200));
        return false;
    }
    return true;
}

}  // namespace drover::detail
