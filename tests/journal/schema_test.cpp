// The journal's schema: journals of earlier versions are brought up to date when opened (their
// rows kept), a newer one is refused untouched, and the tables every task writes stay narrow.
#include <doctest/doctest.h>

#include "support/support.hpp"

#include <drover/error.hpp>
#include <drover/journal.hpp>

#include "journal/journal.hpp"
#include "journal/schema.hpp"
#include "journal/sqlite.hpp"

#include <map>
#include <set>

using namespace drover;
using namespace drover::test;
using drover::detail::journal;
using drover::detail::sql::database;

namespace {

// Version 1 as drover wrote it (the tables runs and outputs did not change since).
constexpr const char* v1_tables = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs(run_id TEXT PRIMARY KEY, pid INTEGER NOT NULL, started_ms INTEGER NOT NULL,
  finished_ms INTEGER, status TEXT NOT NULL, total INTEGER NOT NULL, resumed INTEGER NOT NULL DEFAULT 0,
  succeeded INTEGER, dead INTEGER, upstream_failed INTEGER, skipped INTEGER, records INTEGER);
CREATE TABLE tasks(task_id TEXT PRIMARY KEY, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
  run_id TEXT, updated_ms INTEGER NOT NULL, failure TEXT, message TEXT) WITHOUT ROWID;
CREATE TABLE attempts(run_id TEXT NOT NULL, task_id TEXT NOT NULL, attempt INTEGER NOT NULL,
  executor TEXT NOT NULL, started_ms INTEGER NOT NULL, finished_ms INTEGER, failure TEXT, exit_code INTEGER,
  signal INTEGER, message TEXT, records INTEGER, bad_records INTEGER, elapsed_ms INTEGER,
  PRIMARY KEY(run_id, task_id, attempt)) WITHOUT ROWID;
CREATE TABLE outputs(task_id TEXT NOT NULL, location TEXT NOT NULL, run_id TEXT NOT NULL,
  attempt INTEGER NOT NULL, PRIMARY KEY(task_id, location)) WITHOUT ROWID;
INSERT INTO meta VALUES('job_name','j');
INSERT INTO runs(run_id,pid,started_ms,status,total) VALUES('r1',1,1,'finished',2);
INSERT INTO tasks(task_id,state,attempts,run_id,updated_ms) VALUES('a','succeeded',1,'r1',1);
INSERT INTO tasks(task_id,state,attempts,run_id,updated_ms,failure,message)
  VALUES('b','dead',2,'r1',1,'exit_code','exit code 3');
INSERT INTO attempts(run_id,task_id,attempt,executor,started_ms,finished_ms,failure)
  VALUES('r1','a',1,'local',1,2,'none');
INSERT INTO outputs VALUES('a','out/a.jsonl','r1',1);
)sql";

// What version 2 added to version 1: the task JSON in tasks, process groups in attempts.
constexpr const char* v2_additions = R"sql(
ALTER TABLE tasks ADD COLUMN spec TEXT;
ALTER TABLE tasks ADD COLUMN parent TEXT;
ALTER TABLE attempts ADD COLUMN pgid INTEGER;
ALTER TABLE attempts ADD COLUMN started TEXT;
CREATE INDEX attempts_live ON attempts(pgid) WHERE pgid IS NOT NULL;
INSERT INTO tasks(task_id,state,attempts,run_id,updated_ms,spec) VALUES('s','pending',0,'r1',1,'{"id":"s"}');
INSERT INTO tasks(task_id,state,attempts,run_id,updated_ms,spec,parent)
  VALUES('s.1','running',1,'r1',1,'{"id":"s.1"}','s');
INSERT INTO attempts(run_id,task_id,attempt,executor,started_ms,pgid,started)
  VALUES('r1','s.1',1,'local',1,4242,'boot:77');
)sql";

void make_journal(const fs::path& state, const std::string& version, bool v2) {
    fs::create_directories(state);
    database db(state / "journal.db", database::mode::read_write_create);
    db.exec(v1_tables);
    if (v2) db.exec(v2_additions);
    auto set = db.prepare("INSERT INTO meta VALUES('schema_version',?1)");
    set.bind(1, version).run();
}

std::set<std::string> columns(database& db, const std::string& table) {
    std::set<std::string> out;
    auto q = db.prepare("SELECT name FROM pragma_table_info('" + table + "')");
    while (q.step()) out.emplace(q.text_at(0));
    return out;
}

std::string meta(database& db, const std::string& key) {
    auto q = db.prepare("SELECT value FROM meta WHERE key=?1");
    q.bind(1, key);
    return q.step() ? std::string(q.text_at(0)) : "";
}

