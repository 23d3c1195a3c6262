// Partition values from record fields (issue 18, defect 15): numbers as plain decimals,
// never in exponent form like 1.25E1.
#include <doctest/doctest.h>

#include "sinks/partition.hpp"

#include <boost/json.hpp>

using drover::detail::partition_template;

namespace {

std::string resolve(std::string_view json) {
    return partition_template("x={record.x}").resolve(boost::json::parse(json).as_object());
}

}  // namespace

TEST_CASE("partition: record numbers are written as plain decimals") {
    CHECK(resolve(R"({"x": 12.5})") == "x=12.5");
    CHECK(resolve(R"({"x": 1.25e1})") == "x=12.5");
    CHECK(resolve(R"({"x": 0.1})") == "x=0.1");
    CHECK(resolve(R"({"x": -3.75})") == "x=-3.75");
    CHECK(resolve(R"({"x": 42})") == "x=42");
    CHECK(resolve(R"({"x": -7})") == "x=-7");
    CHECK(resolve(R"({"x": 18446744073709551615})") == "x=18446744073709551615");
    CHECK(resolve(R"({"x": 2018.0})") == "x=2018");
    CHECK(resolve(R"({"x": true})") == "x=true");
    CHECK(resolve(R"({"x": "a/b"})") == "x=a%2Fb");
    CHECK(resolve(R"({"x": null})") == "x=__missing__");
    CHECK(resolve(R"({"y": 1})") == "x=__missing__");
    // Very large and very small values keep an exponent, as their shortest form.
    CHECK(resolve(R"({"x": 1e300})") == "x=1e%2B300");
    CHECK(resolve(R"({"x": [1.5, 2]})") == "x=%5B1.5%2C2%5D");
}
