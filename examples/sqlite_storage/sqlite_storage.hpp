#pragma once
// A complete small storage (docs/extending.md, "Writing a storage"): drover's chunks as rows of
// a SQLite table, `name TEXT PRIMARY KEY, records BLOB, bytes INTEGER`. drover::storage_sink
// does the rest — staging, rotation, partitions, manifests, exactly-once replacement, chunks
// kept for the next run — so the storage is its four primitives.
//
// It is also a sink kind, "sqlite", for job files:
//
//   [sink]
//   kind = "sqlite"
//   path = "out/days.db"       # the database (made if missing)
//   table = "chunks"           # optional
//   partition = "date={date}"  # and the other storage_sink settings: max_records, max_bytes,
//                              # compression_level, fsync

#include <drover/kinds.hpp>
#include <drover/storage_sink.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct sqlite3;

namespace sqlite_example {

struct sqlite_storage_options {
    std::filesystem::path db{};   ///< the database file (made if missing)
    std::string table = "chunks"; ///< letters, digits and '_'
    bool fsync = true;            ///< PRAGMA synchronous = FULL; otherwise OFF
};

class sqlite_storage final : public drover::storage {
public:
    /// Throws drover::config_error for an empty path or a bad table name.
    explicit sqlite_storage(sqlite_storage_options o);
    ~sqlite_storage() override;

    std::string name() const override { return "sqlite"; }
    std::string describe() const override;
    /// Opens the database and makes the table; the sink's spool is `<db>.spool/`.
    std::filesystem::path start(const drover::sink_context& ctx) override;
    void stop() noexcept override;
    /// One transaction for all the objects: each row replaced whole.
    void put(const std::vector<drover::staged_object>& objects) override;
    void remove(const std::vector<std::string>& names) override;
    std::vector<std::string> list(std::string_view prefix) override;
    std::string location(std::string_view name) const override;

private:
    void exec(const char* sql);
    template <class F>
    void transaction(F body);  // BEGIN IMMEDIATE; body; COMMIT (ROLLBACK when it throws)
    sqlite_storage_options opts_;
    std::mutex mutex_;  // one connection, used by the sink's publish threads in turn
    sqlite3* db_ = nullptr;
};

/// A storage_sink over sqlite_storage.
drover::storage_sink make_sink(sqlite_storage_options where, drover::storage_sink_options how);

/// A row of the table, for readers and tests.
struct chunk_row {
    std::string name;
    std::string gzip;  ///< the chunk as published: gzip JSON lines
};
/// Every row whose name starts with `prefix`, in name order.
std::vector<chunk_row> read_chunks(const std::filesystem::path& db, const std::string& table = "chunks",
                                   const std::string& prefix = {});

/// Adds the "sqlite" sink kind.
void add_to(drover::kinds& k);

}  // namespace sqlite_example
