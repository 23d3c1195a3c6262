// The CLI against hostile job files (issue 18): no crash, `validate` runs every check `run`
// runs, secrets in URLs never echoed, control characters never reach the terminal.
#include <doctest/doctest.h>

#include "support/support.hpp"

using namespace drover::test;

namespace {

command_result drover_cli(const temp_dir& d, const std::string& args) {
    return run_shell("cd " + d.path().string() + " && " + DROVER_CLI_PATH + " " + args + " 2>&1");
}

const std::string one_task = "[[tasks]]\nid = \"a\"\ncommand = [\"true\"]\n";

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

// Bytes a terminal would act on: C0 controls other than newline and tab, DEL, and the C1
// controls (U+0080..U+009F, C2 80..C2 9F in UTF-8).
bool has_control(const std::string& text) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return true;
        if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xa0 &&
            static_cast<unsigned char>(text[i + 1]) >= 0x80)
            return true;
    }
    return false;
}

}  // namespace

#define CHECK_HAS(msg, part) CHECK_MESSAGE(has(msg, part), "output: " << (msg))
#define CHECK_LACKS(msg, part) CHECK_MESSAGE(!has(msg, part), "output: " << (msg))

TEST_CASE("cli hostile: a 100 KB dotted key is refused with a located error, not a crash" * doctest::timeout(60)) {
    temp_dir d;
    std::string key = "zz";
    while (key.size() < 100'000) key += ".a";
    write_file(d / "keys.toml", "name = \"t\"\n" + key + " = 1\n" + one_task);
    auto r = drover_cli(d, "validate keys.toml");
    CHECK(r.exit_code == 2);
    CHECK_HAS(r.output, "keys.toml:2:");
    CHECK_HAS(r.output, "dotted");

    std::string header = "[zz";
    while (header.size() < 100'000) header += ".a";
    write_file(d / "header.toml", "name = \"t\"\n" + one_task + header + "]\n");
    r = drover_cli(d, "validate header.toml");
    CHECK(r.exit_code == 2);
    CHECK_HAS(r.output, "header.toml:5:");

    std::string inline_keys = "x = { a";
    for (int i = 0; i < 50'000; ++i) inline_keys += ".a";
    write_file(d / "inline.toml", "name = \"t\"\n" + inline_keys + " = 1 }\n" + one_task);
    r = drover_cli(d, "run inline.toml");
    CHECK(r.exit_code == 2);
    CHECK_HAS(r.output, "inline.toml:2:");
}

TEST_CASE("cli hostile: validate refuses the partitions and endpoints that run refuses, located" *
          doctest::timeout(60)) {
    temp_dir d;
    for (std::string partition : {"../escape", "/abs", "./a", "a/../../b"}) {
        CAPTURE(partition);
        write_file(d / "job.toml", "name = \"t\"\n[sink]\nkind = \"file\"\npath = \"out\"\npartition = \"" +
                                       partition + "\"\n" + one_task);
        auto v = drover_cli(d, "validate job.toml");
        CHECK(v.exit_code == 2);
        CHECK_HAS(v.output, "job.toml:5:13: sink.partition:");
        auto r = drover_cli(d, "run job.toml --quiet");
        CHECK(r.exit_code == 2);
        CHECK_HAS(r.output, "job.toml:5:13: sink.partition:");
    }
    write_file(d / "s3.toml", "name = \"t\"\n[sink]\nkind = \"s3\"\npath = \"s3://bucket/p\"\n"
                              "endpoint = \"http://AKIAX:hunter2secret@127.0.0.1:9000\"\n" + one_task);
    auto v = drover_cli(d, "validate s3.toml");
    CHECK(v.exit_code == 2);
    CHECK_HAS(v.output, "s3.toml:5:12: sink.endpoint:");
    CHECK_HAS(v.output, "127.0.0.1");
    CHECK_LACKS(v.output, "hunter2secret");
    CHECK_LACKS(v.output, "AKIAX");
}

TEST_CASE("cli hostile: URL errors name the host and the problem, never userinfo, path or query" *
          doctest::timeout(60)) {
    temp_dir d;
    auto check = [&](const std::string& table, const std::string& secret, const std::string& host) {
        CAPTURE(table);
        write_file(d / "job.toml", "name = \"t\"\n" + table + one_task);
        for (const char* cmd : {"validate job.toml", "run job.toml --quiet"}) {
            auto r = drover_cli(d, cmd);
            CHECK(r.exit_code == 2);
            CHECK_HAS(r.output, "job.toml:");
            CHECK_HAS(r.output, host);
            CHECK_LACKS(r.output, secret);
        }
    };
    check("[on_failure]\nwebhook = \"https://bob:pa55word@hooks.example.test/x\"\n", "pa55word", "hooks.example.test");
    check("[on_failure]\nwebhook = \"https://hooks.example.test/services/T0/s3cr3t-t0ken here?k=v\"\n", "s3cr3t-t0ken",
          "hooks.example.test");
    check("[on_failure]\nwebhook = \"https://hooks.example.test:99999/services/s3cr3t-t0ken\"\n", "s3cr3t-t0ken",
          "hooks.example.test");
    check("[on_failure]\nwebhook = \"ftp://hooks.example.test/s3cr3t-t0ken\"\n", "s3cr3t-t0ken", "hooks.example.test");
    check("[[executors]]\nkind = \"docker\"\nhosts = [\"tcp://admin:d0ckerpw@10.0.0.5:2376\"]\n", "d0ckerpw",
          "10.0.0.5");
}

TEST_CASE("cli hostile: control characters from task stderr and job files never reach the terminal" *
          doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", "name = \"t\"\n[[tasks]]\nid = \"a\"\n"
                               "command = [\"sh\", \"-c\", \"printf 'x\\\\033[31mRED\\\\007\\\\302\\\\233y\\\\n' >&2; "
                               "printf 'junk\\\\033]0;title\\\\007\\\\n'; exit 3\"]\n");
    auto r = drover_cli(d, "run job.toml");
    CHECK(r.exit_code == 1);
    CHECK_HAS(r.output, "RED");
    CHECK_MESSAGE(!has_control(r.output), "output: " << r.output);

    write_file(d / "key.toml", "name = \"t\"\n\"evil\\u001b[2J\\u009b31m\" = 1\n" + one_task);
    r = drover_cli(d, "validate key.toml");
    CHECK(r.exit_code == 2);
    CHECK_HAS(r.output, "key.toml:2:1:");
    CHECK_MESSAGE(!has_control(r.output), "output: " << r.output);

    write_file(d / "cmd.toml", "name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = [\"echo\\u001b[2J\", \"\\u0007\"]\n");
    r = drover_cli(d, "validate cmd.toml");
    CHECK(r.exit_code == 0);
    CHECK_MESSAGE(!has_control(r.output), "output: " << r.output);
}

TEST_CASE("cli hostile: drover status errors say what failed, not 'cannot run'" * doctest::timeout(60)) {
    temp_dir d;
    auto r = drover_cli(d, "status --state nowhere");
    CHECK(r.exit_code == 2);
    CHECK_HAS(r.output, "no journal");
    CHECK_LACKS(r.output, "cannot run");
}
