#include "alerts/alerts.hpp"

#include "detail/secrets.hpp"

#include <drover/error.hpp>
#include <drover/summary.hpp>

#include "detail/utf8.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <set>
#include <cctype>

namespace drover::detail {

namespace json = boost::json;

std::pair<http::endpoint, std::string> parse_webhook_url(std::string_view url) {
    auto u = http::parse_http_url(url, "webhook");  // messages name only the scheme and host
    return {std::move(u.ep), std::move(u.target)};
}

std::string redact(std::string text, const std::vector<std::string>& secrets) {
    for (const auto& s : secrets) {
        if (s.empty()) continue;
        for (auto pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 10))
            text.replace(pos, s.size(), "[redacted]");
    }
    return text;
}

std::string redact(std::string text, const std::vector<std::string>& secrets, bool cut_front, bool cut_back) {
    text = redact(std::move(text), secrets);
    if (cut_front && cut_back && !text.empty())  // cut out of the middle of one
        for (const auto& s : secrets)
            if (s.find(text) != std::string::npos) return "[redacted]";
    // The longest part of a secret (short of the whole, replaced above) at the cut.
    auto longest = [&](auto matches) {
        std::size_t best = 0;
        for (const auto& s : secrets)
            for (auto n = std::min(s.empty() ? 0 : s.size() - 1, text.size()); n > best; --n)
                if (matches(s, n)) {
                    best = n;
                    break;
                }
        return best;
    };
    if (cut_front) {
        auto n = longest([&](const std::string& s, std::size_t k) { return text.compare(0, k, s, s.size() - k, k) == 0; });
        if (n) text.replace(0, n, "[redacted]");
    }
    if (cut_back) {
        auto n = longest([&](const std::string& s, std::size_t k) { return text.compare(text.size() - k, k, s, 0, k) == 0; });
        if (n) text.replace(text.size() - n, n, "[redacted]");
    }
    return text;
}

std::vector<std::string> secret_values(const std::map<std::string, std::string>& env) {
    std::vector<std::string> out;
    for (const auto& [name, value] : env)
        if (detail::is_secret_env(name, value)) out.push_back(value);
    // Longest first, so a secret containing another is replaced whole.
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    return out;
}

std::vector<std::string> secret_values(const job& j) {
    std::set<std::string> found;
    auto scan = [&](const std::map<std::string, std::string>& env) {
        for (auto& v : secret_values(env)) found.insert(std::move(v));
    };
    scan(j.options.defaults.env);
    for (const auto& t : j.tasks) scan(t.env);
    std::vector<std::string> out(found.begin(), found.end());
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
    return out;
}

alerter::alerter(std::string job_name, alert_config cfg, log_fn log, std::optional<std::chrono::milliseconds> timeout)
    : job_(std::move(job_name)) {
    http::endpoint endpoint;
    std::string target;
    if (!cfg.webhook.empty()) std::tie(endpoint, target) = parse_webhook_url(cfg.webhook);
    auto limit = timeout.value_or(cfg.timeout);
    queue_ = std::make_unique<alert_queue>(std::move(cfg), std::move(endpoint), std::move(target), std::move(log), limit);
}

alerter::~alerter() = default;

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
    // Many dead tasks at once: beyond 1,000 waiting, task alerts are dropped (the
    // run_failed alert still counts them all).
    queue_->push("task_dead", to_json_text(j), true);
}

void alerter::on_run_finished(const run_summary& s) {
    if (s.ok()) return;
    json::object j;
    j["event"] = "run_failed";
    j["job"] = job_;
    j["run_id"] = s.run_id;
    j["cancelled"] = s.cancelled;
    j["halted"] = s.halted;
    if (s.halted) j["halt_reason"] = s.halt_reason;
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
    queue_->push("run_failed", to_json_text(j), false);
}

}  // namespace drover::detail
