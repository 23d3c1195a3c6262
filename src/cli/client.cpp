#include "cli/client.hpp"

#include <drover/job_file.hpp>
#include <drover/service_client.hpp>

#include "alerts/alerts.hpp"
#include "cron/service.hpp"
#include "detail/utf8.hpp"
#include "service/journal_views.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

namespace drover::cli {

namespace json = boost::json;
using detail::terminal_safe;

namespace {

std::string env_or(const char* name, std::string fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::string(v) : fallback;
}

std::string read_token(const std::string& file) {
    std::ifstream in(file);
    if (!in) throw config_error("cannot read the token file " + file);
    std::string t;
    std::getline(in, t);
    while (!t.empty() && (t.back() == '\r' || t.back() == ' ' || t.back() == '\t')) t.pop_back();
    if (t.empty()) throw config_error("the token file " + file + " is empty");
    return t;
}

service_client_options client_options(const client_args& c) {
    service_client_options o;
    o.url = c.url.empty() ? env_or("DROVER_URL", "http://127.0.0.1:8080") : c.url;
    auto file = c.token_file.empty() ? env_or("DROVER_TOKEN_FILE", "") : c.token_file;
    o.token = file.empty() ? env_or("DROVER_TOKEN", "") : read_token(file);
    o.ca_file = c.ca_file;
    return o;
}

std::string str(const json::value& v) {
    if (v.is_string()) return terminal_safe(v.get_string());
    if (v.is_int64()) return std::to_string(v.get_int64());
    if (v.is_null()) return "-";
    return terminal_safe(json::serialize(v));
}

std::string when(const json::value& ms) {
    if (!ms.is_int64()) return "-";
    return detail::format_utc(std::chrono::sys_seconds(std::chrono::seconds(ms.get_int64() / 1000)));
}

std::string took(const json::value& from, const json::value& to) {
    if (!from.is_int64() || !to.is_int64()) return "-";
    return fmt::format("{:.1f}s", double(to.get_int64() - from.get_int64()) / 1000.0);
}

void print_runs(const json::value& v) {
    fmt::print("{:<24} {:<12} {:<21} {:>9} {:>7} {:>9} {:>6} {:>9}\n", "RUN", "STATUS", "STARTED", "TOOK", "TASKS",
               "SUCCEEDED", "DEAD", "RECORDS");
    for (auto& r : v.at("runs").as_array())
        fmt::print("{:<24} {:<12} {:<21} {:>9} {:>7} {:>9} {:>6} {:>9}\n", str(r.at("run_id")), str(r.at("status")),
                   when(r.at("started_ms")), took(r.at("started_ms"), r.at("finished_ms")), str(r.at("total")),
                   str(r.at("succeeded")), str(r.at("dead")), str(r.at("records")));
}

void print_task(const json::value& t) {
    fmt::print("{}: {} after {} attempt(s)", str(t.at("id")), str(t.at("state")), str(t.at("attempts").as_array().size()));
    if (!t.at("message").is_null() && !t.at("message").as_string().empty()) fmt::print(": {}", str(t.at("message")));
    fmt::print("\n");
    for (auto& a : t.at("attempts").as_array()) {
        fmt::print("\nrun {} attempt {} on {} at {}: {}", str(a.at("run_id")), str(a.at("attempt")), str(a.at("executor")),
                   when(a.at("started_ms")),
                   a.at("finished_ms").is_null() ? "running"
                   : a.at("failure") == "none" ? "succeeded"
                                               : str(a.at("failure")));
        if (!a.at("message").is_null() && !a.at("message").as_string().empty()) fmt::print(" ({})", str(a.at("message")));
        fmt::print("\n");
        auto& tail = a.at("stderr_tail").as_string();
        if (!tail.empty()) {
            std::istringstream lines{std::string(tail)};
            for (std::string line; std::getline(lines, line);) fmt::print("  | {}\n", terminal_safe(line));
        }
    }
}

void print_hosts(const json::value& v) {
    fmt::print("{:<4} {:<7} {:<32} {:<9} {:>7} {:>7} {:<21} {}\n", "EXEC", "KIND", "HOST", "STATE", "RUNNING",
               "STARTED", "SINCE", "REASON");
    for (auto& h : v.at("hosts").as_array()) {
        auto* reason = h.as_object().if_contains("reason");
        fmt::print("{:<4} {:<7} {:<32} {:<9} {:>7} {:>7} {:<21} {}\n", str(h.at("executor")), str(h.at("kind")),
                   str(h.at("host")), str(h.at("state")), str(h.at("running")), str(h.at("started")),
                   when(h.at("since_ms")), reason ? str(*reason) : "");
    }
}

// An attempt's stderr (attempt_stderr_json): a line saying which part of the log, then the log.
void print_stderr(const json::value& v) {
    auto size = v.at("size").to_number<std::uint64_t>();
    auto offset = v.at("offset").to_number<std::uint64_t>();
    fmt::print("{} attempt {} of run {}: {} byte(s) of stderr{}\n", str(v.at("task")), str(v.at("attempt")),
               str(v.at("run_id")), size, offset ? fmt::format(", the last {} shown", size - offset) : "");
    std::istringstream lines{std::string(v.at("text").as_string())};
    for (std::string line; std::getline(lines, line);) fmt::print("{}\n", terminal_safe(line));
}

// "    12 2026-11-30 17:40:01Z task_state   t-3 dead, attempt 2 on local: exit code 3"
void print_event(const json::object& e) {
    auto field = [&](const char* k) {
        auto* v = e.if_contains(k);
        return v ? str(*v) : std::string();
    };
    auto kind = field("kind");
    std::string line = fmt::format("{:>6} {} {:<12}", field("seq"), when(e.at("time_ms")), kind);
    if (kind == "run_started" || kind == "run_finished") {
        line += fmt::format(" run {}: {} task(s)", field("run_id"), field("tasks"));
        if (kind == "run_finished") line += ", " + field("state");
    } else {
        line += " " + field("task") + " " + field("state");
        if (auto n = field("attempt"); !n.empty() && n != "0") line += ", attempt " + n;
        if (auto x = field("executor"); !x.empty()) line += " on " + x;
    }
    if (auto m = field("message"); !m.empty()) line += ": " + m;
    fmt::print("{}\n", line);
}

// The job's events after c.after, page by page; with --follow, new ones as they come.
int print_events(service_client& client, const client_args& c, bool as_json) {
    constexpr std::size_t page = 1000;
    auto after = c.after;
    for (;;) {
        auto v = client.task_events(c.key, after, page);
        if (auto lost = v.at("lost"); lost != 0)
            fmt::print(stderr, "drover: events: {} event(s) after {} are no longer kept\n", str(lost), after);
        const auto& events = v.at("events").as_array();
        for (const auto& e : events) {
            as_json ? void(std::cout << json::serialize(e) << "\n") : print_event(e.as_object());
            after = e.at("seq").to_number<std::uint64_t>();
        }
        std::cout.flush();
        std::fflush(stdout);
        if (events.size() == page) continue;
        if (!c.follow) return 0;
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
}

}  // namespace

int run_client(const cli_args& a) {
    const auto& c = a.client;
    service_client client(client_options(c));
    const auto& cmd = a.command;
    if ((cmd == "runs" || cmd == "logs") && c.state_dir && !client.reachable()) {
        // No service: the journal of <state>/<job>, read-only.
        auto dir = std::filesystem::path(*c.state_dir) / c.key;
        if (cmd == "runs") {
            json::value v = json::object{{"runs", detail::runs_json(dir, c.limit)}};
            a.json ? void(std::cout << json::serialize(v) << "\n") : print_runs(v);
            return 0;
        }
        // The job file's secrets, replaced in tails and messages as the service replaces them
        // (without --jobs the journal is shown as it is: whoever reads it here can read its files).
        std::vector<std::string> secrets;
        detail::stderr_filter redacted;
        if (c.jobs_dir) {
            auto file = std::filesystem::path(*c.jobs_dir) / (c.key + ".toml");
            try {
                secrets = detail::secret_values(drover::load_job(file));
            } catch (const std::exception& e) {
                throw config_error("cannot read " + file.string() + " for the secrets to redact: " + e.what());
            }
            redacted = [&](std::string text, redact_cuts cuts) {
                return detail::redact(std::move(text), secrets, cuts.front, cuts.back);
            };
        }
        if (c.attempt > 0) {
            auto log = detail::attempt_stderr_json(dir, c.task, c.attempt, std::nullopt, c.bytes, redacted);
            if (!log)
                throw not_found_error("no attempt " + std::to_string(c.attempt) + " of task '" + c.task +
                                      "' in the journal of " + dir.string());
            a.json ? void(std::cout << json::serialize(*log) << "\n") : print_stderr(*log);
            return 0;
        }
        auto t = detail::task_json(dir, c.task, redacted);
        if (!t) throw not_found_error("no task '" + c.task + "' in the journal of " + dir.string());
        a.json ? void(std::cout << json::serialize(*t) << "\n") : print_task(*t);
        return 0;
    }
    if (cmd == "trigger") {
        trigger_options o{.params = a.load.params, .fresh = a.fresh, .retry_dead = a.retry_dead};
        std::cout << client.trigger(c.key, o) << "\n";
        return 0;
    }
    if (cmd == "runs") {
        auto v = client.runs(c.key, c.limit);
        a.json ? void(std::cout << json::serialize(v) << "\n") : print_runs(v);
        return 0;
    }
    if (cmd == "logs" && c.attempt > 0) {
        auto v = client.attempt_stderr(c.key, c.task, c.attempt, c.bytes);
        a.json ? void(std::cout << json::serialize(v) << "\n") : print_stderr(v);
        return 0;
    }
    if (cmd == "logs") {
        auto v = client.task(c.key, c.task);
        a.json ? void(std::cout << json::serialize(v) << "\n") : print_task(v);
        return 0;
    }
    if (cmd == "events") return print_events(client, c, a.json);
    if (cmd == "retry") {
        if (client.retry_task(c.key, c.task)) return fmt::print("{}: {} runs again\n", c.key, c.task), 0;
        return fmt::print(stderr, "drover: retry: {} is not dead or cancelled\n", terminal_safe(c.task)), 1;
    }
    if (cmd == "succeed") {
        if (client.mark_succeeded(c.key, c.task)) return fmt::print("{}: {} is marked succeeded\n", c.key, c.task), 0;
        return fmt::print(stderr, "drover: succeed: {} is running, succeeded or skipped\n", terminal_safe(c.task)), 1;
    }
    if (cmd == "pools") {
        auto v = client.pools();
        if (a.json) return std::cout << json::serialize(v) << "\n", 0;
        fmt::print("{:<24} {:>6} {:>7} {:>8}\n", "POOL", "LIMIT", "IN_USE", "WAITING");
        for (auto& p : v.at("pools").as_array())
            fmt::print("{:<24} {:>6} {:>7} {:>8}\n", str(p.at("name")), str(p.at("limit")), str(p.at("in_use")),
                       str(p.at("waiting")));
        return 0;
    }
    if (cmd == "hosts") {
        if (!c.add_host.empty()) {
            client.add_host(c.key, c.add_host, c.executor);
            return fmt::print("{}: {} added\n", c.key, terminal_safe(c.add_host)), 0;
        }
        if (!c.drain_host.empty() || !c.remove_host.empty()) {
            bool remove = !c.remove_host.empty();
            const auto& h = remove ? c.remove_host : c.drain_host;
            client.drain_host(c.key, h, remove);
            return fmt::print("{}: {} {}\n", c.key, terminal_safe(h), remove ? "removed" : "draining"), 0;
        }
        auto v = client.hosts(c.key);
        a.json ? void(std::cout << json::serialize(v) << "\n") : print_hosts(v);
        return 0;
    }
    // cancel
    if (c.task.empty()) {
        if (client.cancel(c.key)) return fmt::print("{}: the run is cancelled\n", c.key), 0;
        return fmt::print(stderr, "drover: cancel: no run of {} is going\n", terminal_safe(c.key)), 1;
    }
    if (client.cancel_task(c.key, c.task)) return fmt::print("{}: {} is cancelled\n", c.key, c.task), 0;
    return fmt::print(stderr, "drover: cancel: {} has already finished\n", terminal_safe(c.task)), 1;
}

}  // namespace drover::cli
