#include "job/workflow_keys.hpp"

#include "alerts/alerts.hpp"
#include "cron/cron.hpp"
#include "job/toml_reader.hpp"

#include <fmt/format.h>

#include <cmath>

namespace drover::detail {

namespace {

class workflow_reader : reader {
public:
    using reader::reader;

    void read_speculation(const toml::node& n, speculation_options& s) const {
        const auto& t = table_of(n, "speculation");
        check_keys(t, "speculation", {"enabled", "multiplier", "quantile", "min_runtime", "before_queued"});
        s.enabled = true;  // a [speculation] table turns it on unless it says enabled = false
        if (const auto* v = t.get("enabled")) s.enabled = bool_of(*v, "speculation.enabled");
        if (const auto* v = t.get("multiplier")) {
            s.multiplier = number_of(*v, "speculation.multiplier");
            if (!(s.multiplier > 0.0) || !std::isfinite(s.multiplier))
                fail(*v, "speculation.multiplier", fmt::format("must be a number more than 0, got {}", s.multiplier));
        }
        if (const auto* v = t.get("quantile")) {
            s.quantile = number_of(*v, "speculation.quantile");
            if (!(s.quantile > 0.0 && s.quantile <= 1.0))
                fail(*v, "speculation.quantile", fmt::format("must be more than 0 and at most 1, got {}", s.quantile));
        }
        if (const auto* v = t.get("min_runtime")) s.min_runtime = duration_of(*v, "speculation.min_runtime");
        if (const auto* v = t.get("before_queued")) s.before_queued = bool_of(*v, "speculation.before_queued");
    }

    void run(const toml::table& root, job& j) const {
        const auto* sched = root.get("schedule");
        for (const char* k : {"timezone", "overlap"})
            if (const auto* v = root.get(k); v && !sched)
                fail(*v, k, "only means something with a schedule (e.g. schedule = \"*/20 * * * *\")");
        if (sched) {
            schedule_config c;
            c.cron = string_of(*sched, "schedule");
            try {
                (void)cron_schedule::parse(c.cron);
            } catch (const config_error& e) {
                fail(*sched, "schedule", e.what());
            }
            if (const auto* v = root.get("timezone")) {
                c.timezone = string_of(*v, "timezone");
                try {
                    time_zone check(c.timezone);
                } catch (const config_error& e) {
                    fail(*v, "timezone", e.what());
                }
                if (c.timezone.empty()) fail(*v, "timezone", "must not be empty (leave it out for the local zone)");
            }
            if (const auto* v = root.get("overlap")) {
                c.overlap = string_of(*v, "overlap");
                if (c.overlap != "skip" && c.overlap != "queue")
                    fail(*v, "overlap", fmt::format("must be \"skip\" or \"queue\", got \"{}\"", c.overlap));
            }
            j.schedule = std::move(c);
        }
        if (const auto* v = root.get("deadline")) {
            auto d = duration_of(*v, "deadline");
            if (d.count() <= 0) fail(*v, "deadline", "must be more than 0 (leave it out for no deadline)");
            j.options.deadline = d;
        }
        if (const auto* v = root.get("order")) {
            auto order = string_of(*v, "order");
            if (order == "history") j.options.order = task_order::history;
            else if (order == "submission") j.options.order = task_order::submission;
            else fail(*v, "order", fmt::format("must be \"history\" or \"submission\", got \"{}\"", order));
        }
        if (const auto* v = root.get("speculation")) read_speculation(*v, j.options.speculation);
        if (const auto* v = root.get("on_failure")) {
            const auto& t = table_of(*v, "on_failure");
            check_keys(t, "on_failure", {"command", "webhook", "timeout"});
            alert_config a;
            if (const auto* c = t.get("command")) {
                const auto& arr = array_of(*c, "on_failure.command", "an array of strings");
                if (arr.empty()) fail(*c, "on_failure.command", "must not be empty: give the program and its arguments");
                for (std::size_t i = 0; i < arr.size(); ++i)
                    a.command.push_back(string_of(arr[i], fmt::format("on_failure.command[{}]", i)));
                if (a.command.front().empty()) fail(arr[0], "on_failure.command[0]", "the program name is empty");
            }
            if (const auto* w = t.get("webhook")) {
                a.webhook = string_of(*w, "on_failure.webhook");
                try {  // its messages name the host, never user info, path or query
                    (void)parse_webhook_url(a.webhook);
                } catch (const config_error& e) {
                    fail(*w, "on_failure.webhook", e.what());
                }
            }
            if (const auto* v = t.get("timeout")) {
                a.timeout = duration_of(*v, "on_failure.timeout");
                if (a.timeout.count() == 0) fail(*v, "on_failure.timeout", "must be more than 0s");
            }
            if (a.command.empty() && a.webhook.empty())
                fail(*v, "on_failure", "give a command, a webhook or both");
            j.on_failure = std::move(a);
        }
    }
};

}  // namespace

void parse_workflow_keys(const std::string& file, const toml::table& root, job& j) {
    workflow_reader(file).run(root, j);
}

}  // namespace drover::detail
