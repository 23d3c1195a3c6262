// job_stream (issue 20, section 5): a job file's tasks made one at a time give exactly the
// tasks load_job lists, in its order; a mistake in the middle of the stream names
// file:line and key; the task limit is a setting.
#include <doctest/doctest.h>

#include <drover/error.hpp>
#include <drover/job_file.hpp>
#include <drover/job_stream.hpp>

#include "job/task_catalog.hpp"

#include <sstream>
#include <string>
#include <vector>

namespace {

using strings = std::vector<std::string>;

// Dates and integers, params over foreach variables, env from [defaults], templated and glob
// `after`, a pool, an entry without foreach, a two-variable foreach, settings per entry.
const char* news = R"(name = "news"
[pools]
net = 2
[sink]
kind = "file"
path = "out"
partition = "date={date}"
[defaults]
retries = 2
env = { SITE = "https://example.org/{date}/", KEEP = "1" }
[[tasks]]
id = "crawl-{date}"
command = ["crawl", "--date", "{date}", "--depth", "{depth}"]
foreach.date = { from = "2018-01-01", to = "2018-02-28", step = "3d" }
params = { depth = 3, kind = "crawl-{date}" }
pool = "net"
[[tasks]]
id = "count-{date}"
command = ["count", "{date}"]
foreach.date = { from = "2018-01-01", to = "2018-02-28", step = "3d" }
after = ["crawl-{date}"]
timeout = "5m"
env = { KEEP = "0" }
[[tasks]]
id = "grid-{x}-{lang}"
command = ["grid", "{x}", "{lang}"]
foreach.x = { from = -2, to = 6, step = 4 }
foreach.lang = ["en", "de", 3]
params = { date = "2018-12-31" }
[[tasks]]
id = "merge"
command = ["merge"]
params = { date = "all" }
after = ["count-*", "grid-*"]
)";

// Everything a job file can set on a task, compared field by field.
void check_same(const drover::task_spec& a, const drover::task_spec& b) {
    CAPTURE(a.id);
    CHECK(a.id == b.id);
    CHECK(a.command == b.command);
    CHECK(a.env == b.env);
    CHECK(a.params == b.params);
    CHECK(a.after == b.after);
    CHECK(a.retries == b.retries);
    CHECK(a.timeout == b.timeout);
    CHECK(a.pool == b.pool);
    CHECK(a.workdir == b.workdir);
    CHECK(a.control_lines == b.control_lines);
    CHECK(a.speculate == b.speculate);
    CHECK(a.backoff.initial == b.backoff.initial);
}

std::vector<drover::task_spec> streamed(drover::job_stream& s) {
    std::vector<drover::task_spec> out;
    auto n = s.for_each_task([&](drover::task_spec&& t) { out.push_back(std::move(t)); });
    CHECK(n == out.size());
    return out;
}

strings ids(const std::vector<drover::task_spec>& tasks) {
    strings out;
    for (const auto& t : tasks) out.push_back(t.id);
    return out;
}

// What a stream gave before it threw, and the message.
struct stream_error {
    strings before;
    std::string message = "(no error)";
};
stream_error stream_until_error(std::string_view text, const drover::job_load_options& o = {}) {
    stream_error r;
    try {
        auto s = drover::job_stream::parse(text, "big.toml", o);
        s.for_each_task([&](drover::task_spec&& t) { r.before.push_back(t.id); });
    } catch (const drover::config_error& e) {
        r.message = e.what();
    }
    return r;
}

