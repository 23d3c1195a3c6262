// A job as one JSON document: what `drover validate --json` prints (docs/job-files.md,
// "drover validate --json"). Tasks are written one at a time, so a million-task job never
// exists as one JSON tree.

#include <drover/error.hpp>
#include <drover/executors/ssh.hpp>
#include <drover/job_file.hpp>
#include <drover/job_stream.hpp>

#include "cron/cron.hpp"
#include "detail/secrets.hpp"
#include "detail/utf8.hpp"
#include "scheduler/dag.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <ostream>
#include <sstream>

namespace drover {

namespace json = boost::json;

namespace {

// Words a POSIX shell reads as syntax when they come first (not only as arguments).
bool reserved_word(std::string_view w) {
    constexpr std::string_view words[] = {"!",  "{",    "}",    "case", "do",   "done", "elif",  "else",
                                          "esac", "fi", "for",  "if",   "in",   "then", "until", "while"};
    return std::find(std::begin(words), std::end(words), w) != std::end(words);
}

bool plain_word(std::string_view w) {
    return !w.empty() && std::all_of(w.begin(), w.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("_@%+=:,./-").find(c) != std::string_view::npos;
    });
}

// An instant in a zone as RFC 3339 with the zone's offset then: 2018-03-25T03:00:00+02:00.
std::string local_time(std::chrono::sys_seconds t, const detail::time_zone& tz) {
    auto c = tz.to_local(t);
    auto as_utc = std::chrono::sys_days{std::chrono::year{c.year} / c.month / c.day} + std::chrono::hours{c.hour} +
                  std::chrono::minutes{c.minute} + std::chrono::seconds{c.second};
    auto offset = (as_utc - t).count() / 60;
    char sign = offset < 0 ? '-' : '+';
    offset = offset < 0 ? -offset : offset;
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}", c.year, c.month, c.day, c.hour, c.minute,
                       c.second, sign, offset / 60, offset % 60);
}

json::value schedule_json(const schedule_config& s, const job_json_options& o) {
    json::object out;
    out["cron"] = s.cron;
    out["timezone"] = s.timezone.empty() ? json::value(nullptr) : json::value(s.timezone);
    out["overlap"] = s.overlap;
    auto cron = detail::cron_schedule::parse(s.cron);
    detail::time_zone tz(s.timezone);
    auto t = o.now ? *o.now : std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    json::array next;
    for (std::size_t i = 0; i < o.next_fires; ++i) {
        auto fire = cron.next_after(t, tz);
        if (!fire) break;  // none in the next 8 years ("0 0 30 2 *")
        next.emplace_back(local_time(*fire, tz));
        t = *fire;
    }
    out["next"] = std::move(next);
    return out;
}

// `after`: the ids of the tasks it comes after (its `after` resolved).
template <class Ids>
json::object task_json(const task_spec& t, const Ids& after_ids) {
    json::object o;
    o["id"] = t.id;
    json::array argv;
    for (const auto& a : t.command) argv.emplace_back(a);
    o["command"] = std::move(argv);
    o["command_line"] = shell_command_line(t.command);
    json::array after;
    for (const auto& id : after_ids) after.emplace_back(id);
    o["after"] = std::move(after);
    o["pool"] = t.pool.empty() ? json::value(nullptr) : json::value(t.pool);
    json::object executor;  // the executor kinds' own task settings (Docker: image, container)
    for (const auto& e : t.extensions) e.type->to_json(e.value.get(), executor);
    o["executor"] = std::move(executor);
    json::object params, env;
    json::array redacted;
    for (const auto& [k, v] : t.params) params[k] = v;
    for (const auto& [k, v] : t.env) {
        if (detail::is_secret_env(k, v))
            redacted.emplace_back(k);
        else
            env[k] = v;
    }
    o["params"] = std::move(params);
    o["env"] = std::move(env);
    if (!redacted.empty()) o["redacted_env"] = std::move(redacted);
    o["retries"] = t.retries;
    o["timeout"] = t.timeout && t.timeout->count() > 0 ? json::value(format_duration(*t.timeout)) : json::value(nullptr);
    o["workdir"] = t.workdir;
    o["speculate"] = t.speculate;
    return o;
}

}  // namespace

