#include "journal/sqlite.hpp"

#include <drover/error.hpp>

#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <sqlite3.h>

namespace drover::detail::sql {

namespace {

// Bytes SQLite's URI parser takes as they are: all but '%', '?', '#' and control characters.
constexpr boost::urls::grammar::lut_chars uri_path_chars([](char c) {
    auto u = static_cast<unsigned char>(c);
    return !(c == '%' || c == '?' || c == '#' || u < 0x20 || u == 0x7f);
});

// "file:" URI for `path` (https://sqlite.org/uri.html): the bytes above kept, the rest as
// %XX, an absolute path behind an empty authority.
std::string file_uri(const std::filesystem::path& path, bool immutable) {
    std::string p = path.string(), out = p.starts_with('/') ? "file://" : "file:";
    out += boost::urls::encode(p, uri_path_chars);
    return out + (immutable ? "?mode=ro&immutable=1" : "?mode=ro");
}

}  // namespace

database::database(const std::filesystem::path& file, mode m) : file_(file) {
    int rc;
    if (m == mode::read_write_create) {
        rc = sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             nullptr);
    } else {
        rc = sqlite3_open_v2(file_uri(file, m == mode::read_only_immutable).c_str(), &db_,
                             SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr);
    }
    if (rc != SQLITE_OK) {
        std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
        sqlite3_close(db_);
        db_ = nullptr;
        throw error("journal " + file.string() + ": cannot open: " + msg);
    }
    sqlite3_extended_result_codes(db_, 1);
    // A reader (drover status) may meet a checkpoint in progress: wait instead of failing.
    sqlite3_busy_timeout(db_, 5000);
}

database::~database() { sqlite3_close_v2(db_); }

void database::fail(std::string_view what, int rc) const {
    std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    throw error("journal " + file_.string() + ": " + std::string(what) + ": " + msg);
}

void database::exec(std::string_view sql) {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw error("journal " + file_.string() + ": " + msg);
    }
}

statement database::prepare(std::string_view sql) { return statement(*this, sql); }

statement::statement(database& db, std::string_view sql) : db_(&db) {
    int rc = sqlite3_prepare_v3(db.handle(), sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &st_,
                                nullptr);
    if (rc != SQLITE_OK) db.fail("cannot prepare \"" + std::string(sql.substr(0, 60)) + "\"", rc);
}

statement::~statement() { sqlite3_finalize(st_); }

statement::statement(statement&& o) noexcept : db_(o.db_), st_(o.st_) { o.st_ = nullptr; }

statement& statement::bind(int i, std::int64_t v) {
    int rc = sqlite3_bind_int64(st_, i, v);
    if (rc != SQLITE_OK) db_->fail("bind", rc);
    return *this;
}

statement& statement::bind(int i, std::string_view v) {
    int rc = sqlite3_bind_text64(st_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK) db_->fail("bind", rc);
    return *this;
}

statement& statement::bind_null(int i) {
    int rc = sqlite3_bind_null(st_, i);
    if (rc != SQLITE_OK) db_->fail("bind", rc);
    return *this;
}

bool statement::step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    sqlite3_reset(st_);
    db_->fail("cannot execute \"" + std::string(sqlite3_sql(st_)).substr(0, 60) + "\"", rc);
}

void statement::run() {
    while (step()) {
    }
    reset();
}

void statement::reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
}

std::int64_t statement::int_at(int col) const { return sqlite3_column_int64(st_, col); }

std::string_view statement::text_at(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
    if (!p) return {};
    return {p, static_cast<std::size_t>(sqlite3_column_bytes(st_, col))};
}

bool statement::null_at(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

}  // namespace drover::detail::sql
