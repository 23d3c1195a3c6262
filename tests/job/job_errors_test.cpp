// Job files that are wrong: each mistake must produce a config_error that names the file,
// the line, the key and the problem, and hostile input must never crash the loader.

#include <doctest/doctest.h>

#include <drover/error.hpp>
#include <drover/executors/docker.hpp>
#include <drover/executors/ssh.hpp>
#include <drover/job_file.hpp>

#include "support/support.hpp"

#include <random>

namespace {

// A valid task to complete a job whose mistake is elsewhere.
const std::string task_a = "[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\n";

// The message of the config_error parse_job throws for `text`, or "(no error)".
std::string error_of(std::string_view text) {
    try {
        (void)drover::parse_job(text, "bad.toml");
    } catch (const drover::config_error& e) {
        CHECK(e.file() == "bad.toml");
        return e.what();
    }
    return "(no error)";
}

std::string load_error(const std::filesystem::path& p) {
    try {
        (void)drover::load_job(p);
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

#define CHECK_HAS(msg, part) CHECK_MESSAGE((msg).find(part) != std::string::npos, "message: " << (msg))

TEST_CASE("job: TOML syntax errors carry the parser's position") {
    SUBCASE("unclosed string") {
        auto m = error_of("name = \"hello\n[[tasks]]\n");
        CHECK_HAS(m, "bad.toml:1:");
        CHECK_HAS(m, "invalid TOML");
        CHECK_HAS(m, "string");
    }
    SUBCASE("unclosed bracket") {
        auto m = error_of("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = [\"echo\", \"hi\"\n");
        CHECK_HAS(m, "bad.toml:4:");
        CHECK_HAS(m, "invalid TOML");
        CHECK_HAS(m, "array");
    }
    SUBCASE("a key defined twice") {
        auto m = error_of("name = \"t\"\nname = \"u\"\n");
        CHECK_HAS(m, "bad.toml:2:");
        CHECK_HAS(m, "invalid TOML");
    }
}

TEST_CASE("job: required keys and tables") {
    SUBCASE("missing name") {
        auto m = error_of("[[tasks]]\nid = \"a\"\ncommand = [\"true\"]\n");
        CHECK_HAS(m, "bad.toml:1:1: name: missing required key");
    }
    SUBCASE("missing [[tasks]]") {
        auto m = error_of("name = \"t\"\n");
        CHECK_HAS(m, "bad.toml:1:1: tasks: no tasks");
        CHECK_HAS(m, "[[tasks]]");
    }
    SUBCASE("empty tasks array") {
        auto m = error_of("name = \"t\"\ntasks = []\n");
        CHECK_HAS(m, "bad.toml:2:9: tasks: no tasks");
    }
    SUBCASE("[tasks] written as a plain table") {
        auto m = error_of("name = \"t\"\n[tasks]\nid = \"a\"\n");
        CHECK_HAS(m, "bad.toml:2:");
        CHECK_HAS(m, "tasks: expected an array of tables ([[tasks]]), got table");
    }
    SUBCASE("task without id") {
        auto m = error_of("name = \"t\"\n[[tasks]]\ncommand = [\"true\"]\n");
        CHECK_HAS(m, "bad.toml:2:1: tasks[0].id: missing required key");
    }
    SUBCASE("second task without command") {
        auto m = error_of("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = [\"true\"]\n[[tasks]]\nid = \"b\"\n");
        CHECK_HAS(m, "bad.toml:5:1: tasks[1].command: missing required key");
    }
    SUBCASE("empty command") {
        auto m = error_of("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = []\n");
        CHECK_HAS(m, "bad.toml:4:11: tasks[0].command: must not be empty");
    }
    SUBCASE("command is a string, not an array") {
        auto m = error_of("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = \"echo hi\"\n");
        CHECK_HAS(m, "bad.toml:4:11: tasks[0].command: expected an array of strings, got string");
    }
    SUBCASE("command holds a number") {
        auto m = error_of("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = [\"sleep\", 5]\n");
        CHECK_HAS(m, "bad.toml:4:21: tasks[0].command[1]: expected a string, got integer");
    }
    SUBCASE("sink without path") {
        auto m = error_of("name = \"t\"\n[sink]\nkind = \"file\"\n" + task_a);
        CHECK_HAS(m, "bad.toml:2:1: sink.path: missing required key");
    }
    SUBCASE("executor without kind") {
        auto m = error_of("name = \"t\"\n[[executors]]\nslots = 2\n" + task_a);
        CHECK_HAS(m, "bad.toml:2:1: executors[0].kind: missing required key");
    }
}

TEST_CASE("job: unknown keys are errors with a suggestion") {
    SUBCASE("unknown top-level table") {
        auto m = error_of("name = \"t\"\n[task]\nid = \"a\"\n");
        CHECK_HAS(m, "bad.toml:2:2: task: unknown key 'task' (did you mean 'tasks'?)");
    }
    SUBCASE("typo in a task") {
        auto m = error_of("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\nretires = 3\n");
        CHECK_HAS(m, "bad.toml:5:1: tasks[0].retires: unknown key 'retires' (did you mean 'retries'?)");
    }
    SUBCASE("typo in the sink") {
        auto m = error_of("name = \"t\"\n[sink]\nkind = \"file\"\npath = \"o\"\npartiton = \"x\"\n" + task_a);
        CHECK_HAS(m, "bad.toml:5:1: sink.partiton: unknown key 'partiton' (did you mean 'partition'?)");
    }
    SUBCASE("nothing close: the allowed keys are listed") {
        auto m = error_of("name = \"t\"\n[halt]\nwhatever = 1\n");
        CHECK_HAS(m, "bad.toml:3:1: halt.whatever: unknown key 'whatever' "
                     "(expected one of: max_dead, max_dead_percent)");
    }
    SUBCASE("the first unknown key in the file is reported, not the first alphabetically") {
        auto m = error_of("name = \"t\"\nzzz = 1\naaa = 2\n");
        CHECK_HAS(m, "bad.toml:2:1: zzz: unknown key");
    }
}

TEST_CASE("job: values of the wrong type or out of range") {
    SUBCASE("retries as a word") {
        auto m = error_of("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\nretries = \"two\"\n");
        CHECK_HAS(m, "bad.toml:5:11: tasks[0].retries: expected an integer, got string");
    }
    SUBCASE("negative retries in [defaults]") {
        auto m = error_of("name = \"t\"\n[defaults]\nretries = -1\n" + task_a);
        CHECK_HAS(m, "bad.toml:3:11: defaults.retries: must be between 0 and 1000, got -1");
    }
    SUBCASE("zero slots") {
        auto m = error_of("name = \"t\"\n[[executors]]\nkind = \"local\"\nslots = 0\n" + task_a);
        CHECK_HAS(m, "bad.toml:4:9: executors[0].slots: must be at least 1, got 0");
    }
    SUBCASE("slots as a float") {
        auto m = error_of("name = \"t\"\n[[executors]]\nkind = \"local\"\nslots = 2.5\n" + task_a);
        CHECK_HAS(m, "executors[0].slots: expected an integer, got float");
    }
    SUBCASE("compression level 12") {
        auto m = error_of("name = \"t\"\n[sink]\nkind = \"file\"\npath = \"o\"\ncompression_level = 12\n[[tasks]]\n"
                          "id = \"a\"\ncommand = [\"x\"]\n");
        CHECK_HAS(m, "bad.toml:5:21: sink.compression_level: must be between 0 and 9, got 12");
    }
    SUBCASE("halt percentage above 100") {
        auto m = error_of("name = \"t\"\n[halt]\nmax_dead_percent = 150\n" + task_a);
        CHECK_HAS(m, "bad.toml:3:20: halt.max_dead_percent: must be more than 0 and at most 100, got 150");
    }
    SUBCASE("halt max_dead of zero") {
        auto m = error_of("name = \"t\"\n[halt]\nmax_dead = 0\n" + task_a);
        CHECK_HAS(m, "bad.toml:3:12: halt.max_dead: must be at least 1");
    }
    SUBCASE("backoff multiplier below 1 and jitter above 1") {
        auto m = error_of("name = \"t\"\n[defaults]\nbackoff_multiplier = 0.5\n" + task_a);
        CHECK_HAS(m, "bad.toml:3:22: defaults.backoff_multiplier: must be at least 1");
        m = error_of("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\nbackoff_jitter = 1.5\n");
        CHECK_HAS(m, "bad.toml:5:18: tasks[0].backoff_jitter: must be between 0 and 1");
        m = error_of("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\nbackoff_multiplier = inf\n");
        CHECK_HAS(m, "tasks[0].backoff_multiplier: must be a finite number");
    }
    SUBCASE("fsync as a string") {
        auto m = error_of("name = \"t\"\n[sink]\nkind = \"file\"\npath = \"o\"\nfsync = \"yes\"\n" + task_a);
        CHECK_HAS(m, "bad.toml:5:9: sink.fsync: expected a boolean (true or false), got string");
    }
    SUBCASE("a bad size string") {
        auto m = error_of("name = \"t\"\n[sink]\nkind = \"file\"\npath = \"o\"\nmax_bytes = \"64 megs\"\n[[tasks]]\n"
                          "id = \"a\"\ncommand = [\"x\"]\n");
        CHECK_HAS(m, "bad.toml:5:13: sink.max_bytes: invalid size \"64 megs\"");
    }
    SUBCASE("invalid job name") {
        auto m = error_of("name = \"my job\"\n" + task_a);
        CHECK_HAS(m, "bad.toml:1:8: name: invalid job name 'my job'");
        m = error_of("name = \"..\"\n" + task_a);
        CHECK_HAS(m, "bad.toml:1:8: name: invalid job name '..'");
    }
    SUBCASE("empty sink path") {
        auto m = error_of("name = \"t\"\n[sink]\nkind = \"file\"\npath = \"\"\n" + task_a);
        CHECK_HAS(m, "bad.toml:4:8: sink.path: must not be empty");
    }
    SUBCASE("a NUL character in a command") {
        auto m = error_of("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\\u0000y\"]\n");
        CHECK_HAS(m, "bad.toml:4:12: tasks[0].command[0]: strings must not contain NUL characters");
    }
}

TEST_CASE("job: durations must be strings with units") {
    auto with_timeout = [](std::string v) {
        return error_of("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\ntimeout = " + v + "\n");
    };
    auto m = with_timeout("\"30 sec\"");
    CHECK_HAS(m, "bad.toml:5:11: tasks[0].timeout: invalid duration \"30 sec\"");
    CHECK_HAS(m, "unknown unit");
    m = with_timeout("\"-1s\"");
    CHECK_HAS(m, "bad.toml:5:11: tasks[0].timeout: invalid duration \"-1s\": durations cannot be negative");
    m = with_timeout("\"abc\"");
    CHECK_HAS(m, "bad.toml:5:11: tasks[0].timeout: invalid duration \"abc\"");
    m = with_timeout("30");
    CHECK_HAS(m, "bad.toml:5:11: tasks[0].timeout: expected a duration string with a unit, like \"30s\"");
    CHECK_HAS(m, "got integer");
    // "0s" means no timeout (job_limits_test.cpp).
    m = error_of("name = \"t\"\n[[executors]]\nkind = \"local\"\nkill_grace = \"2 s\"\n" + task_a);
    CHECK_HAS(m, "bad.toml:4:14: executors[0].kill_grace: invalid duration");
}

TEST_CASE("job: ssh executors are checked key by key") {
    auto m = error_of("name = \"t\"\n[[executors]]\nkind = \"ssh\"\n" + task_a);
    CHECK_HAS(m, "bad.toml:2:");
    CHECK_HAS(m, "executors[0].hosts: missing required key");
    m = error_of("name = \"t\"\n[[executors]]\nkind = \"ssh\"\nhosts = []\n" + task_a);
    CHECK_HAS(m, "bad.toml:4:9: executors[0].hosts: must name at least one host");
    m = error_of("name = \"t\"\n[[executors]]\nkind = \"ssh\"\nhosts = [\"a\", \"b:99999\"]\n" + task_a);
    CHECK_HAS(m, "bad.toml:4:15: executors[0].hosts[1]:");
    CHECK_HAS(m, "port must be 1..65535");
    m = error_of("name = \"t\"\n[[executors]]\nkind = \"ssh\"\nhosts = [\"-oProxyCommand=x\"]\n" + task_a);
    CHECK_HAS(m, "must not start with '-'");
    m = error_of("name = \"t\"\n[[executors]]\nkind = \"ssh\"\nhosts = [\"a\"]\nssh_options = [\"-v\"]\n" + task_a);
    CHECK_HAS(m, "bad.toml:5:16: executors[0].ssh_options[0]: expected \"Key=Value\"");
    m = error_of("name = \"t\"\n[[executors]]\nkind = \"ssh\"\nhosts = [\"a\"]\nslot = 2\n" + task_a);
    CHECK_HAS(m, "unknown key 'slot' (did you mean 'slots'?)");
}

TEST_CASE("job: an ssh executor's keys reach its options") {
    auto j = drover::parse_job("name = \"t\"\n[[executors]]\nkind = \"ssh\"\nhosts = [\"u@h1:2222\", \"h2\"]\n"
                               "slots = 3\nidentity = \"/k\"\nssh_options = [\"UserKnownHostsFile=/kh\"]\n"
                               "config_file = \"/dev/null\"\nworkdir = \"/w\"\naccept_new_host_keys = true\n"
                               "connect_timeout = \"3s\"\nkill_grace = \"500ms\"\n" + task_a, "ok.toml");
    REQUIRE(j.executors.size() == 1);
    const auto& o = j.executors[0].options_as<drover::ssh_executor_options>();
    CHECK(j.executors[0].kind == "ssh");
    CHECK(o.hosts == std::vector<std::string>{"u@h1:2222", "h2"});
    CHECK(o.slots_per_host == 3);
    CHECK(o.identity == "/k");
    CHECK(o.ssh_options == std::vector<std::string>{"UserKnownHostsFile=/kh"});
    CHECK(o.config_file == "/dev/null");
    CHECK(o.workdir == "/w");
    CHECK(o.accept_new_host_keys);
    CHECK(o.connect_timeout == std::chrono::seconds(3));
    CHECK(o.kill_grace == std::chrono::milliseconds(500));
}

TEST_CASE("job: host sources of ssh and docker executors are checked and reach their options") {
    const std::string ssh = "name = \"t\"\n[[executors]]\nkind = \"ssh\"\n";
    auto m = error_of(ssh + "hosts_command = []\n" + task_a);
    CHECK_HAS(m, "bad.toml:4:17: executors[0].hosts_command: must name a program");
    m = error_of(ssh + "hosts_file = \"\"\n" + task_a);
    CHECK_HAS(m, "bad.toml:4:14: executors[0].hosts_file: must not be empty");
    m = error_of(ssh + "hosts_file = \"/f\"\nhosts_refresh = \"0s\"\n" + task_a);
    CHECK_HAS(m, "bad.toml:5:17: executors[0].hosts_refresh: must be more than 0s");
    m = error_of(ssh + "hosts_file = \"/f\"\nhost_file = \"/g\"\n" + task_a);
    CHECK_HAS(m, "unknown key 'host_file' (did you mean 'hosts_file'?)");
    m = error_of("name = \"t\"\n[[executors]]\nkind = \"docker\"\nhosts = []\n" + task_a);
    CHECK_HAS(m, "bad.toml:4:9: executors[0].hosts: must name at least one host");
    m = error_of("name = \"t\"\n[[executors]]\nkind = \"docker\"\nhosts_command = [\"x\"]\nhosts = [\"ftp://h\"]\n" + task_a);
    CHECK_HAS(m, "bad.toml:5:10: executors[0].hosts[0]: docker host 'ftp://h'");

    // A source alone, or with an empty static list, is enough.
    auto j = drover::parse_job(ssh + "hosts_file = \"/etc/fleet\"\nslots = 2\n" + task_a, "ok.toml");
    const auto& o = j.executors[0].options_as<drover::ssh_executor_options>();
    CHECK(o.hosts.empty());
    CHECK(o.hosts_file == "/etc/fleet");
    CHECK(o.slots_per_host == 2);
    j = drover::parse_job("name = \"t\"\n[[executors]]\nkind = \"docker\"\nhosts = []\n"
                          "hosts_command = [\"aws\", \"ec2\", \"describe-instances\"]\nhosts_refresh = \"1m\"\n"
                          "hosts_timeout = \"20s\"\ndown_timeout = \"10m\"\nreprobe_max = \"5s\"\n" + task_a, "ok.toml");
    const auto& d = j.executors[0].options_as<drover::docker_executor_options>();
    CHECK(d.hosts.empty());
    CHECK(d.hosts_command == std::vector<std::string>{"aws", "ec2", "describe-instances"});
    CHECK(d.hosts_refresh == std::chrono::minutes(1));
    CHECK(d.hosts_timeout == std::chrono::seconds(20));
    CHECK(d.down_timeout == std::chrono::minutes(10));
    CHECK(d.reprobe_max == std::chrono::seconds(5));
    CHECK(j.kinds.slots(j.executors[0]) == 0);  // hosts come later
}

TEST_CASE("job: unknown kinds list the known ones") {
    auto m = error_of("name = \"t\"\n[[executors]]\nkind = \"local\"\n[[executors]]\nkind = \"kubernetes\"\n" + task_a);
    CHECK_HAS(m, "bad.toml:5:8: executors[1].kind: unknown executor kind 'kubernetes' (known kinds: local, ssh, docker, slurm)");
    m = error_of("name = \"t\"\n[sink]\nkind = \"gcs\"\npath = \"bucket\"\n" + task_a);
    CHECK_HAS(m, "bad.toml:3:8: sink.kind: unknown sink kind 'gcs' (known kinds: file, s3)");
}

TEST_CASE("job: templates may only use known placeholders") {
    SUBCASE("unknown placeholder in a command") {
        auto m = error_of(R"(name = "t"
[[tasks]]
id = "day-{date}"
command = ["crawl", "--date", "{dat}"]
foreach.date = ["2018-01-01"]
)");
        CHECK_HAS(m, "bad.toml:4:31: tasks[0].command[2]: unknown placeholder {dat}");
        CHECK_HAS(m, "known here: date");
        CHECK_HAS(m, "write {{ for a literal '{'");
    }
    SUBCASE("unknown placeholder in an id of a task without variables") {
        auto m = error_of("name = \"t\"\n[[tasks]]\nid = \"a-{x}\"\ncommand = [\"x\"]\n");
        CHECK_HAS(m, "bad.toml:3:6: tasks[0].id: unknown placeholder {x} "
                     "(this task has no params or foreach variables)");
    }
    SUBCASE("unknown placeholder in [defaults].env") {
        auto m = error_of("name = \"t\"\n[defaults]\nenv = { LANG = \"{lang}\" }\n" + task_a);
        CHECK_HAS(m, "bad.toml:3:16: defaults.env.LANG: unknown placeholder {lang}");
    }
    SUBCASE("a param cannot use another param") {
        auto m = error_of("name = \"t\"\n" + task_a + "params = { a = \"1\", b = \"{a}\" }\n");
        CHECK_HAS(m, "bad.toml:5:25: tasks[0].params.b: unknown placeholder {a}");
    }
    SUBCASE("partition uses a param a task lacks") {
        auto m = error_of(R"(name = "t"
[sink]
kind = "file"
path = "out"
partition = "date={date}/lang={lang}"
[[tasks]]
id = "a-{date}-{lang}"
command = ["x"]
foreach.date = ["2018-01-01"]
foreach.lang = ["en"]
[[tasks]]
id = "b-{date}"
command = ["x"]
foreach.date = ["2018-01-01"]
)");
        CHECK_HAS(m, "bad.toml:5:13: sink.partition: uses {lang}, but task 'b-2018-01-01' (tasks[1], line 11) has no "
                     "param 'lang'");
    }
    SUBCASE("partition with an empty record field") {
        auto m = error_of("name = \"t\"\n[sink]\nkind = \"file\"\npath = \"o\"\npartition = \"c={record.}\"\n" +
                          task_a);
        CHECK_HAS(m, "bad.toml:5:13: sink.partition: partition template \"c={record.}\": {record.} needs a field name");
    }
}

TEST_CASE("job: task ids must be valid and unique") {
    SUBCASE("duplicate ids in two entries name both lines") {
        auto m = error_of("name = \"t\"\n[[tasks]]\nid = \"same\"\ncommand = [\"x\"]\n[[tasks]]\nid = \"same\"\n"
                          "command = [\"y\"]\n");
        CHECK_HAS(m, "bad.toml:6:6: tasks[1].id: duplicate task id 'same': tasks[0] (line 2) already defines it");
    }
    SUBCASE("duplicates within one foreach") {
        auto m = error_of(R"(name = "t"
[[tasks]]
id = "fetch-{lang}"
command = ["x", "{date}", "{lang}"]
foreach.date = ["2018-01-01", "2018-01-02"]
foreach.lang = ["en"]
)");
        CHECK_HAS(m, "bad.toml:3:6: tasks[0].id: duplicate task id 'fetch-en': this entry produces it more than once");
        CHECK_HAS(m, "every foreach variable");
    }
    SUBCASE("invalid characters after expansion") {
        auto m = error_of("name = \"t\"\n[[tasks]]\nid = \"{p}\"\ncommand = [\"x\"]\nforeach.p = [\"a/b\"]\n");
        CHECK_HAS(m, "bad.toml:3:6: tasks[0].id: task id 'a/b' (from \"{p}\") is invalid");
    }
    SUBCASE("invalid id written directly") {
        auto m = error_of("name = \"t\"\n[[tasks]]\nid = \"-x\"\ncommand = [\"x\"]\n");
        CHECK_HAS(m, "bad.toml:3:6: tasks[0].id: task id '-x' is invalid");
    }
}

TEST_CASE("job: foreach mistakes") {
    auto with_foreach = [](std::string v) {
        return error_of("name = \"t\"\n[[tasks]]\nid = \"d{d}\"\ncommand = [\"x\"]\nforeach.d = " + v + "\n");
    };
    SUBCASE("a day that does not exist") {
        auto m = with_foreach(R"({ from = "2018-02-30", to = "2018-03-31" })");
        CHECK_HAS(m, "bad.toml:5:22: tasks[0].foreach.d.from: invalid date \"2018-02-30\": no such day");
        m = with_foreach(R"({ from = "2019-01-01", to = "2019-02-29" })");
        CHECK_HAS(m, "bad.toml:5:41: tasks[0].foreach.d.to: invalid date \"2019-02-29\"");
        m = with_foreach(R"({ from = "2018-1-1", to = "2019-02-28" })");
        CHECK_HAS(m, "tasks[0].foreach.d.from: invalid date \"2018-1-1\": expected YYYY-MM-DD");
    }
    SUBCASE("from after to") {
        auto m = with_foreach(R"({ from = "2018-12-31", to = "2018-01-01" })");
        CHECK_HAS(m, "bad.toml:5:13: tasks[0].foreach.d: 'from' (2018-12-31) is after 'to' (2018-01-01)");
        m = with_foreach("{ from = 10, to = 1 }");
        CHECK_HAS(m, "bad.toml:5:13: tasks[0].foreach.d: 'from' (10) is greater than 'to' (1)");
    }
    SUBCASE("a date step that is not whole days") {
        auto m = with_foreach(R"({ from = "2018-01-01", to = "2018-01-31", step = "24h" })");
        CHECK_HAS(m, "bad.toml:5:62: tasks[0].foreach.d.step: invalid step \"24h\": date ranges step by whole days");
        m = with_foreach(R"({ from = "2018-01-01", to = "2018-01-31", step = 1 })");
        CHECK_HAS(m, "tasks[0].foreach.d.step: expected a number of days like \"1d\"");
        m = with_foreach("{ from = 1, to = 5, step = 0 }");
        CHECK_HAS(m, "tasks[0].foreach.d.step: must be at least 1, got 0");
    }
    SUBCASE("mixed range types and missing bounds") {
        auto m = with_foreach(R"({ from = 1, to = "2018-01-01" })");
        CHECK_HAS(m, "tasks[0].foreach.d.to: expected an integer, like 'from', got string");
        m = with_foreach(R"({ from = "2018-01-01" })");
        CHECK_HAS(m, "bad.toml:5:13: tasks[0].foreach.d.to: missing required key");
        m = with_foreach(R"({ from = 1, to = 2, stpe = 1 })");
        CHECK_HAS(m, "tasks[0].foreach.d.stpe: unknown key 'stpe' (did you mean 'step'?)");
    }
    SUBCASE("empty list, nested list, bad shape") {
        CHECK_HAS(with_foreach("[]"), "bad.toml:5:13: tasks[0].foreach.d: is an empty list");
        CHECK_HAS(with_foreach("[[1]]"), "tasks[0].foreach.d[0]: expected a string, number or boolean, got array");
        CHECK_HAS(with_foreach("\"2018\""), "tasks[0].foreach.d: expected a list of values or a range");
    }
    SUBCASE("too many tasks") {
        auto m = with_foreach("{ from = 1, to = 20000000 }");
        CHECK_HAS(m, "bad.toml:5:13: tasks[0].foreach.d: foreach expands to more than 10000000 tasks");
        m = error_of("name = \"t\"\n[[tasks]]\nid = \"{a}-{b}\"\ncommand = [\"x\"]\n"
                     "foreach.a = { from = 1, to = 1001 }\n"
                     "foreach.b = { from = 1, to = 10000 }\n");
        CHECK_HAS(m, "tasks[0].foreach: foreach expands to more than 10000000 tasks");
    }
    SUBCASE("a param that shadows a foreach variable") {
        auto m = error_of("name = \"t\"\n[[tasks]]\nid = \"{d}\"\ncommand = [\"x\"]\nforeach.d = [1]\n"
                          "params = { d = \"2\" }\n");
        CHECK_HAS(m, "bad.toml:6:16: tasks[0].params.d: 'd' is also a foreach variable");
    }
}

TEST_CASE("job: pools must be declared") {
    auto m = error_of("name = \"t\"\n[pools]\ndb = 2\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\npool = \"dbb\"\n");
    CHECK_HAS(m, "bad.toml:7:8: tasks[0].pool: pool 'dbb' is not declared in [pools] (declared: db)");
    m = error_of("name = \"t\"\n[defaults]\npool = \"db\"\n" + task_a);
    CHECK_HAS(m, "bad.toml:3:8: defaults.pool: pool 'db' is not declared in [pools] (there is no [pools] table)");
    m = error_of("name = \"t\"\n[pools]\ndb = 0\n" + task_a);
    CHECK_HAS(m, "bad.toml:3:6: pools.db: must be at least 1, got 0");
}

TEST_CASE("job: hostile input gives a clear error, never a crash") {
    SUBCASE("empty text") {
        CHECK_HAS(error_of(""), "bad.toml:1:1: name: missing required key");
    }
    SUBCASE("binary garbage") {
        std::mt19937 rng(42);
        std::string junk(4096, '\0');
        for (auto& c : junk) c = static_cast<char>(rng());
        auto m = error_of(junk);
        CHECK_HAS(m, "bad.toml:");
        CHECK_HAS(m, "invalid TOML");
    }
    SUBCASE("deeply nested arrays and inline tables") {
        auto m = error_of("name = \"t\"\nx = " + std::string(100000, '['));
        CHECK_HAS(m, "bad.toml:2:");
        CHECK_HAS(m, "invalid TOML");
        std::string tables = "name = \"t\"\nx = ";
        for (int i = 0; i < 5000; ++i) tables += "{a=";
        CHECK_HAS(error_of(tables), "invalid TOML");
    }
    SUBCASE("integer overflow in the file") {
        auto m = error_of("name = \"t\"\n[defaults]\nretries = 99999999999999999999\n");
        CHECK_HAS(m, "bad.toml:3:");
        CHECK_HAS(m, "invalid TOML");
    }
    SUBCASE("a 10 MB file of nonsense") {
        drover::test::temp_dir dir;
        std::string text;
        text.reserve(10u << 20);
        std::mt19937 rng(7);
        const std::string_view words[] = {"name", "=", "[[", "]]", "{", "}", "\"", "tasks", " ", "\n", "x", "3"};
        while (text.size() < (10u << 20)) text += words[rng() % std::size(words)];
        drover::test::write_file(dir / "big.toml", text);
        auto m = load_error(dir / "big.toml");
        CHECK_HAS(m, (dir / "big.toml").string() + ":");
        CHECK_HAS(m, "invalid TOML");
    }
    SUBCASE("a 10 MB key with no close match") {
        std::string key(10u << 20, 'k');
        auto m = error_of("name = \"t\"\n" + key + " = 1\n");
        CHECK_HAS(m, "bad.toml:2:1:");
        CHECK_HAS(m, "line is longer than 1048576 bytes");
        key.resize(1000);
        m = error_of("name = \"t\"\n" + key + " = 1\n");
        CHECK_HAS(m, "bad.toml:2:1:");
        CHECK_HAS(m, "unknown key");
    }
}

TEST_CASE("job: load_job names the path of a file it cannot read") {
    drover::test::temp_dir dir;
    auto m = load_error(dir / "missing.toml");
    CHECK_HAS(m, (dir / "missing.toml").string() + ": cannot read job file");
    CHECK_HAS(m, "No such file");
    m = load_error(dir.path());
    CHECK_HAS(m, dir.path().string() + ": cannot read job file: it is a directory");

    drover::test::write_file(dir / "bad.toml", "name = \"t\"\n[[tasks]]\nid = \"a\"\n");
    m = load_error(dir / "bad.toml");
    CHECK_HAS(m, (dir / "bad.toml").string() + ":2:1: tasks[0].command: missing required key");
}