std::string shell_command_line(const std::vector<std::string>& argv) {
    std::string out;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const auto& w = argv[i];
        if (i) out += ' ';
        // First word: an assignment (A=b) or a reserved word would not run the program.
        bool bare = plain_word(w) && !(i == 0 && (w.find('=') != std::string::npos || reserved_word(w)));
        out += bare ? w : shell_quote(w);
    }
    return out;
}

namespace {

// The document up to its tasks: `{"job": ..., "task_count": n, "tasks":[`.
void write_head(std::ostream& out, const job& j, std::size_t task_count, const job_json_options& o) {
    json::object head;
    head["job"] = j.name;
    head["source"] = j.source.string();
    head["state_dir"] = j.options.state_dir.string();
    json::array executors;
    std::size_t slots = 0;
    for (const auto& e : j.executors) {
        json::object x;
        x["kind"] = e.kind;
        j.kinds.describe(e, x);
        auto n = j.kinds.slots(e);
        x["slots"] = n;
        slots += n;
        executors.emplace_back(std::move(x));
    }
    head["executors"] = std::move(executors);
    head["slots"] = slots;
    json::object pools;
    for (const auto& [name, size] : j.options.pools) pools[name] = size;
    head["pools"] = std::move(pools);
    const auto& sp = j.options.speculation;
    head["speculation"] = sp.enabled ? json::value({{"multiplier", sp.multiplier},
                                                    {"quantile", sp.quantile},
                                                    {"min_runtime", format_duration(sp.min_runtime)},
                                                    {"before_queued", sp.before_queued}})
                                     : json::value(nullptr);
    if (j.sink) {
        json::object s;
        s["kind"] = j.sink->kind;
        j.kinds.describe(*j.sink, s);
        s["location"] = j.kinds.location(*j.sink);
        head["sink"] = std::move(s);
    } else {
        head["sink"] = nullptr;  // the scheduler's file sink under <state_dir>/output
    }
    head["schedule"] = j.schedule ? schedule_json(*j.schedule, o) : json::value(nullptr);
    head["deadline"] = j.options.deadline ? json::value(format_duration(*j.options.deadline)) : json::value(nullptr);
    head["task_count"] = task_count;

    // `head` without its closing brace; the tasks follow one by one.
    std::string text = detail::to_json_text(head);
    text.pop_back();
    out << text << ",\"tasks\":[";
}

}  // namespace

void write_json(std::ostream& out, const job& j, const job_json_options& o) {
    detail::task_graph g;
    if (auto p = detail::build_task_graph(j.tasks, g))
        throw config_error("task '" + j.tasks[p->task].id + "': " + p->message);
    write_head(out, j, j.tasks.size(), o);
    std::vector<std::string_view> after;
    for (std::size_t i = 0; i < j.tasks.size(); ++i) {
        if (i) out << ',';
        after.clear();
        if (!g.empty())
            for (auto u : g.upstream[i]) after.push_back(j.tasks[u].id);
        out << detail::to_json_text(task_json(j.tasks[i], after));
    }
    out << "]}";
}

void write_json(std::ostream& out, job_stream& s, const job_json_options& o) {
    bool first = true;
    s.for_each_task_resolved([&](std::size_t count) { write_head(out, s.settings(), count, o); },
                             [&](task_spec&& t, const std::vector<std::string_view>& after) {
                                 if (!first) out << ',';
                                 first = false;
                                 out << detail::to_json_text(task_json(t, after));
                             });
    out << "]}";
}

std::string to_json(const job& j, const job_json_options& o) {
    std::ostringstream out;
    write_json(out, j, o);
    return std::move(out).str();
}

}  // namespace drover
