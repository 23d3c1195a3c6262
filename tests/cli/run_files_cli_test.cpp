// The files `drover run` writes (issue 18): every JSON file is valid UTF-8 that Python's
// json module reads (defect 5), and the attempt log and bad records are bounded (defect 12).
#include <doctest/doctest.h>

#include "support/support.hpp"

#include <boost/json.hpp>

using namespace drover::test;

namespace {

command_result drover_cli(const temp_dir& d, const std::string& args) {
    return run_shell("cd " + d.path().string() + " && " + DROVER_CLI_PATH + " " + args + " 2>&1");
}

// Python's strict UTF-8 decoder and json module over every line of every file given.
command_result python_reads_json_lines(const std::vector<fs::path>& files) {
    std::string list;
    for (auto& f : files) list += " '" + f.string() + "'";
    return run_shell("/usr/bin/python3 -c '\n"
                     "import json, sys\n"
                     "n = 0\n"
                     "for f in sys.argv[1:]:\n"
                     "    with open(f, encoding=\"utf-8\", errors=\"strict\") as h:\n"
                     "        for line in h:\n"
                     "            json.loads(line); n += 1\n"
                     "print(n)\n"
                     "'" + list + " 2>&1");
}

}  // namespace

TEST_CASE("cli run files: bad records, dead letters, the summary and alerts are UTF-8 JSON for Python" *
          doctest::timeout(60)) {
    temp_dir d;
    // stdout: an overlong '/', a UTF-16 surrogate, a code point past U+10FFFF, a lone
    // continuation byte, a truncated sequence, and one valid line with a 4-byte character.
    // stderr: bytes that are not UTF-8 at all. Then the task fails, once.
    write_file(d / "job.toml",
               "name = \"utf\"\n[on_failure]\ncommand = [\"sh\", \"-c\", \"cat > alert-$DROVER_ALERT_EVENT.json\"]\n"
               "[[tasks]]\nid = \"a\"\ncommand = [\"sh\", \"-c\", \""
               "printf 'x\\\\300\\\\257y\\\\n'; printf 'x\\\\355\\\\240\\\\200y\\\\n'; printf 'x\\\\364\\\\220\\\\200\\\\200y\\\\n'; "
               "printf '\\\\200\\\\n'; printf 'x\\\\342\\\\202\\\\n'; printf 'ok \\\\360\\\\237\\\\230\\\\200\\\\n'; "
               "printf 'err \\\\377\\\\376 \\\\300\\\\257 end\\\\n' >&2; exit 5\"]\n");
    auto r = drover_cli(d, "run job.toml --quiet");
    CHECK(r.exit_code == 1);
    auto run = d / ".drover" / "utf" / "runs" / "latest";
    auto bad = split_lines(read_file(run / "bad-records.jsonl"));
    REQUIRE(bad.size() == 6);
    // Only the last line is UTF-8: it keeps its text; the others their exact bytes in hex.
    for (int i = 0; i < 5; ++i) {
        CAPTURE(bad[i]);
        auto j = boost::json::parse(bad[i]).as_object();
        CHECK(j.contains("hex"));
        CHECK_FALSE(j.contains("text"));
    }
    CHECK(boost::json::parse(bad[0]).at("hex").as_string() == "78c0af79");
    CHECK(boost::json::parse(bad[5]).at("text").as_string() == "ok \xf0\x9f\x98\x80");

    std::vector<fs::path> files{run / "bad-records.jsonl", run / "dead-letter.jsonl", run / "summary.json",
                                d / "alert-task_dead.json", d / "alert-run_failed.json"};
    auto py = python_reads_json_lines(files);
    CHECK_MESSAGE(py.exit_code == 0, py.output);
    CHECK(py.output == "10\n");
    auto dead = boost::json::parse(read_file(run / "dead-letter.jsonl")).as_object();
    CHECK(dead.at("stderr_tail").as_array().at(0).as_string() == "err \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd end");
}

TEST_CASE("cli run files: [limits] bound the attempt log and bad records, keeping head and tail" *
          doctest::timeout(60)) {
    temp_dir d;
    // 4 MiB of stderr and 20,000 bad lines, each numbered; then the task succeeds.
    write_file(d / "job.toml",
               "name = \"flood\"\n[limits]\nstderr_log_bytes = \"64KiB\"\nbad_record_bytes = \"64KiB\"\n"
               "[[tasks]]\nid = \"a\"\ncommand = [\"sh\", \"-c\", "
               "\"echo FIRST >&2; head -c 4194304 /dev/zero | tr '\\\\0' e >&2; echo LAST >&2; "
               "seq 1 20000 | sed 's/^/bad /'; echo '{\\\"ok\\\":1}'\"]\n");
    auto r = drover_cli(d, "run job.toml --quiet");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    auto run = d / ".drover" / "flood" / "runs" / "latest";
    auto log = read_file(run / "logs" / "a.1.stderr");
    CHECK(log.size() <= 64 * 1024 + 200);
    CHECK(log.starts_with("FIRST\n"));
    CHECK(log.ends_with("LAST\n"));
    CHECK(log.find("bytes of stderr not kept") != std::string::npos);

    auto bad = read_file(run / "bad-records.jsonl");
    CHECK(bad.size() <= 64 * 1024 + 400);
    auto lines = split_lines(bad);
    REQUIRE(lines.size() > 10);
    CHECK(boost::json::parse(lines.front()).at("text").as_string() == "bad 1");
    CHECK(boost::json::parse(lines.back()).at("text").as_string() == "bad 20000");
    std::uint64_t dropped = 0, kept = 0;
    for (auto& l : lines) {
        auto j = boost::json::parse(l).as_object();
        if (j.contains("dropped")) dropped += j.at("dropped").to_number<std::uint64_t>();
        else ++kept;
    }
    CHECK(kept + dropped == 20000);
    CHECK(dropped > 0);
    auto py = python_reads_json_lines({run / "bad-records.jsonl"});
    CHECK_MESSAGE(py.exit_code == 0, py.output);
}

TEST_CASE("cli run files: max_bad_records fails the attempt once exceeded" * doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml",
               "name = \"strict\"\n[limits]\nmax_bad_records = 100\n"
               "[[tasks]]\nid = \"a\"\ncommand = [\"sh\", \"-c\", \"seq 1 100; echo '{\\\"x\\\":1}'\"]\n"
               "[[tasks]]\nid = \"b\"\ncommand = [\"sh\", \"-c\", \"seq 1 101; sleep 30\"]\n");
    auto r = drover_cli(d, "run job.toml --quiet");
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("1 succeeded, 1 dead") != std::string::npos);
    CHECK(r.output.find("more than 100 bad records") != std::string::npos);
}
