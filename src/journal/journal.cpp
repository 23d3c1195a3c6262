#include "journal/journal.hpp"

#include "detail/fs.hpp"
#include "detail/thread_name.hpp"

#include <drover/error.hpp>

#include "journal/schema.hpp"
#include "journal/sqlite.hpp"
#include "detail/unix_time.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <unordered_set>

namespace drover::detail {

std::optional<task_state> parse_task_state(std::string_view s) noexcept {
    for (int i = 0; i < 256; ++i) {
        auto st = static_cast<task_state>(i);
        auto name = to_string(st);
        if (name == "unknown") break;
        if (name == s) return st;
    }
    return std::nullopt;
}

std::optional<failure_class> parse_failure_class(std::string_view s) noexcept {
    // Walks the enum until to_string() stops knowing it, so values added later are found too.
    for (int i = 0; i < 256; ++i) {
        auto f = static_cast<failure_class>(i);
        auto name = to_string(f);
        if (name == "unknown") break;
        if (name == s) return f;
    }
    return std::nullopt;
}

struct journal::op {
    enum class kind : std::uint8_t {
        begin_run,
        task_pending,
        task_submitted,
        attempt_started,
        attempt_process,
        attempt_finished,
        attempt_ended,  // an attempt that did not decide its task's state (speculation)
        task_recovered,
        task_checkpoint,
        task_state,
        end_run
    };
    kind k;
    task_state state = task_state::pending;
    failure_class failure = failure_class::none;
    int attempt = 0;
    int exit_code = -1;
    int signal = 0;
    std::int64_t t_ms = 0;
    std::int64_t n1 = 0, n2 = 0, n3 = 0;  // records, bad records, elapsed (or counts for runs)
    std::string id;
    std::string text;   // executor, message or run status; task_pending: ids, each NUL-terminated
    std::string text2;  // message, failure text
    std::vector<std::string> locations;
    std::vector<child_row> children;
    std::unique_ptr<progress> counts;  // end_run only: keeps the op small (two per deque block)

    /// Rows this operation writes (task_pending carries a batch of ids, counted in n1).
    std::size_t weight() const noexcept {
        return k == kind::task_pending ? static_cast<std::size_t>(n1) : 1 + children.size();
    }
};

namespace {
// Consecutive task_pending calls share one operation of up to this many ids: queuing a
// million tasks at the start of a run costs ~10 bytes per id, not a whole operation each.
constexpr std::int64_t pending_batch = 4096;
}  // namespace

// The connection, in WAL mode, with the schema in place (before any statement is prepared).
struct schema_db {
    sql::database db;
    explicit schema_db(const std::filesystem::path& file) : db(file, sql::database::mode::read_write_create) {
        // A bigger page cache and memory-mapped reads make the replay of a large journal fast.
        db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536; "
                "PRAGMA mmap_size=1073741824; PRAGMA wal_autocheckpoint=16384;");
        db.exec("BEGIN IMMEDIATE;");
        try {
            // A journal of a newer version is refused before anything is changed in it.
            if (int v = stored_version(); v > journal_schema_version)
                throw drover::error("journal " + file.string() + " has schema version " + std::to_string(v) +
                                    "; this drover reads up to " + std::to_string(journal_schema_version));
            db.exec(journal_schema);
            migrate();
            auto set = db.prepare("INSERT OR REPLACE INTO meta(key,value) VALUES('schema_version',?1)");
            set.bind(1, std::to_string(journal_schema_version)).run();
        } catch (...) {
            db.exec("ROLLBACK;");
            throw;
        }
        db.exec("COMMIT;");
    }

    int stored_version() {
        if (!db.prepare("SELECT 1 FROM sqlite_schema WHERE type='table' AND name='meta'").step()) return 0;
        auto v = db.prepare("SELECT value FROM meta WHERE key='schema_version'");
        return v.step() ? std::atoi(std::string(v.text_at(0)).c_str()) : 0;
    }

    bool has_column(const char* table, const char* column) {
        auto info = db.prepare(std::string("SELECT 1 FROM pragma_table_info('") + table + "') WHERE name='" + column + "'");
        return info.step();
    }

    // Version 1 needs nothing more than the tables it lacks (made above); version 2's task
    // JSON and process groups move to theirs.
    void migrate() {
        if (has_column("tasks", "spec")) db.exec(journal_move_specs);
        if (has_column("attempts", "pgid")) db.exec(journal_move_processes);
    }
};