struct replayed {
    std::string state, spec, parent, failure, message;
    int attempts = 0;
};

std::map<std::string, replayed> replay(journal& j) {
    std::map<std::string, replayed> out;
    j.replay([&](const journal::task_row& r) {
        out[std::string(r.id)] = {std::string(to_string(r.state)), std::string(r.spec), std::string(r.parent),
                                  std::string(r.failure), std::string(r.message), r.attempts};
    });
    return out;
}

journal_options opts() {
    journal_options o;
    o.job_name = "j";
    return o;
}

}  // namespace

TEST_CASE("journal schema: a version 2 journal is upgraded on open - task JSON and process groups move, rows kept") {
    temp_dir d;
    make_journal(d / "st", "2", true);
    {
        journal j(d / "st", opts());
        // The attempt that never finished is a leftover to kill, found in its new table.
        REQUIRE(j.leftovers().size() == 1);
        CHECK(j.leftovers()[0].pgid == 4242);
        CHECK(j.leftovers()[0].started == "boot:77");
        auto rows = replay(j);
        REQUIRE(rows.size() == 4);
        CHECK(rows["a"].state == "succeeded");
        CHECK(rows["b"].failure == "exit_code");
        CHECK(rows["b"].message == "exit code 3");
        CHECK(rows["b"].attempts == 2);
        CHECK(rows["a"].spec.empty());
        CHECK(rows["s"].spec == R"({"id":"s"})");
        CHECK(rows["s"].parent.empty());
        CHECK(rows["s.1"].spec == R"({"id":"s.1"})");
        CHECK(rows["s.1"].parent == "s");
    }
    database db(d / "st" / "journal.db", database::mode::read_only);
    CHECK(meta(db, "schema_version") == std::to_string(drover::detail::journal_schema_version));
    CHECK(columns(db, "tasks").count("spec") == 0);
    CHECK(columns(db, "attempts").count("pgid") == 0);
    // The leftovers were taken: the next open does not kill them again.
    auto q = db.prepare("SELECT count(*) FROM attempt_processes");
    REQUIRE(q.step());
    CHECK(q.int_at(0) == 0);
    auto o = db.prepare("SELECT location FROM outputs WHERE task_id='a'");
    REQUIRE(o.step());
    CHECK(o.text_at(0) == "out/a.jsonl");
}

TEST_CASE("journal schema: a version 1 journal is upgraded on open and replays as it was") {
    temp_dir d;
    make_journal(d / "st", "1", false);
    {
        journal j(d / "st", opts());
        CHECK(j.leftovers().empty());
        auto rows = replay(j);
        REQUIRE(rows.size() == 2);
        CHECK(rows["a"].state == "succeeded");
        CHECK(rows["b"].state == "dead");
        CHECK(rows["b"].spec.empty());
    }
    database db(d / "st" / "journal.db", database::mode::read_only);
    CHECK(meta(db, "schema_version") == std::to_string(drover::detail::journal_schema_version));
    CHECK(columns(db, "task_specs") == std::set<std::string>{"task_id", "spec", "parent"});
}

TEST_CASE("journal schema: a journal of a newer version is refused and left as it was") {
    temp_dir d;
    make_journal(d / "st", "99", true);
    CHECK_THROWS_WITH_AS(journal(d / "st", opts()), doctest::Contains("schema version 99"), drover::error);
    database db(d / "st" / "journal.db", database::mode::read_only);
    CHECK(meta(db, "schema_version") == "99");
    CHECK(columns(db, "attempts").count("pgid") == 1);  // not migrated as if it were version 2
    CHECK(columns(db, "tasks").count("spec") == 1);
}

TEST_CASE("journal schema: the tables every task writes stay within SQLite's fast key comparison (13 columns)") {
    // Past 13 columns SQLite compares the keys of a WITHOUT ROWID table with its generic
    // record comparison: the writer spent 7% more instructions per task when attempts had 15.
    temp_dir d;
    { journal j(d / "st", opts()); }
    database db(d / "st" / "journal.db", database::mode::read_only);
    auto q = db.prepare("SELECT name FROM sqlite_schema WHERE type='table' AND sql LIKE '%WITHOUT ROWID%'");
    std::vector<std::string> tables;
    while (q.step()) tables.emplace_back(q.text_at(0));
    CHECK(tables.size() >= 5);
    for (const auto& t : tables) {
        INFO("table " << t);
        CHECK(columns(db, t).size() <= 13);
    }
    CHECK(columns(db, "tasks").size() <= 7);  // updated two or three times per task
}
