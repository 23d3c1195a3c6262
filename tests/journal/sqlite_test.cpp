// The SQLite layer (journal/sqlite.hpp): read-only opens go through a "file:" URI, so a path
// with the bytes SQLite's URI parser gives meaning to must still name the same file.
#include <doctest/doctest.h>

#include "journal/sqlite.hpp"
#include "support/support.hpp"

#include <drover/error.hpp>

using drover::detail::sql::database;
using namespace drover::test;

TEST_CASE("sqlite: read-only opens find files whose paths hold %, ?, #, spaces and non-ASCII") {
    temp_dir d;
    for (const char* name : {"plain", "a%41b", "50%", "q?mode=rwc", "h#frag", "sp ace", "caf\xc3\xa9", "%2F..%2F",
                             "nl\nx", "&immutable=0"}) {
        CAPTURE(name);
        auto dir = d / name;
        fs::create_directories(dir);
        {
            database w(dir / "j.db", database::mode::read_write_create);
            w.exec("CREATE TABLE t(v TEXT); INSERT INTO t VALUES('ok')");
        }
        for (auto m : {database::mode::read_only, database::mode::read_only_immutable}) {
            database r(dir / "j.db", m);
            auto q = r.prepare("SELECT v FROM t");
            REQUIRE(q.step());
            CHECK(q.text_at(0) == "ok");
            CHECK_THROWS_AS(r.exec("INSERT INTO t VALUES('no')"), drover::error);
        }
    }
    // Unescaped, "a%41b" would name "aAb", "q?mode=rwc" would end the path at "q" and set
    // a mode, "h#frag" would end it at "h": none of those exist.
    CHECK_FALSE(fs::exists(d / "aAb"));
    CHECK_FALSE(fs::exists(d / "q"));
    CHECK_FALSE(fs::exists(d / "h"));
}
