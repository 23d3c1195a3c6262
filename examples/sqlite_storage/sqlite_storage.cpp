// sqlite_storage: the four primitives of drover::storage over one SQLite table.

#include "sqlite_storage.hpp"

#include <drover/error.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <sstream>

namespace sqlite_example {

namespace {

// Statements and the connection, closed on every path.
struct statement {
    sqlite3_stmt* s = nullptr;
    statement(sqlite3* db, const std::string& sql) {
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK)
            throw drover::sink_error(std::string("sqlite: ") + sqlite3_errmsg(db) + " in: " + sql);
    }
    ~statement() { sqlite3_finalize(s); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
};

[[noreturn]] void fail(sqlite3* db, const std::string& what) {
    throw drover::sink_error("sqlite: " + what + ": " + sqlite3_errmsg(db));
}

std::string read_whole(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) throw drover::sink_error("sqlite: cannot read staged chunk " + p.string());
    return {std::istreambuf_iterator<char>(in), {}};
}

// Opens `path` with `flags`; throws naming the file.
sqlite3* open_db(const std::filesystem::path& path, int flags) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
        std::string why = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        throw drover::sink_error("sqlite: cannot open " + path.string() + ": " + why);
    }
    return db;
}

// Calls on_row(statement) for each row of `select` (ending in "FROM table") whose name starts
// with `prefix`, in name order. substr() compares bytes: LIKE would treat '_' and '%' in names
// as patterns.
template <class F>
void each_with_prefix(sqlite3* db, const std::string& select, std::string_view prefix, F on_row) {
    statement st(db, select + " WHERE substr(name, 1, ?1) = ?2 ORDER BY name");
    sqlite3_bind_int(st.s, 1, static_cast<int>(prefix.size()));
    sqlite3_bind_text(st.s, 2, prefix.data(), static_cast<int>(prefix.size()), SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) on_row(st.s);
    if (rc != SQLITE_DONE) fail(db, "cannot read rows under \"" + std::string(prefix) + "\"");
}

std::string bytes_at(sqlite3_stmt* s, int col) {
    return {static_cast<const char*>(sqlite3_column_blob(s, col)), static_cast<std::size_t>(sqlite3_column_bytes(s, col))};
}

bool valid_table(const std::string& t) {
    return !t.empty() && t.size() <= 64 && !(t[0] >= '0' && t[0] <= '9') &&
           std::all_of(t.begin(), t.end(), [](char c) {
               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
           });
}

}  // namespace

sqlite_storage::sqlite_storage(sqlite_storage_options o) : opts_(std::move(o)) {
    if (opts_.db.empty()) throw drover::config_error("sqlite storage: db must not be empty");
    if (!valid_table(opts_.table))
        throw drover::config_error("sqlite storage: table \"" + opts_.table + "\" is not letters, digits and '_'");
    opts_.db = std::filesystem::absolute(opts_.db);
}

sqlite_storage::~sqlite_storage() { stop(); }

std::string sqlite_storage::describe() const { return opts_.db.string() + " (table " + opts_.table + ")"; }

