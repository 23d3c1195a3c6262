#include "service/journal_views.hpp"

#include <drover/journal.hpp>
#include <drover/outcome.hpp>

#include "detail/utf8.hpp"
#include "journal/sqlite.hpp"
#include "journal/status.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace drover::detail {

namespace json = boost::json;
using sql::database;

namespace {

// A read-only connection with its prepared statements kept: preparing costs about as much as
// the small queries the API makes. The statements one use took are reset after it, so none
// holds a read transaction (and the journal's WAL) open between requests.
class cached_connection {
public:
    explicit cached_connection(const std::filesystem::path& file) : db_(file, database::mode::read_only) {}
    void exec(std::string_view sql) { db_.exec(sql); }
    sql::statement& prepare(std::string_view sql) {
        auto it = statements_.find(sql);
        if (it == statements_.end()) it = statements_.emplace(std::string(sql), db_.prepare(sql)).first;
        taken_.push_back(&it->second);  // reset by release() after the use (a failed use drops the connection)
        return it->second;
    }
    void release() noexcept {
        for (auto* s : taken_) s->reset();
        taken_.clear();
    }

private:
    database db_;
    std::map<std::string, sql::statement, std::less<>> statements_;
    std::vector<sql::statement*> taken_;
};

// Read-only connections kept open per journal: opening one (and reading its schema) costs more
// than the queries the API makes. A journal replaced by another file (its inode changed) is
// opened again. The API answers on one thread; the lock makes any other caller safe.
class connection_cache {
public:
    template <class F>
    auto with(const std::filesystem::path& file, F f) {
        struct stat st {};
        ino_t ino = ::stat(file.c_str(), &st) == 0 ? st.st_ino : 0;
        auto key = file.string();
        std::lock_guard lock(mutex_);
        if (entries_.size() > 256 && !entries_.count(key)) entries_.clear();  // jobs come and go
        auto& e = entries_[key];
        if (!e.db || e.inode != ino) {
            e.db.reset();
            e.db = std::make_unique<cached_connection>(file);
            e.inode = ino;
        }
        try {
            struct release_after {
                cached_connection& c;
                ~release_after() { c.release(); }
            } release{*e.db};
            return f(*e.db);
        } catch (...) {
            entries_.erase(key);  // maybe inside a transaction: never reuse it
            throw;
        }
    }

private:
    struct entry {
        std::unique_ptr<cached_connection> db;
        ino_t inode = 0;
    };
    std::mutex mutex_;
    std::map<std::string, entry> entries_;
};

connection_cache& connections() {
    static connection_cache c;
    return c;
}

bool has_journal(const std::filesystem::path& state_dir) {
    struct stat st {};
    return ::stat(journal_path(state_dir).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

json::value text_or_null(const sql::statement& q, int col, json::storage_ptr sp = {}) {
    if (q.null_at(col)) return json::value(nullptr, std::move(sp));
    return json::string(q.text_at(col), std::move(sp));
}

json::value int_or_null(const sql::statement& q, int col) {
    if (q.null_at(col)) return nullptr;
    return q.int_at(col);
}

struct log_tail {
    std::string text;         // valid UTF-8
    std::uint64_t size = 0;   // of the whole file
    std::uint64_t offset = 0; // where text starts
    bool in_line = false;     // text starts inside a line

    std::string filtered(const stderr_filter& f) && {
        if (!f) return std::move(text);
        bool open_end = !text.empty() && text.back() != '\n';  // a line still being written, or the last without a break
        return f(std::move(text), redact_cuts{.front = in_line, .back = open_end});
    }
};

// The last `max` bytes of a log file, from the first line that starts in them when they start
// inside a line and another begins in them (a secret cut at the front would show its end);
// empty when it cannot be read.
log_tail tail_of(const std::filesystem::path& file, std::size_t max) {
    log_tail out;
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return out;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        out.size = static_cast<std::uint64_t>(st.st_size);
        out.offset = out.size > max ? out.size - max : 0;
        // With the byte before the tail, in the same read: whether the tail starts a line.
        std::size_t lead = out.offset > 0 ? 1 : 0;
        out.text.resize(out.size - out.offset + lead);
        auto n = ::pread(fd, out.text.data(), out.text.size(), static_cast<off_t>(out.offset - lead));
        out.text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
        bool line_start = true;
        if (lead) {
            line_start = !out.text.empty() && out.text.front() == '\n';
            if (!out.text.empty()) out.text.erase(0, 1);
        }
        if (!line_start) {
            if (auto nl = out.text.find('\n'); nl != std::string::npos && nl + 1 < out.text.size()) {
                out.text.erase(0, nl + 1);
                out.offset += nl + 1;
            } else {
                out.in_line = true;  // a single line's end: shown, a secret's end in it redacted
            }
        }
    }
    ::close(fd);
    out.text = repair_utf8(out.text);
    return out;
}

std::filesystem::path stderr_log_of(const std::filesystem::path& state_dir, std::string_view run, const std::string& task,
                                    std::int64_t attempt) {
    return state_dir / "runs" / std::string(run) / "logs" / (task + "." + std::to_string(attempt) + ".stderr");
}

}  // namespace

json::value journal_status_json(const std::filesystem::path& state_dir) {
    if (!has_journal(state_dir)) return nullptr;
    try {
        // On the journal's kept connection and statements: opening the file and reading its
        // schema per request cost more than the queries.
        journal_status s;
        s.state_dir = state_dir;
        s.live = journal_locked(state_dir);
        connections().with(journal_path(state_dir), [&](cached_connection& db) {
            read_journal_status(
                s, [&](std::string_view sql) -> sql::statement& { return db.prepare(sql); },
                [&](std::string_view sql) { db.exec(sql); });
            return 0;
        });
        return json::parse(to_json(s));
    } catch (const std::exception& e) {
        return json::object{{"error", e.what()}};
    }
}

namespace {

constexpr const char* run_columns =
    "SELECT run_id,status,started_ms,finished_ms,total,resumed,succeeded,dead,upstream_failed,skipped,records FROM runs ";

json::object run_row(const sql::statement& q) {
    return {{"run_id", q.text_at(0)},         {"status", q.text_at(1)},       {"started_ms", q.int_at(2)},
            {"finished_ms", int_or_null(q, 3)}, {"total", q.int_at(4)},        {"resumed", q.int_at(5)},
            {"succeeded", int_or_null(q, 6)}, {"dead", int_or_null(q, 7)},     {"upstream_failed", int_or_null(q, 8)},
            {"skipped", int_or_null(q, 9)},   {"records", int_or_null(q, 10)}};
}

}  // namespace

json::array runs_json(const std::filesystem::path& state_dir, std::size_t limit) {
    json::array out;
    if (!has_journal(state_dir)) return out;
    return connections().with(journal_path(state_dir), [&](cached_connection& db) {
        auto& q = db.prepare(std::string(run_columns) + "ORDER BY started_ms DESC, run_id DESC LIMIT ?1");
        q.bind(1, static_cast<std::int64_t>(limit));
        while (q.step()) out.push_back(run_row(q));
        return out;
    });
}

std::optional<json::object> run_json(const std::filesystem::path& state_dir, const std::string& run_id) {
    if (!has_journal(state_dir)) return std::nullopt;
    return connections().with(journal_path(state_dir), [&](cached_connection& db) -> std::optional<json::object> {
        auto& q = db.prepare(std::string(run_columns) + "WHERE run_id=?1");
        q.bind(1, run_id);
        if (!q.step()) return std::nullopt;
        return run_row(q);
    });
}

std::optional<json::object> run_attempts_json(const std::filesystem::path& state_dir, const std::string& run_id,
                                             std::size_t limit) {
    if (!has_journal(state_dir)) return std::nullopt;
    return connections().with(journal_path(state_dir), [&](cached_connection& db) -> std::optional<json::object> {
        db.exec("BEGIN");
        auto& r = db.prepare("SELECT 1 FROM runs WHERE run_id=?1");
        r.bind(1, run_id);
        if (!r.step()) {
            db.exec("COMMIT");
            return std::nullopt;
        }
        auto& q = db.prepare(
            "SELECT task_id,attempt,executor,started_ms,finished_ms,failure FROM attempts WHERE run_id=?1 "
            "ORDER BY started_ms, task_id, attempt LIMIT ?2");
        q.bind(1, run_id).bind(2, static_cast<std::int64_t>(limit) + 1);
        json::array attempts;
        bool truncated = false;
        while (q.step()) {
            if (attempts.size() == limit) {
                truncated = true;
                break;
            }
            attempts.push_back(json::object{{"task", q.text_at(0)},         {"attempt", q.int_at(1)},
                                            {"executor", q.text_at(2)},     {"started_ms", q.int_at(3)},
                                            {"finished_ms", int_or_null(q, 4)}, {"failure", text_or_null(q, 5)}});
        }
        db.exec("COMMIT");
        return json::object{{"run_id", run_id}, {"attempts", std::move(attempts)}, {"truncated", truncated}};
    });
}

json::object tasks_json(const std::filesystem::path& state_dir, const std::optional<std::string>& state,
                        std::size_t limit, std::size_t offset, json::storage_ptr storage) {
    json::array tasks(storage);
    std::int64_t total = 0;
    if (has_journal(state_dir)) connections().with(journal_path(state_dir), [&](cached_connection& db) {
        db.exec("BEGIN");
        // Without a filter, a plain count: SQLite counts the b-tree's entries without reading
        // the rows (the page read during a run costs most of this answer).
        auto& n = db.prepare(state ? "SELECT count(*) FROM tasks WHERE state=?1" : "SELECT count(*) FROM tasks");
        auto& q = db.prepare(
            "SELECT task_id,state,attempts,run_id,updated_ms,failure,message FROM tasks "
            "WHERE ?1 IS NULL OR state=?1 ORDER BY task_id LIMIT ?2 OFFSET ?3");
        if (state) {
            n.bind(1, *state);
            q.bind(1, *state);
        } else {
            q.bind_null(1);
        }
        if (n.step()) total = n.int_at(0);
        q.bind(2, static_cast<std::int64_t>(limit)).bind(3, static_cast<std::int64_t>(offset));
        auto text = [&](int col) { return text_or_null(q, col, storage); };
        tasks.reserve(std::min<std::size_t>(limit, static_cast<std::size_t>(total)));
        while (q.step()) {
            json::object row(storage);
            row.reserve(7);
            row.emplace("id", text(0));
            row.emplace("state", text(1));
            row.emplace("attempts", q.int_at(2));
            row.emplace("run_id", text(3));
            row.emplace("updated_ms", q.int_at(4));
            row.emplace("failure", text(5));
            row.emplace("message", text(6));
            tasks.emplace_back(std::move(row));
        }
        db.exec("COMMIT");
    });
    json::object out(storage);
    out.reserve(3);
    out.emplace("total", total);
    out.emplace("offset", offset);
    out.emplace("tasks", std::move(tasks));
    return out;
}

namespace {

// A message column (a task may print its own secrets into it) through the filter, as a whole.
json::value message_of(const sql::statement& q, int col, const stderr_filter& filter) {
    if (!filter || q.null_at(col)) return text_or_null(q, col);
    return json::string(filter(std::string(q.text_at(col)), redact_cuts{}));
}

}  // namespace

std::optional<json::object> task_json(const std::filesystem::path& state_dir, const std::string& task,
                                      const stderr_filter& filter) {
    if (!has_journal(state_dir)) return std::nullopt;
    return connections().with(journal_path(state_dir), [&](cached_connection& db) -> std::optional<json::object> {
    db.exec("BEGIN");
    auto& t = db.prepare("SELECT state,attempts,run_id,updated_ms,failure,message FROM tasks WHERE task_id=?1");
    t.bind(1, task);
    if (!t.step()) {
        db.exec("COMMIT");
        return std::nullopt;
    }
    json::object o{{"id", task},           {"state", t.text_at(0)},       {"attempts", t.int_at(1)},
                   {"run_id", text_or_null(t, 2)}, {"updated_ms", t.int_at(3)}, {"failure", text_or_null(t, 4)},
                   {"message", message_of(t, 5, filter)}};
    auto& a = db.prepare(
        "SELECT run_id,attempt,executor,started_ms,finished_ms,failure,exit_code,signal,message,records,bad_records,"
        "elapsed_ms FROM attempts WHERE task_id=?1 ORDER BY started_ms DESC, attempt DESC LIMIT 100");
    a.bind(1, task);
    json::array attempts;
    while (a.step()) {
        std::string run(a.text_at(0));
        auto n = a.int_at(1);
        auto log = stderr_log_of(state_dir, run, task, n);
        attempts.push_back(json::object{{"run_id", run},
                                        {"attempt", n},
                                        {"executor", a.text_at(2)},
                                        {"started_ms", a.int_at(3)},
                                        {"finished_ms", int_or_null(a, 4)},
                                        {"failure", text_or_null(a, 5)},
                                        {"exit_code", int_or_null(a, 6)},
                                        {"signal", int_or_null(a, 7)},
                                        {"message", message_of(a, 8, filter)},
                                        {"records", int_or_null(a, 9)},
                                        {"bad_records", int_or_null(a, 10)},
                                        {"elapsed_ms", int_or_null(a, 11)},
                                        {"stderr_tail", tail_of(log, 4096).filtered(filter)}});
    }
    db.exec("COMMIT");
    o["attempts"] = std::move(attempts);
    return o;
    });
}

std::optional<json::object> attempt_stderr_json(const std::filesystem::path& state_dir, const std::string& task,
                                                std::int64_t attempt, const std::optional<std::string>& run,
                                                std::size_t max_bytes, const stderr_filter& filter) {
    if (!has_journal(state_dir)) return std::nullopt;
    auto run_id = connections().with(journal_path(state_dir), [&](cached_connection& db) -> std::optional<std::string> {
        auto& q = db.prepare(run ? "SELECT run_id FROM attempts WHERE task_id=?1 AND attempt=?2 AND run_id=?3"
                                 : "SELECT run_id FROM attempts WHERE task_id=?1 AND attempt=?2 "
                                   "ORDER BY started_ms DESC LIMIT 1");
        q.bind(1, task).bind(2, attempt);
        if (run) q.bind(3, *run);
        if (!q.step()) return std::nullopt;
        return std::string(q.text_at(0));
    });
    if (!run_id) return std::nullopt;
    auto tail = tail_of(stderr_log_of(state_dir, *run_id, task, attempt), max_bytes);
    auto size = tail.size, offset = tail.offset;
    return json::object{{"task", task},   {"run_id", *run_id},  {"attempt", attempt},
                        {"size", size}, {"offset", offset}, {"text", std::move(tail).filtered(filter)}};
}

}  // namespace drover::detail