// Connection and prepared statements, used by the writer thread only (after construction).
struct journal::writer_state : schema_db {
    std::string run_id;
    sql::statement begin, commit, run_insert, run_end, task_upsert, task_submit, spec_insert, task_running, task_set,
        attempt_insert, attempt_process, process_done, attempt_finish, outputs_clear, output_insert, checkpoint_set,
        checkpoint_clear;
    // Attempts with a row in attempt_processes ("task_id\nattempt"): written by this journal
    // only (rows of earlier runs are taken as leftovers when it opens), so an attempt that
    // never reported a process costs no DELETE when it ends.
    std::unordered_set<std::string> live_processes;

    explicit writer_state(const std::filesystem::path& file)
        : schema_db(file),
          begin(prep("BEGIN")),
          commit(prep("COMMIT")),
          run_insert(prep("INSERT OR REPLACE INTO runs(run_id,pid,started_ms,status,total,resumed) "
                          "VALUES(?1,?2,?3,'running',?4,?5)")),
          run_end(prep("UPDATE runs SET finished_ms=?2,status=?3,succeeded=?4,dead=?5,upstream_failed=?6,"
                       "skipped=?7,records=?8 WHERE run_id=?1")),
          task_upsert(prep("INSERT INTO tasks(task_id,state,run_id,updated_ms) VALUES(?1,'pending',?2,?3) "
                           "ON CONFLICT(task_id) DO UPDATE SET state='pending',run_id=?2,updated_ms=?3")),
          task_submit(prep("INSERT INTO tasks(task_id,state,run_id,updated_ms) VALUES(?1,'pending',?2,?3) "
                           "ON CONFLICT(task_id) DO UPDATE SET state='pending',run_id=?2,updated_ms=?3,"
                           "failure=NULL,message=NULL")),
          spec_insert(prep("INSERT OR REPLACE INTO task_specs(task_id,spec,parent) VALUES(?1,?2,?3)")),
          task_running(prep("UPDATE tasks SET state='running',attempts=attempts+1,run_id=?2,updated_ms=?3 "
                            "WHERE task_id=?1")),
          task_set(prep("UPDATE tasks SET state=?2,run_id=?3,updated_ms=?4,failure=?5,message=?6 WHERE task_id=?1")),
          attempt_insert(prep("INSERT OR REPLACE INTO attempts(run_id,task_id,attempt,executor,started_ms) "
                              "VALUES(?1,?2,?3,?4,?5)")),
          attempt_process(prep("INSERT OR REPLACE INTO attempt_processes(run_id,task_id,attempt,pgid,started) "
                               "VALUES(?1,?2,?3,?4,?5)")),
          process_done(prep("DELETE FROM attempt_processes WHERE run_id=?1 AND task_id=?2 AND attempt=?3")),
          attempt_finish(prep("UPDATE attempts SET finished_ms=?4,failure=?5,exit_code=?6,signal=?7,message=?8,"
                              "records=?9,bad_records=?10,elapsed_ms=?11 WHERE run_id=?1 AND task_id=?2 AND attempt=?3")),
          outputs_clear(prep("DELETE FROM outputs WHERE task_id=?1")),
          output_insert(prep("INSERT OR REPLACE INTO outputs(task_id,location,run_id,attempt) VALUES(?1,?2,?3,?4)")),
          checkpoint_set(prep("INSERT OR REPLACE INTO checkpoints(task_id,token,next_segment,run_id,attempt,updated_ms) "
                              "VALUES(?1,?2,?3,?4,?5,?6)")),
          checkpoint_clear(prep("DELETE FROM checkpoints WHERE task_id=?1")) {}

    sql::statement prep(std::string_view s) { return db.prepare(s); }

    // A task that entered while the run went: its row and its JSON.
    void submit(const std::string& id, const std::string& spec, const std::string* parent, std::int64_t t_ms) {
        task_submit.bind(1, id).bind(2, run_id).bind(3, t_ms).run();
        spec_insert.bind(1, id).bind(2, spec);
        if (parent) spec_insert.bind(3, *parent);
        else spec_insert.bind_null(3);
        spec_insert.run();
    }

