// job_load_options: params and foreach values given to the loader (`--param`), and a subset of
// tasks (`--only`, `--no-deps`), with every mistake named.
#include <doctest/doctest.h>

#include <drover/error.hpp>
#include <drover/job_file.hpp>

namespace {

const char* news = R"(name = "news"
[[tasks]]
id = "crawl-{date}"
command = ["crawl", "--date", "{date}", "--depth", "{depth}", "--site", "{site}"]
foreach.date = { from = "2018-01-01", to = "2018-01-31" }
params = { depth = 3, site = "https://example.org/{date}/" }
[[tasks]]
id = "count-{date}"
command = ["count", "{date}"]
foreach.date = { from = "2018-01-01", to = "2018-01-31" }
after = ["crawl-{date}"]
[[tasks]]
id = "merge"
command = ["merge"]
after = ["count-*"]
[[tasks]]
id = "page-{page}"
command = ["page", "{page}"]
foreach.page = { from = 1, to = 10 }
)";

std::vector<std::string> ids(const drover::job& j) {
    std::vector<std::string> out;
    for (const auto& t : j.tasks) out.push_back(t.id);
    return out;
}

drover::job load(const drover::job_load_options& o) { return drover::parse_job(news, "news.toml", o); }

std::string error_of(const drover::job_load_options& o) {
    try {
        (void)load(o);
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

using strings = std::vector<std::string>;

}  // namespace

TEST_CASE("job load options: a foreach override replaces the list, in every entry that has the variable") {
    auto j = load({.params = {{"date", {"2018-01-06"}}}});
    CHECK(ids(j) == strings{"crawl-2018-01-06", "count-2018-01-06", "merge", "page-1", "page-2", "page-3", "page-4",
                            "page-5", "page-6", "page-7", "page-8", "page-9", "page-10"});
    CHECK(j.tasks[0].command ==
          strings{"crawl", "--date", "2018-01-06", "--depth", "3", "--site", "https://example.org/2018-01-06/"});
    CHECK(j.tasks[0].params.at("date") == "2018-01-06");
    CHECK(j.tasks[1].after == strings{"crawl-2018-01-06"});

    // Several values make the list, in the order given; a date outside the file's range is fine.
    j = load({.params = {{"date", {"2019-03-01", "2018-01-02"}}, {"page", {"007"}}}});
    CHECK(ids(j) == strings{"crawl-2019-03-01", "crawl-2018-01-02", "count-2019-03-01", "count-2018-01-02", "merge",
                            "page-7"});
}

TEST_CASE("job load options: a params override replaces the value literally, before templates expand") {
    auto j = load({.params = {{"depth", {"5"}}, {"site", {"https://other.example/{date}"}}, {"date", {"2018-01-09"}}}});
    CHECK(j.tasks[0].command ==
          strings{"crawl", "--date", "2018-01-09", "--depth", "5", "--site", "https://other.example/{date}"});
    CHECK(j.tasks[0].params.at("depth") == "5");
}

TEST_CASE("job load options: bad overrides are config errors that name the key") {
    CHECK(error_of({.params = {{"dat", {"2018-01-06"}}}}) ==
          "param override 'dat': no task has a param or foreach variable of this name (the tasks have: date, depth, "
          "page, site); did you mean 'date'?");
    CHECK(error_of({.params = {{"colour", {"red"}}}}).find("no task has a param or foreach variable") !=
          std::string::npos);
    CHECK(error_of({.params = {{"date", {}}}}) == "param override 'date': no value given");
    CHECK(error_of({.params = {{"date", {"2018-02-30"}}}}) ==
          "news.toml:5:16: tasks[0].foreach.date: param override date=2018-02-30: invalid date \"2018-02-30\": no such "
          "day in the calendar");
    CHECK(error_of({.params = {{"date", {"yesterday"}}}}).find("expected YYYY-MM-DD") != std::string::npos);
    CHECK(error_of({.params = {{"page", {"3x"}}}}) ==
          "news.toml:19:16: tasks[3].foreach.page: param override page=3x: \"3x\" is not a whole number (the foreach "
          "variable 'page' is an integer range)");
    CHECK(error_of({.params = {{"depth", {"1", "2"}}}}) ==
          "news.toml:6:20: tasks[0].params.depth: param override 'depth' has 2 values, but 'depth' is a param here: "
          "only foreach variables take several values");
    // The same value twice gives the same id twice.
    CHECK(error_of({.params = {{"page", {"1", "1"}}}}).find("duplicate task id 'page-1'") != std::string::npos);
}

TEST_CASE("job load options: a list variable takes any value, and a job without foreach or params has none") {
    auto j = drover::parse_job("name = \"l\"\n[[tasks]]\nid = \"t-{lang}\"\ncommand = [\"x\", \"{lang}\"]\n"
                               "foreach.lang = [\"en\", \"de\"]\n",
                               "l.toml", {.params = {{"lang", {"pt-BR", "fr"}}}});
    CHECK(ids(j) == strings{"t-pt-BR", "t-fr"});
    try {
        (void)drover::parse_job("name = \"n\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\n", "n.toml",
                                {.params = {{"date", {"1"}}}});
        FAIL("no error");
    } catch (const drover::config_error& e) {
        CHECK(std::string(e.what()) ==
              "param override 'date': no task has a param or foreach variable of this name (the tasks have none)");
    }
}

TEST_CASE("job load options: only keeps the matching tasks with their dependencies, in job order") {
    auto j = load({.only = {"merge"}});
    CHECK(j.tasks.size() == 63);  // merge, the 31 counts and the 31 crawls
    CHECK(j.tasks.front().id == "crawl-2018-01-01");
    CHECK(j.tasks.back().id == "merge");
    CHECK(j.tasks.back().after == strings{"count-*"});

    j = load({.only = {"count-2018-01-0[12]", "page-1?"}});
    CHECK(ids(j) == strings{"crawl-2018-01-01", "crawl-2018-01-02", "count-2018-01-01", "count-2018-01-02", "page-10"});

    // With overrides: the subset of what they give.
    j = load({.params = {{"date", {"2018-01-06"}}}, .only = {"count-*"}});
    CHECK(ids(j) == strings{"crawl-2018-01-06", "count-2018-01-06"});
}

TEST_CASE("job load options: only without dependencies drops `after` on tasks not kept") {
    auto j = load({.only = {"merge"}, .with_dependencies = false});
    CHECK(ids(j) == strings{"merge"});
    CHECK(j.tasks[0].after.empty());

    j = load({.only = {"count-2018-01-0[12]", "merge"}, .with_dependencies = false});
    CHECK(ids(j) == strings{"count-2018-01-01", "count-2018-01-02", "merge"});
    CHECK(j.tasks[0].after.empty());
    CHECK(j.tasks[2].after == strings{"count-2018-01-01", "count-2018-01-02"});  // the glob, resolved to what is kept

    j = load({.only = {"crawl-2018-01-05", "count-2018-01-05"}, .with_dependencies = false});
    CHECK(j.tasks[1].after == strings{"crawl-2018-01-05"});
    (void)drover::make_scheduler(j);  // a graph the scheduler takes
}

TEST_CASE("job load options: a glob matching nothing and an empty glob are config errors") {
    CHECK(error_of({.only = {"crawl-2019-*"}}) ==
          "only 'crawl-2019-*': matches no task (the job's 73 task(s): crawl-2018-01-01, crawl-2018-01-02, "
          "crawl-2018-01-03, crawl-2018-01-04, crawl-2018-01-05, ...)");
    CHECK(error_of({.only = {"merge", "nothing"}}).starts_with("only 'nothing': matches no task"));
    CHECK(error_of({.only = {""}}).find("empty pattern") != std::string::npos);
}
