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