    void apply(const op& o) {
        switch (o.k) {
            case op::kind::begin_run:
                run_id = o.text;
                run_insert.bind(1, run_id).bind(2, static_cast<std::int64_t>(::getpid())).bind(3, o.t_ms);
                run_insert.bind(4, o.n1).bind(5, o.n2).run();
                break;
            case op::kind::task_pending:
                for (std::size_t at = 0; at < o.text.size();) {
                    std::string_view id(o.text.c_str() + at);
                    task_upsert.bind(1, id).bind(2, run_id).bind(3, o.t_ms).run();
                    at += id.size() + 1;
                }
                break;
            case op::kind::task_submitted:
                submit(o.id, o.text, nullptr, o.t_ms);
                break;
            case op::kind::attempt_started:
                attempt_insert.bind(1, run_id).bind(2, o.id).bind(3, o.attempt).bind(4, o.text).bind(5, o.t_ms).run();
                task_running.bind(1, o.id).bind(2, run_id).bind(3, o.t_ms).run();
                break;
            case op::kind::attempt_process:
                attempt_process.bind(1, run_id).bind(2, o.id).bind(3, o.attempt).bind(4, o.n1).bind(5, o.text).run();
                live_processes.insert(o.id + '\n' + std::to_string(o.attempt));
                break;
            case op::kind::attempt_finished:
            case op::kind::attempt_ended: {
                if (!live_processes.empty()) {
                    if (auto it = live_processes.find(o.id + '\n' + std::to_string(o.attempt)); it != live_processes.end()) {
                        process_done.bind(1, run_id).bind(2, o.id).bind(3, o.attempt).run();
                        live_processes.erase(it);
                    }
                }
                auto fail = to_string(o.failure);
                attempt_finish.bind(1, run_id).bind(2, o.id).bind(3, o.attempt).bind(4, o.t_ms).bind(5, fail);
                if (o.exit_code >= 0) attempt_finish.bind(6, o.exit_code);
                if (o.signal) attempt_finish.bind(7, o.signal);
                attempt_finish.bind(8, o.text).bind(9, o.n1).bind(10, o.n2).bind(11, o.n3).run();
                if (o.k == op::kind::attempt_ended) break;
                task_set.bind(1, o.id).bind(2, to_string(o.state)).bind(3, run_id).bind(4, o.t_ms);
                if (o.failure != failure_class::none) task_set.bind(5, fail).bind(6, o.text);
                task_set.run();
                if (o.state == task_state::succeeded) {
                    // The sink's commit replaced whatever an earlier success published.
                    outputs_clear.bind(1, o.id).run();
                    for (const auto& loc : o.locations)
                        output_insert.bind(1, o.id).bind(2, loc).bind(3, run_id).bind(4, o.attempt).run();
                    // The children exist from the same transaction on, never without it.
                    for (const auto& c : o.children)
                        submit(c.id, c.spec, &o.id, o.t_ms);
                }
                break;
            }
            case op::kind::task_recovered:
                task_set.bind(1, o.id).bind(2, to_string(task_state::succeeded)).bind(3, run_id).bind(4, o.t_ms).run();
                outputs_clear.bind(1, o.id).run();
                for (const auto& loc : o.locations)
                    output_insert.bind(1, o.id).bind(2, loc).bind(3, run_id).bind(4, 0).run();
                break;
            case op::kind::task_checkpoint:
                if (o.text.empty()) {
                    checkpoint_clear.bind(1, o.id).run();
                    break;
                }
                checkpoint_set.bind(1, o.id).bind(2, o.text).bind(3, o.n1).bind(4, run_id).bind(5, o.attempt);
                checkpoint_set.bind(6, o.t_ms).run();
                // What the task has published now: its segments so far.
                outputs_clear.bind(1, o.id).run();
                for (const auto& loc : o.locations)
                    output_insert.bind(1, o.id).bind(2, loc).bind(3, run_id).bind(4, o.attempt).run();
                break;
            case op::kind::task_state:
                task_set.bind(1, o.id).bind(2, to_string(o.state)).bind(3, run_id).bind(4, o.t_ms);
                if (!o.text2.empty()) task_set.bind(5, o.text2);
                if (!o.text.empty()) task_set.bind(6, o.text);
                task_set.run();
                break;
            case op::kind::end_run:
                run_end.bind(1, run_id).bind(2, o.t_ms).bind(3, o.text);
                run_end.bind(4, static_cast<std::int64_t>(o.counts->succeeded))
                    .bind(5, static_cast<std::int64_t>(o.counts->dead))
                    .bind(6, static_cast<std::int64_t>(o.counts->upstream_failed))
                    .bind(7, static_cast<std::int64_t>(o.counts->skipped))
                    .bind(8, static_cast<std::int64_t>(o.counts->records))
                    .run();
                break;
        }
    }
};

