#include <doctest/doctest.h>

#include "detail/template.hpp"

#include <map>

using drover::detail::expand_template;
using drover::detail::template_names;

namespace {
std::optional<std::string> params(std::string_view n) {
    static const std::map<std::string, std::string, std::less<>> p{{"date", "2018-01-06"}, {"lang", "en"}};
    auto it = p.find(n);
    if (it == p.end()) return std::nullopt;
    return it->second;
}
}  // namespace

TEST_CASE("template: placeholders are replaced, JSON braces stay literal") {
    CHECK(expand_template("day-{date}", params) == "day-2018-01-06");
    CHECK(expand_template(R"(echo '{"date":"{date}"}')", params) == R"(echo '{"date":"2018-01-06"}')");
    CHECK(expand_template("{date}/{lang}", params) == "2018-01-06/en");
    CHECK(expand_template("no placeholders", params) == "no placeholders");
    CHECK(expand_template("", params).empty());
}

TEST_CASE("template: escapes and shell syntax") {
    CHECK(expand_template("{{date}", params) == "{date}");
    CHECK(expand_template("awk '{{print}'", params) == "awk '{print}'");
    CHECK(expand_template("echo ${HOME} {date}", params) == "echo ${HOME} 2018-01-06");
    CHECK(expand_template("{ echo; }", params) == "{ echo; }");
    CHECK(expand_template("{", params) == "{");
    CHECK(expand_template("}", params) == "}");
    CHECK(expand_template("{date", params) == "{date");
}

TEST_CASE("template: unknown placeholders throw with the name") {
    try {
        expand_template("x-{missing}-y", params);
        FAIL("expected unknown_placeholder");
    } catch (const drover::detail::unknown_placeholder& e) {
        CHECK(e.name == "missing");
    }
}

TEST_CASE("template: names are listed in order") {
    auto names = template_names("{a}/{record.lang}/{{b}/${c}/{a}");
    REQUIRE(names.size() == 3);
    CHECK(names[0] == "a");
    CHECK(names[1] == "record.lang");
    CHECK(names[2] == "a");
}

TEST_CASE("template: {name|FORMAT} formats a time, in UTC unless a zone is given") {
    std::map<std::string, std::string, std::less<>> p{{"date", "2019-01-01"}, {"ts", "1546300800"}};
    auto lookup = [&](std::string_view n) -> std::optional<std::string> {
        auto it = p.find(n);
        if (it == p.end()) return std::nullopt;
        return it->second;
    };
    // The crawler of the first seed: date = 2019-01-01 -> -a date=20190101.
    CHECK(expand_template("-a date={date|%Y%m%d}", lookup) == "-a date=20190101");
    CHECK(expand_template("{ts|%F %H:%M}", lookup) == "2019-01-01 00:00");
    // TZ=Asia/Seoul date -d @1546300800 +%H -> 09
    CHECK(expand_template("{ts|%H}", lookup, drover::detail::time_zone("Asia/Seoul")) == "09");
    // `|` only makes a placeholder inside braces after a name; shell pipes stay literal.
    CHECK(expand_template("a | b {{x|y} ${x|y} {date}", lookup) == "a | b {x|y} ${x|y} 2019-01-01");
    CHECK(expand_template("{date|%Y{", lookup) == "{date|%Y{");
}

TEST_CASE("template: a bad format or a value that is not a time names the placeholder") {
    std::map<std::string, std::string, std::less<>> p{{"date", "soon"}, {"d", "2019-01-01"}};
    auto lookup = [&](std::string_view n) -> std::optional<std::string> {
        auto it = p.find(n);
        if (it == p.end()) return std::nullopt;
        return it->second;
    };
    auto error = [&](std::string_view tpl) -> std::string {
        try {
            return "(no error: " + expand_template(tpl, lookup) + ")";
        } catch (const drover::detail::bad_placeholder& e) {
            return e.what();
        }
    };
    CHECK(error("{d|%Q}").starts_with("{d|%Q}: format '%Q': unknown conversion '%Q'"));
    CHECK(error("{d|}") == "{d|}: empty format: write a strftime pattern such as %Y-%m-%d");
    CHECK(error("{date|%F}").starts_with("{date|%F}: 'soon' is not a time"));
    CHECK_THROWS_AS(expand_template("{nope|%F}", lookup), drover::detail::unknown_placeholder);
}

TEST_CASE("template: placeholders are listed with their formats") {
    auto ps = drover::detail::template_placeholders("dt={record.ts|epoch_ms:%Y-%m-%d}/h={record.ts|%H}/{lang}");
    REQUIRE(ps.size() == 3);
    CHECK(ps[0].name == "record.ts");
    CHECK(ps[0].format == "epoch_ms:%Y-%m-%d");
    CHECK(ps[0].text() == "{record.ts|epoch_ms:%Y-%m-%d}");
    CHECK(ps[2].name == "lang");
    CHECK(!ps[2].has_bar);
    CHECK(template_names("{a|%Y}/{b}") == std::vector<std::string>{"a", "b"});
}