std::string load_error(std::string_view text, const drover::job_load_options& o = {}) {
    try {
        (void)drover::parse_job(text, "big.toml", o);
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

#define CHECK_HAS(msg, part) CHECK_MESSAGE((msg).find(part) != std::string::npos, "message: " << (msg))

TEST_CASE("job stream: the tasks load_job lists, in its order, with every field") {
    auto j = drover::parse_job(news, "news.toml");
    auto s = drover::job_stream::parse(news, "news.toml");
    CHECK(s.expanded_size() == 20 + 20 + 9 + 1);
    CHECK(s.settings().tasks.empty());
    CHECK(s.settings().name == "news");
    CHECK(s.settings().options.pools.at("net") == 2);
    auto tasks = streamed(s);
    REQUIRE(tasks.size() == j.tasks.size());
    REQUIRE(tasks.size() == 50);
    for (std::size_t i = 0; i < tasks.size(); ++i) check_same(tasks[i], j.tasks[i]);
    // The order written out: entries in file order, the first foreach variable outermost.
    CHECK(tasks[0].id == "crawl-2018-01-01");
    CHECK(tasks[19].id == "crawl-2018-02-27");
    CHECK(tasks[20].id == "count-2018-01-01");
    CHECK(ids({tasks.begin() + 40, tasks.end()}) ==
          strings{"grid--2-en", "grid--2-de", "grid--2-3", "grid-2-en", "grid-2-de", "grid-2-3", "grid-6-en",
                  "grid-6-de", "grid-6-3", "merge"});
    CHECK(tasks[0].env == std::map<std::string, std::string>{{"KEEP", "1"}, {"SITE", "https://example.org/2018-01-01/"}});
    CHECK(tasks[20].env.at("KEEP") == "0");
    CHECK(tasks[21].after == strings{"crawl-2018-01-04"});
    CHECK(tasks[0].params.at("kind") == "crawl-2018-01-01");
    CHECK(tasks[0].pool == "net");
    CHECK(tasks[0].retries == 2);
    // Again: the same tasks.
    auto again = streamed(s);
    REQUIRE(again.size() == tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i) check_same(again[i], tasks[i]);
}

TEST_CASE("job stream: --param and --only give what load_job gives") {
    std::vector<drover::job_load_options> cases = {
        {.params = {{"date", {"2018-01-06"}}, {"lang", {"fr", "it"}}}},
        {.only = {"merge"}},
        {.only = {"merge"}, .with_dependencies = false},
        {.only = {"count-2018-01-1*"}},
        {.only = {"count-2018-01-1*", "grid-6-*"}, .with_dependencies = false},
    };
    for (const auto& o : cases) {
        CAPTURE(o.only.size());
        auto j = drover::parse_job(news, "news.toml", o);
        auto s = drover::job_stream::parse(news, "news.toml", o);
        auto tasks = streamed(s);
        REQUIRE(tasks.size() == j.tasks.size());
        for (std::size_t i = 0; i < tasks.size(); ++i) check_same(tasks[i], j.tasks[i]);
    }
    auto s = drover::job_stream::parse(news, "news.toml", {.only = {"count-2018-01-1*"}, .with_dependencies = false});
    auto tasks = streamed(s);
    CHECK(ids(tasks) == strings{"count-2018-01-10", "count-2018-01-13", "count-2018-01-16", "count-2018-01-19"});
    CHECK(tasks[0].after.empty());  // its crawl task is not in the run
    auto with = drover::job_stream::parse(news, "news.toml", {.only = {"count-2018-01-1*"}});
    CHECK(ids(streamed(with)) == strings{"crawl-2018-01-10", "crawl-2018-01-13", "crawl-2018-01-16",
                                         "crawl-2018-01-19", "count-2018-01-10", "count-2018-01-13",
                                         "count-2018-01-16", "count-2018-01-19"});
}

TEST_CASE("job stream: write_json writes what it writes for the loaded job") {
    std::vector<drover::job_load_options> cases = {
        {},
        {.only = {"merge"}, .with_dependencies = false},
        {.only = {"count-2018-01-1*"}},
        {.only = {"count-2018-01-1*", "grid-6-*"}, .with_dependencies = false},
    };
    for (const auto& o : cases) {
        CAPTURE(o.only.size());
        std::ostringstream loaded, streamed_json;
        drover::write_json(loaded, drover::parse_job(news, "news.toml", o));
        auto s = drover::job_stream::parse(news, "news.toml", o);
        drover::write_json(streamed_json, s);
        CHECK(streamed_json.str() == loaded.str());
        bool resolved = streamed_json.str().find("\"after\":[\"crawl-2018-01-10\"]") != std::string::npos;
        CHECK(resolved == (o.only.empty() || o.with_dependencies));  // count-2018-01-10's `after`
    }
}

TEST_CASE("job stream: make_scheduler submits every task as load_job's job does") {
    auto s = drover::job_stream::parse(news, "news.toml");
    auto sched = drover::make_scheduler(s);
    auto j = drover::parse_job(news, "news.toml");
    CHECK(sched.task_ids() == ids(j.tasks));
    auto t = sched.find_task("count-2018-01-04");
    REQUIRE(t.has_value());
    check_same(*t, j.tasks[21]);
    CHECK(sched.options().journal.enabled);
    CHECK(sched.options().journal.job_name == "news");
}

TEST_CASE("job stream: a mistake in the middle of the stream names file:line and key") {
    const std::string head = "name = \"big\"\n[[tasks]]\nid = \"t-{n}\"\ncommand = [\"x\"]\nforeach.n = { from = 1, to = 1000 }\n";
    SUBCASE("a duplicate id in a later entry, after the first entry's tasks went out") {
        auto r = stream_until_error(head + "[[tasks]]\nid = \"t-{m}\"\ncommand = [\"y\"]\nforeach.m = [1001, 500, 2]\n");
        CHECK(r.before.size() == 1001);  // t-1 .. t-1000, t-1001; t-500 is the duplicate
        CHECK(r.before.back() == "t-1001");
        CHECK_HAS(r.message, "big.toml:7:6: tasks[1].id: duplicate task id 't-500': tasks[0] (line 2) already defines it");
    }
    SUBCASE("an entry that makes an id twice") {
        auto r = stream_until_error("name = \"big\"\n[[tasks]]\nid = \"t-{a}{b}\"\ncommand = [\"x\"]\n"
                                    "foreach.a = [1, 11, 2]\nforeach.b = [1, 11]\n");
        CHECK(r.before == strings{"t-11", "t-111"});
        CHECK_HAS(r.message, "big.toml:3:6: tasks[0].id: duplicate task id 't-111': this entry produces it more "
                             "than once; put every foreach variable ({a}, {b}) in the id");
    }
    SUBCASE("an invalid id made from the 3rd value") {
        auto r = stream_until_error("name = \"big\"\n[[tasks]]\nid = \"t-{v}\"\ncommand = [\"x\"]\n"
                                    "foreach.v = [\"a\", \"b\", \"c d\", \"e\"]\n");
        CHECK(r.before == strings{"t-a", "t-b"});
        CHECK_HAS(r.message, "big.toml:3:6: tasks[0].id: task id 't-c d' (from \"t-{v}\") is invalid");
    }
    SUBCASE("a task without the partition's param") {
        auto r = stream_until_error("name = \"big\"\n[sink]\nkind = \"file\"\npath = \"out\"\npartition = \"n={n}\"\n" +
                                    head.substr(13) + "[[tasks]]\nid = \"last\"\ncommand = [\"y\"]\n");
        CHECK(r.before.size() == 1000);
        CHECK_HAS(r.message, "big.toml:5:13: sink.partition: uses {n}, but task 'last' (tasks[1], line 10) has no param 'n'");
    }
    SUBCASE("`after` naming no task: after every task went out") {
        auto r = stream_until_error(head + "[[tasks]]\nid = \"merge\"\ncommand = [\"y\"]\nafter = [\"t-1\", \"t-1001\"]\n");
        CHECK(r.before.size() == 1001);
        CHECK_HAS(r.message, "big.toml:9:17: tasks[1].after[1]: task 'merge': after 't-1001': no task has this id");
    }
    SUBCASE("a cycle") {
        auto r = stream_until_error("name = \"big\"\n[[tasks]]\nid = \"a-{n}\"\ncommand = [\"x\"]\n"
                                    "foreach.n = [1, 2]\nafter = [\"b\"]\n[[tasks]]\nid = \"b\"\ncommand = [\"y\"]\n"
                                    "after = [\"a-2\"]\n");
        CHECK(r.before == strings{"a-1", "a-2", "b"});
        CHECK_HAS(r.message, "dependency cycle");
        CHECK_HAS(r.message, "big.toml:");
    }
    SUBCASE("the same messages from load_job") {
        CHECK(load_error(head + "[[tasks]]\nid = \"t-{m}\"\ncommand = [\"y\"]\nforeach.m = [1001, 500, 2]\n") ==
              stream_until_error(head + "[[tasks]]\nid = \"t-{m}\"\ncommand = [\"y\"]\nforeach.m = [1001, 500, 2]\n")
                  .message);
    }
}

TEST_CASE("job stream: the task limit is a setting, 10,000,000 by default") {
    const std::string entry = "[[tasks]]\nid = \"t-{n}\"\ncommand = [\"x\"]\nforeach.n = { from = 1, to = 6 }\n";
    SUBCASE("the job file's max_tasks") {
        CHECK_HAS(load_error("name = \"big\"\nmax_tasks = 5\n" + entry),
                  "big.toml:6:13: tasks[0].foreach.n: foreach expands to more than 5 tasks; narrow the ranges, use a "
                  "larger step, or raise max_tasks");
        CHECK(drover::parse_job("name = \"big\"\nmax_tasks = 6\n" + entry, "big.toml").tasks.size() == 6);
        CHECK_HAS(load_error("name = \"big\"\nmax_tasks = 0\n" + entry), "big.toml:2:13: max_tasks: must be at least 1, got 0");
        CHECK_HAS(load_error("name = \"big\"\nmax_tasks = \"many\"\n" + entry), "max_tasks: expected an integer");
    }
    SUBCASE("several entries together") {
        auto m = load_error("name = \"big\"\nmax_tasks = 8\n" + entry +
                            "[[tasks]]\nid = \"u-{n}\"\ncommand = [\"x\"]\nforeach.n = [1, 2, 3]\n");
        CHECK_HAS(m, "tasks[1].foreach: the job would have more than 8 tasks (max_tasks)");
    }
    SUBCASE("the loader's option wins over the file's key") {
        CHECK_HAS(load_error("name = \"big\"\nmax_tasks = 100\n" + entry, {.max_tasks = 3}),
                  "tasks[0].foreach.n: foreach expands to more than 3 tasks");
        CHECK(drover::parse_job("name = \"big\"\nmax_tasks = 2\n" + entry, "big.toml", {.max_tasks = 6}).tasks.size() == 6);
        CHECK_HAS(load_error("name = \"big\"\n" + entry, {.max_tasks = 0}), "max_tasks: the task limit given must be at least 1");
    }
    SUBCASE("ten million tasks are read without being made; one more is refused") {
        auto big = [](std::string to) {
            return "name = \"big\"\n[[tasks]]\nid = \"t-{n}\"\ncommand = [\"x\"]\nforeach.n = { from = 1, to = " + to + " }\n";
        };
        auto s = drover::job_stream::parse(big("10000000"), "big.toml");
        CHECK(s.expanded_size() == 10'000'000);
        CHECK_HAS(load_error(big("10000001")), "foreach expands to more than 10000000 tasks");
        auto days = drover::job_stream::parse("name = \"d\"\n[[tasks]]\nid = \"d-{d}\"\ncommand = [\"x\"]\n"
                                              "foreach.d = { from = \"0001-01-01\", to = \"9999-12-31\" }\n",
                                              "d.toml");
        CHECK(days.expanded_size() == 3'652'059);
    }
}

TEST_CASE("task catalog: ids, duplicates and `after` in little memory") {
    drover::detail::task_catalog c;
    CHECK(c.add("a", {}) == -1);
    CHECK(c.add("b", {"a", "x-*"}) == -1);
    CHECK(c.add("a", {"zzz"}) == 0);  // a duplicate is not added
    CHECK(c.size() == 2);
    CHECK(c.find("b") == 1);
    CHECK(c.find("c") == -1);
    CHECK_FALSE(c.has_after(0));
    CHECK(c.has_after(1));
    auto after = c.after(1);
    REQUIRE(after.size() == 2);
    CHECK(after[0] == "a");
    CHECK(after[1] == "x-*");
    std::vector<std::string> many;
    for (int i = 0; i < 300; ++i) many.push_back("up-" + std::to_string(i));
    CHECK(c.add("wide", many) == -1);
    auto wide = c.after(2);
    REQUIRE(wide.size() == 300);
    CHECK(wide[299] == "up-299");
    CHECK(c.find("wide") == 2);
    // A million-task foreach's ids ("t-1" .. "t-200000"): about 40 bytes each, not a task_spec's 700.
    drover::detail::task_catalog big;
    const std::size_t n = 200'000;
    for (std::size_t i = 1; i <= n; ++i) REQUIRE(big.add("t-" + std::to_string(i), {}) == -1);
    CHECK(big.add("t-77777", {}) == 77776);
    CHECK(big.find("t-200000") == 199'999);
    CHECK_MESSAGE(big.memory_bytes() / n < 48, "bytes per task: " << (big.memory_bytes() / n));
    big.clear();
    CHECK(big.size() == 0);
    CHECK(big.memory_bytes() == 0);
}