journal::journal(const std::filesystem::path& state_dir, const journal_options& opts)
    : file_(journal_path(state_dir)), interval_(opts.commit_interval) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec) throw drover::error("cannot create state directory " + state_dir.string() + ": " + ec.message());

    auto lock_path = state_dir / "journal.lock";
    lock_fd_.reset(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!lock_fd_) throw drover::error("cannot open " + lock_path.string() + ": " + std::strerror(errno));
    std::optional<std::string> holder;
    try {
        holder = detail::lock_with_pid(lock_fd_.get(), lock_path);
    } catch (const std::system_error& e) {
        throw drover::error(e.what());
    }
    if (holder)
        throw drover::error("state directory " + state_dir.string() + " is in use by another drover run (pid " +
                            *holder + ")");

    w_ = std::make_unique<writer_state>(file_);
    auto& db = w_->db;
    db.exec("BEGIN IMMEDIATE;");
    try {
        auto get = db.prepare("SELECT value FROM meta WHERE key=?1");
        auto set = db.prepare("INSERT OR REPLACE INTO meta(key,value) VALUES(?1,?2)");
        get.bind(1, std::string_view("job_name"));
        std::optional<std::string> recorded;
        if (get.step()) recorded = std::string(get.text_at(0));
        get.reset();
        if (recorded && !opts.job_name.empty() && *recorded != opts.job_name && !opts.fresh)
            throw config_error("state directory " + state_dir.string() + " holds the journal of job '" + *recorded +
                               "', not '" + opts.job_name + "': use another state directory, or --fresh to start over");
        if (!opts.job_name.empty() && recorded != opts.job_name)
            set.bind(1, std::string_view("job_name")).bind(2, opts.job_name).run();
        // We hold the lock: a run still marked running belongs to a process that died.
        db.exec("UPDATE runs SET status='interrupted' WHERE status='running';");
        // Their attempts' process groups may still run (the watchdog died too, or was never
        // there): the executors kill what is left of them before this run starts anything.
        auto live = db.prepare("SELECT pgid, started FROM attempt_processes");
        while (live.step()) leftovers_.push_back({live.int_at(0), std::string(live.text_at(1))});
        live.reset();
        if (!leftovers_.empty()) db.exec("DELETE FROM attempt_processes;");
        if (opts.fresh)
            db.exec("DELETE FROM tasks; DELETE FROM task_specs; DELETE FROM outputs; DELETE FROM checkpoints;");
        db.exec("COMMIT;");
    } catch (...) {
        db.exec("ROLLBACK;");
        throw;
    }
}

journal::~journal() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_writer_.notify_all();
    if (writer_.joinable()) writer_.join();
}

void journal::replay(const std::function<void(const task_row&)>& f) {
    // Most journals have no submitted task: then the join (a lookup per row) is left out.
    bool specs = w_->db.prepare("SELECT 1 FROM task_specs LIMIT 1").step();
    auto q = w_->db.prepare(specs ? "SELECT task_id,state,attempts,failure,message,spec,parent FROM tasks "
                                    "LEFT JOIN task_specs USING(task_id)"
                                  : "SELECT task_id,state,attempts,failure,message FROM tasks");
    while (q.step()) {
        auto st = parse_task_state(q.text_at(1)).value_or(task_state::pending);
        task_row r{q.text_at(0), st, static_cast<int>(q.int_at(2)), q.text_at(3), q.text_at(4), {}, {}};
        if (specs) {
            r.spec = q.text_at(5);
            r.parent = q.text_at(6);
        }
        f(r);
    }
}

void journal::history(const std::function<void(std::string_view, std::int64_t)>& f) {
    // SQLite takes the bare column elapsed_ms from the row holding max(started_ms).
    auto q = w_->db.prepare("SELECT task_id,elapsed_ms,max(started_ms) FROM attempts "
                            "WHERE failure='none' AND elapsed_ms IS NOT NULL GROUP BY task_id");
    while (q.step()) f(q.text_at(0), q.int_at(1));
}

