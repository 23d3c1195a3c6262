// `drover status`: the journal read-only, from any process, while a run writes it or not.

#include <drover/error.hpp>
#include <drover/journal.hpp>
#include <drover/outcome.hpp>

#include "detail/utf8.hpp"
#include "journal/sqlite.hpp"
#include "journal/status.hpp"

#include <boost/json.hpp>

#include <cerrno>
#include <deque>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace drover {

// True when a drover process holds the state directory's lock right now. O_NONBLOCK: a
// FIFO in the lock's place must not block the open (and is no lock).
bool detail::journal_locked(const std::filesystem::path& state_dir) {
    int fd = ::open((state_dir / "journal.lock").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    bool locked = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::flock(fd, LOCK_SH | LOCK_NB) != 0 &&
                  errno == EWOULDBLOCK;
    ::close(fd);  // releases our shared lock if we got it
    return locked;
}

namespace {

const char* file_kind(mode_t m) {
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
    return "something else";
}

// How to open the journal without writing anything. SQLite's mode=ro still needs the -shm
// file of a WAL database (and creates it, with a -wal, when the directory is writable).
// Where it cannot be created and there is no -wal (a finished run, no writer now, a
// directory or file we cannot write), the file cannot change under us: immutable=1 reads
// it without -shm and without locks.
detail::sql::database::mode open_mode(const std::filesystem::path& file, bool live) {
    using mode = detail::sql::database::mode;
    struct stat st {};
    bool wal = ::lstat((file.string() + "-wal").c_str(), &st) == 0;
    auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
    bool writable = ::access(file.c_str(), W_OK) == 0 && ::access(dir.c_str(), W_OK) == 0;
    return !wal && !live && !writable ? mode::read_only_immutable : mode::read_only;
}

}  // namespace

namespace {

// <run dir>/hosts.json, written by the run (run_files::host_changed). Status information: a
// file that is missing, too big or not what the run writes gives no hosts, never an error.
std::vector<journal_status::host> read_hosts(const std::filesystem::path& file) {
    std::vector<journal_status::host> out;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (4 << 20)) return out;
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return out;
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    auto n = ::read(fd, text.data(), text.size());
    ::close(fd);
    if (n < 0) return out;
    text.resize(static_cast<std::size_t>(n));
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    if (ec || !v.is_array()) return out;
    for (auto& e : v.as_array()) {
        const auto* o = e.if_object();
        if (!o) continue;
        auto str = [&](const char* k) {
            const auto* x = o->if_contains(k);
            return x && x->is_string() ? std::string(x->get_string()) : std::string();
        };
        journal_status::host h{str("executor"), str("host"), str("state"), 0, str("reason")};
        if (const auto* x = o->if_contains("since_ms"); x && x->is_int64()) h.since_ms = x->get_int64();
        if (!h.spec.empty()) out.push_back(std::move(h));
    }
    return out;
}

}  // namespace

journal_status read_journal_status(const std::filesystem::path& state_dir) {
    auto file = journal_path(state_dir);
    // The type first: SQLite would block forever opening a FIFO.
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) {
        if (errno == ENOENT)
            throw error("no journal in " + state_dir.string() + " (" + file.string() +
                        " does not exist; `drover run` creates it)");
        throw error("cannot read the journal " + file.string() + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode))
        throw error("the journal " + file.string() + " is not a regular file (it is " + file_kind(st.st_mode) + ")");
    journal_status s;
    s.state_dir = state_dir;
    s.live = detail::journal_locked(state_dir);
    using detail::sql::database;
    database db(file, open_mode(file, s.live));
    std::deque<detail::sql::statement> statements;
    detail::read_journal_status(
        s, [&](std::string_view sql) -> detail::sql::statement& { return statements.emplace_back(db, sql); },
        [&](std::string_view sql) { db.exec(sql); });
    return s;
}

