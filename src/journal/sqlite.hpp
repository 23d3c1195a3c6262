#pragma once
// A thin RAII layer over the SQLite C API: a connection and prepared statements whose
// errors throw drover::error carrying SQLite's message and the file.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace drover::detail::sql {

class statement;

class database {
public:
    /// read_only opens with SQLite's `mode=ro`: nothing is written, but a WAL database may
    /// still need its -shm (and -wal) file, created if missing. read_only_immutable adds
    /// `immutable=1`: no locks, no -shm, for a file nothing can change (read-only media).
    enum class mode { read_write_create, read_only, read_only_immutable };
    database(const std::filesystem::path& file, mode m);
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    /// Runs one or more statements without results.
    void exec(std::string_view sql);
    statement prepare(std::string_view sql);
    [[noreturn]] void fail(std::string_view what, int rc) const;
    sqlite3* handle() const noexcept { return db_; }
    const std::filesystem::path& file() const noexcept { return file_; }

private:
    sqlite3* db_ = nullptr;
    std::filesystem::path file_;
};

class statement {
public:
    statement(database& db, std::string_view sql);
    ~statement();
    statement(statement&& o) noexcept;
    statement& operator=(statement&&) = delete;
    statement(const statement&) = delete;

    // Bind by 1-based index. Text is copied by SQLite (SQLITE_TRANSIENT).
    statement& bind(int i, std::int64_t v);
    statement& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
    statement& bind(int i, std::string_view v);
    statement& bind_null(int i);

    /// Steps once: true when a row is available, false when done. Throws on errors.
    bool step();
    /// Steps to completion and resets (for INSERT/UPDATE/DELETE).
    void run();
    void reset();

    std::int64_t int_at(int col) const;
    std::string_view text_at(int col) const;  ///< valid until the next step/reset
    bool null_at(int col) const;

private:
    database* db_;
    sqlite3_stmt* st_ = nullptr;
};

}  // namespace drover::detail::sql