std::uint64_t journal::push(op&& o) {
    auto t0 = std::chrono::steady_clock::now();
    if (o.t_ms == 0) o.t_ms = unix_now_ms();  // the commit lag counts from here
    bool merged = false, wake = false;
    std::uint64_t seq = 0;
    {
        std::lock_guard lock(mutex_);
        if (!writer_.joinable()) writer_ = std::thread([this] {
            name_this_thread("drover-journal");
            writer_loop();
        });
        queued_ += o.weight();
        seq = queued_;
        // The writer has not taken the queue's last op yet: a pending batch can still grow.
        if (o.k == op::kind::task_pending && !queue_.empty() && queue_.back().k == op::kind::task_pending &&
            queue_.back().n1 < pending_batch) {
            queue_.back().text += o.text;
            queue_.back().n1 += o.n1;
            merged = true;
        } else {
            queue_.push_back(std::move(o));
        }
        wake = writer_idle_ && !merged;
        auto ns = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
        ++stats_.ops;
        stats_.total_enqueue_ns += ns;
        if (ns > stats_.max_enqueue_ns) stats_.max_enqueue_ns = ns;
    }
    if (wake) wake_writer_.notify_one();
    return seq;
}

std::uint64_t journal::begin_run(std::string_view run_id, std::size_t total, std::size_t resumed) {
    op o{op::kind::begin_run};
    o.text = run_id;
    o.t_ms = unix_now_ms();
    o.n1 = static_cast<std::int64_t>(total);
    o.n2 = static_cast<std::int64_t>(resumed);
    return push(std::move(o));
}

std::uint64_t journal::task_pending(std::string_view id) {
    op o{op::kind::task_pending};
    o.text.reserve(id.size() + 1);
    o.text.append(id).push_back('\0');
    o.n1 = 1;
    o.t_ms = unix_now_ms();
    return push(std::move(o));
}

std::uint64_t journal::attempt_started(std::string_view id, int attempt, std::string_view executor) {
    op o{op::kind::attempt_started};
    o.id = id;
    o.attempt = attempt;
    o.text = executor;
    o.t_ms = unix_now_ms();
    return push(std::move(o));
}

std::uint64_t journal::task_recovered(std::string_view id, std::vector<std::string> locations) {
    op o{op::kind::task_recovered};
    o.id = id;
    o.locations = std::move(locations);
    o.t_ms = unix_now_ms();
    return push(std::move(o));
}

std::uint64_t journal::task_checkpoint(std::string_view id, int attempt, std::string_view token,
                                       std::uint32_t next_segment, std::vector<std::string> locations) {
    op o{op::kind::task_checkpoint};
    o.id = id;
    o.attempt = attempt;
    o.text = token;
    o.n1 = next_segment;
    o.locations = std::move(locations);
    o.t_ms = unix_now_ms();
    return push(std::move(o));
}

void journal::checkpoints(
    const std::function<void(std::string_view id, std::string_view token, std::uint32_t next_segment)>& f) {
    auto q = w_->db.prepare("SELECT task_id,token,next_segment FROM checkpoints");
    while (q.step()) f(q.text_at(0), q.text_at(1), static_cast<std::uint32_t>(q.int_at(2)));
}

std::uint64_t journal::attempt_process(std::string_view id, int attempt, const process_ref& p) {
    op o{op::kind::attempt_process};
    o.id = id;
    o.attempt = attempt;
    o.n1 = p.pgid;
    o.text = p.started;
    return push(std::move(o));
}

std::uint64_t journal::attempt_ended(std::string_view id, const attempt_outcome& a) {
    return finish_attempt(id, a, task_state::running, nullptr, {}, false);
}

std::uint64_t journal::attempt_finished(std::string_view id, const attempt_outcome& a, task_state next,
                                        const committed_output* out, std::vector<child_row> children) {
    return finish_attempt(id, a, next, out, std::move(children), true);
}