namespace detail {

void read_journal_status(journal_status& s, const std::function<sql::statement&(std::string_view)>& prepare,
                         const std::function<void(std::string_view)>& exec) {
    auto file = journal_path(s.state_dir);
    // One read transaction: every query sees the same commit.
    exec("BEGIN");
    // A run killed in its first moments can leave the file without the schema.
    if (auto& t = prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='tasks'"); !t.step())
        throw error("the journal " + file.string() + " has no runs yet (the first run stopped before writing any)");

    auto& meta = prepare("SELECT value FROM meta WHERE key='job_name'");
    if (meta.step()) s.job_name = meta.text_at(0);
    for (int i = 0; i < 256; ++i) {
        auto name = to_string(static_cast<task_state>(i));
        if (name == "unknown") break;
        if (name != "ready") s.counts[std::string(name)] = 0;
    }
    auto& counts = prepare("SELECT state, count(*) FROM tasks GROUP BY state");
    while (counts.step()) {
        auto n = static_cast<std::size_t>(counts.int_at(1));
        s.counts[std::string(counts.text_at(0))] += n;
        s.total += n;
    }

    auto& runs = prepare("SELECT run_id,status,started_ms,coalesce(finished_ms,0),(SELECT count(*) FROM runs) "
                           "FROM runs ORDER BY started_ms DESC, run_id DESC LIMIT 1");
    if (runs.step()) {
        journal_status::run_info r;
        r.run_id = runs.text_at(0);
        r.status = runs.text_at(1);
        r.started_ms = runs.int_at(2);
        r.finished_ms = runs.int_at(3);
        // The writer marks a dead process's run interrupted only when the next run opens it.
        if (r.status == "running" && !s.live) r.status = "interrupted";
        s.runs = static_cast<std::size_t>(runs.int_at(4));
        s.last_run = std::move(r);
    }

    if (s.live && s.last_run) {
        auto& running = prepare(
            "SELECT a.task_id,a.attempt,a.run_id,a.executor,a.started_ms FROM attempts a JOIN tasks t "
            "ON t.task_id=a.task_id WHERE a.run_id=?1 AND a.finished_ms IS NULL AND t.state='running' "
            "ORDER BY a.started_ms, a.task_id");
        running.bind(1, s.last_run->run_id);
        while (running.step())
            s.running.push_back({std::string(running.text_at(0)), static_cast<int>(running.int_at(1)),
                                 std::string(running.text_at(2)), std::string(running.text_at(3)), running.int_at(4)});
    }

    auto& dead = prepare(
        "SELECT task_id,state,attempts,coalesce(failure,''),coalesce(message,'') FROM tasks "
        "WHERE state IN ('dead','upstream_failed','cancelled') ORDER BY state, task_id");
    while (dead.step())
        s.dead.push_back({std::string(dead.text_at(0)), std::string(dead.text_at(1)),
                          static_cast<int>(dead.int_at(2)), std::string(dead.text_at(3)),
                          std::string(dead.text_at(4))});
    exec("COMMIT");
    if (s.last_run) s.hosts = read_hosts(s.state_dir / "runs" / s.last_run->run_id / "hosts.json");
}

}  // namespace detail

std::string to_json(const journal_status& s) {
    namespace json = boost::json;
    json::object j;
    j["state_dir"] = s.state_dir.string();
    j["job"] = s.job_name;
    j["live"] = s.live;
    j["total"] = s.total;
    json::object counts;
    for (const auto& [k, v] : s.counts) counts[k] = v;
    j["counts"] = std::move(counts);
    j["runs"] = s.runs;
    if (s.last_run) {
        json::object r;
        r["run_id"] = s.last_run->run_id;
        r["status"] = s.last_run->status;
        r["started_ms"] = s.last_run->started_ms;
        if (s.last_run->finished_ms) r["finished_ms"] = s.last_run->finished_ms;
        j["last_run"] = std::move(r);
    } else {
        j["last_run"] = nullptr;
    }
    json::array running;
    for (const auto& a : s.running)
        running.push_back(json::object{{"task", a.task_id},
                                       {"attempt", a.attempt},
                                       {"run_id", a.run_id},
                                       {"executor", a.executor},
                                       {"started_ms", a.started_ms}});
    j["running"] = std::move(running);
    json::array hosts;
    for (const auto& h : s.hosts)
        hosts.push_back(json::object{{"executor", h.executor},
                                     {"host", h.spec},
                                     {"state", h.state},
                                     {"since_ms", h.since_ms},
                                     {"reason", h.reason}});
    j["hosts"] = std::move(hosts);
    json::array dead;
    for (const auto& d : s.dead)
        dead.push_back(json::object{{"task", d.task_id},
                                    {"state", d.state},
                                    {"attempts", d.attempts},
                                    {"failure", d.failure},
                                    {"message", d.message}});
    j["dead"] = std::move(dead);
    return detail::to_json_text(j);
}

}  // namespace drover