std::filesystem::path sqlite_storage::start(const drover::sink_context&) {
    std::lock_guard lock(mutex_);
    if (db_) throw drover::sink_error("sqlite storage " + describe() + ": already started");
    if (opts_.db.has_parent_path()) std::filesystem::create_directories(opts_.db.parent_path());
    db_ = open_db(opts_.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sqlite3_busy_timeout(db_, 10'000);
    exec("PRAGMA journal_mode = WAL");
    exec(opts_.fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = OFF");
    exec(("CREATE TABLE IF NOT EXISTS " + opts_.table +
          " (name TEXT PRIMARY KEY, records BLOB NOT NULL, bytes INTEGER NOT NULL)")
             .c_str());
    return opts_.db.string() + ".spool";
}

void sqlite_storage::stop() noexcept {
    std::lock_guard lock(mutex_);
    sqlite3_close(db_);
    db_ = nullptr;
}

void sqlite_storage::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string why = err ? err : "unknown error";
        sqlite3_free(err);
        throw drover::sink_error("sqlite: " + why + " in: " + sql);
    }
}

template <class F>
void sqlite_storage::transaction(F body) {
    exec("BEGIN IMMEDIATE");
    try {
        body();
        exec("COMMIT");  // durable here with synchronous = FULL
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

void sqlite_storage::put(const std::vector<drover::staged_object>& objects) {
    std::lock_guard lock(mutex_);
    transaction([&] {
        statement st(db_, "INSERT OR REPLACE INTO " + opts_.table + " (name, records, bytes) VALUES (?, ?, ?)");
        for (const auto& o : objects) {
            std::string data = read_whole(o.file);
            sqlite3_bind_text(st.s, 1, o.name.data(), static_cast<int>(o.name.size()), SQLITE_STATIC);
            sqlite3_bind_blob64(st.s, 2, data.data(), data.size(), SQLITE_STATIC);
            sqlite3_bind_int64(st.s, 3, static_cast<sqlite3_int64>(data.size()));
            if (sqlite3_step(st.s) != SQLITE_DONE) fail(db_, "cannot put " + o.name);
            sqlite3_reset(st.s);
        }
    });
}

void sqlite_storage::remove(const std::vector<std::string>& names) {
    std::lock_guard lock(mutex_);
    transaction([&] {
        statement st(db_, "DELETE FROM " + opts_.table + " WHERE name = ?");
        for (const auto& n : names) {
            sqlite3_bind_text(st.s, 1, n.data(), static_cast<int>(n.size()), SQLITE_STATIC);
            if (sqlite3_step(st.s) != SQLITE_DONE) fail(db_, "cannot remove " + n);
            sqlite3_reset(st.s);
        }
    });
}

std::vector<std::string> sqlite_storage::list(std::string_view prefix) {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    each_with_prefix(db_, "SELECT name FROM " + opts_.table, prefix, [&](sqlite3_stmt* s) { out.push_back(bytes_at(s, 0)); });
    return out;
}

std::string sqlite_storage::location(std::string_view name) const {
    return "sqlite:" + opts_.db.string() + "?table=" + opts_.table + "#" + std::string(name);
}

drover::storage_sink make_sink(sqlite_storage_options where, drover::storage_sink_options how) {
    how.fsync = where.fsync;
    return drover::storage_sink(std::make_shared<sqlite_storage>(std::move(where)), std::move(how));
}

std::vector<chunk_row> read_chunks(const std::filesystem::path& db, const std::string& table, const std::string& prefix) {
    if (!valid_table(table)) throw drover::config_error("sqlite: bad table name \"" + table + "\"");
    sqlite3* h = open_db(db, SQLITE_OPEN_READONLY);
    std::vector<chunk_row> out;
    try {
        each_with_prefix(h, "SELECT name, records FROM " + table, prefix,
                         [&](sqlite3_stmt* s) { out.push_back({bytes_at(s, 0), bytes_at(s, 1)}); });
    } catch (...) {
        sqlite3_close(h);
        throw;
    }
    sqlite3_close(h);
    return out;
}

struct sqlite_sink_options {
    sqlite_storage_options where;
    drover::storage_sink_options how;
};

void add_to(drover::kinds& k) {
    k.add_sink<sqlite_sink_options>(
        "sqlite", {
                      .read =
                          [](const drover::job_table& t) {
                              t.check_keys({"kind", "path", "table", "partition", "max_records", "max_bytes",
                                            "compression_level", "fsync"});
                              sqlite_sink_options o;
                              o.where.db = t.required(t.get_string("path"), "path", " (the database, e.g. \"out/days.db\")");
                              if (o.where.db.empty()) t.fail("path", "must not be empty");
                              if (auto v = t.get_string("table")) {
                                  if (!valid_table(*v)) t.fail("table", "must be letters, digits and '_'");
                                  o.where.table = *v;
                              }
                              if (auto v = t.get_string("partition")) o.how.partition = *v;
                              if (auto v = t.get_int("max_records", 0)) o.how.max_records = static_cast<std::uint64_t>(*v);
                              if (auto v = t.get_size("max_bytes")) o.how.max_bytes = *v;
                              if (auto v = t.get_int("compression_level", 0, 9)) o.how.compression_level = static_cast<int>(*v);
                              if (auto v = t.get_bool("fsync")) o.where.fsync = *v;
                              return o;
                          },
                      .make =
                          [](const sqlite_sink_options& o) {
                              return std::make_shared<drover::storage_sink>(make_sink(o.where, o.how));
                          },
                      .location = [](const sqlite_sink_options& o) { return "sqlite:" + o.where.db.string(); },
                      .partition = [](const sqlite_sink_options& o) { return o.how.partition; },
                  });
}

}  // namespace sqlite_example