std::uint64_t journal::finish_attempt(std::string_view id, const attempt_outcome& a, task_state next,
                                      const committed_output* out, std::vector<child_row> children, bool decides) {
    op o{decides ? op::kind::attempt_finished : op::kind::attempt_ended};
    o.id = id;
    o.state = next;
    o.failure = a.failure;
    o.attempt = a.attempt;
    o.exit_code = a.exit_code;
    o.signal = a.signal;
    o.text = a.message;
    o.n1 = static_cast<std::int64_t>(a.records);
    o.n2 = static_cast<std::int64_t>(a.bad_records);
    o.n3 = a.elapsed.count();
    o.t_ms = unix_now_ms();
    if (out) o.locations = out->locations;
    o.children = std::move(children);
    return push(std::move(o));
}

std::uint64_t journal::task_state_changed(std::string_view id, task_state s, std::string_view failure,
                                 std::string_view message) {
    op o{op::kind::task_state};
    o.id = id;
    o.state = s;
    o.text = message;
    o.text2 = failure;
    o.t_ms = unix_now_ms();
    return push(std::move(o));
}

std::uint64_t journal::end_run(std::string_view status, const progress& counts) {
    op o{op::kind::end_run};
    o.text = status;
    o.counts = std::make_unique<progress>(counts);
    o.t_ms = unix_now_ms();
    return push(std::move(o));
}

std::uint64_t journal::task_submitted(std::string_view id, std::string spec) {
    op o{op::kind::task_submitted};
    o.id = id;
    o.text = std::move(spec);
    o.t_ms = unix_now_ms();
    return push(std::move(o));
}

void journal::wait_committed(std::uint64_t seq) {
    std::unique_lock lock(mutex_);
    if (committed_ >= seq) return;
    flush_requested_ = true;
    wake_writer_.notify_one();
    committed_cv_.wait(lock, [&] { return committed_ >= seq || error_; });
    if (committed_ < seq && error_) std::rethrow_exception(error_);
}

void journal::flush() {
    std::unique_lock lock(mutex_);
    auto target = queued_;
    flush_requested_ = true;
    wake_writer_.notify_one();
    committed_cv_.wait(lock, [&] { return committed_ >= target || error_; });
    if (error_) std::rethrow_exception(error_);
}

std::exception_ptr journal::error() const {
    std::lock_guard lock(mutex_);
    return error_;
}

void journal::on_commit(std::function<void(std::size_t, std::int64_t)> f) {
    std::lock_guard lock(mutex_);
    on_commit_ = std::move(f);
}

journal::stats journal::statistics() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void journal::writer_loop() {
    std::deque<op> batch;
    auto last_commit = std::chrono::steady_clock::now() - interval_;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            writer_idle_ = true;
            wake_writer_.wait(lock, [&] { return ++stats_.writer_wakeups, !queue_.empty() || stopping_; });
            writer_idle_ = false;
            if (queue_.empty() && stopping_) return;
            // Group commit: let transitions gather for up to the interval since the last commit,
            // unless someone waits in flush() or the journal is closing.
            auto due = last_commit + interval_;
            wake_writer_.wait_until(lock, due, [&] { return ++stats_.writer_wakeups, flush_requested_ || stopping_; });
            batch.swap(queue_);
            flush_requested_ = false;
        }
        // Transactions of about max_rows rows: the page cache never spills mid-way, and a
        // reader (drover status) sees progress while a long backlog is written.
        constexpr std::size_t max_rows = 50000;
        try {
            for (std::size_t first = 0; first < batch.size();) {
                std::size_t last = first, rows = 0;
                w_->begin.run();
                for (; last < batch.size() && rows < max_rows; ++last) {
                    w_->apply(batch[last]);
                    rows += batch[last].weight();
                }
                w_->commit.run();
                std::function<void(std::size_t, std::int64_t)> report;
                {
                    std::lock_guard lock(mutex_);
                    committed_ += rows;
                    ++stats_.commits;
                    if (last < batch.size()) committed_cv_.notify_all();
                    report = on_commit_;
                }
                if (report) report(last - first, std::max<std::int64_t>(0, unix_now_ms() - batch[first].t_ms));
                first = last;
            }
        } catch (...) {
            try {
                w_->db.exec("ROLLBACK;");
            } catch (...) {
            }
            std::lock_guard lock(mutex_);
            error_ = std::current_exception();
            committed_cv_.notify_all();
            return;  // nothing more is written: a journal with a gap would lie
        }
        batch.clear();
        last_commit = std::chrono::steady_clock::now();
        committed_cv_.notify_all();
    }
}

}  // namespace drover::detail
