// Partition templates and values (sinks/partition.*, detail/template.*, detail/time_format.*):
// whatever the template, the task's params and the record's fields, a resolved partition is a
// relative path whose components are non-empty and never start with '.', with no control
// characters; a sanitised value is one safe component that decodes back to the value (unless
// cut). A bad value ({record.ts|%F} of "noon") goes to __missing__, or with bad_records is a
// record_rejected, never another exception.
//
// Input lines: the template; then params as name=value; the last line is the record (JSON).
// The whole input is also sanitised as one value.
#include "fuzz/fuzz.hpp"

#include "detail/template.hpp"
#include "sinks/partition.hpp"

#include <drover/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <map>
#include <string>

namespace drover::fuzz {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void check_component(std::string_view value) {
    std::string c = detail::sanitize_component(value);
    DROVER_FUZZ_CHECK(!c.empty() && c.size() <= 200, c);
    DROVER_FUZZ_CHECK(c.front() != '.', c);
    DROVER_FUZZ_CHECK(c.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._=-%~") ==
                          std::string::npos,
                      c);
    if (value.empty() || c.find('~') != std::string::npos) return;
    std::string back;
    for (std::size_t i = 0; i < c.size(); ++i) {
        if (c[i] != '%') {
            back.push_back(c[i]);
            continue;
        }
        DROVER_FUZZ_CHECK(i + 2 < c.size() && hex_value(c[i + 1]) >= 0 && hex_value(c[i + 2]) >= 0, c);
        back.push_back(static_cast<char>(hex_value(c[i + 1]) * 16 + hex_value(c[i + 2])));
        i += 2;
    }
    DROVER_FUZZ_CHECK(back == value, c);
}

void check_path(std::string_view path) {
    if (path.empty()) return;  // the sink root itself
    for (auto comp : split(path, '/')) {
        DROVER_FUZZ_CHECK(!comp.empty(), path);
        DROVER_FUZZ_CHECK(comp.front() != '.', path);
        for (char ch : comp) DROVER_FUZZ_CHECK(static_cast<unsigned char>(ch) >= 0x20 && ch != 0x7f, path);
    }
}

}  // namespace

void partition(std::string_view in) {
    check_component(in);
    auto lines = split(in, '\n');
    std::string_view tpl = lines.front();

    // The shared template grammar: one call per placeholder, in order.
    auto names = detail::template_names(tpl);
    std::size_t looked_up = 0;
    std::string expanded = detail::substitute_template(tpl, [&](const detail::placeholder& p) {
        DROVER_FUZZ_CHECK(looked_up < names.size() && names[looked_up] == p.name, p.name);
        DROVER_FUZZ_CHECK(p.format.find_first_of("{}") == std::string::npos, p.format);
        ++looked_up;
        return std::string();
    });
    DROVER_FUZZ_CHECK(looked_up == names.size(), tpl);
    DROVER_FUZZ_CHECK(expanded.size() <= tpl.size(), tpl);

    std::map<std::string, std::string> params;
    for (std::size_t i = 1; i + 1 < lines.size(); ++i) {
        auto eq = lines[i].find('=');
        if (eq != std::string_view::npos) params[std::string(lines[i].substr(0, eq))] = lines[i].substr(eq + 1);
    }
    boost::json::object record;
    if (lines.size() > 1) {
        boost::system::error_code ec;
        auto v = boost::json::parse(lines.back(), ec);
        if (!ec && v.is_object()) record = v.get_object();
        for (const auto& [k, v2] : record)
            if (v2.is_string()) check_component(v2.get_string());
    }

    for (auto policy : {bad_value_policy::missing_partition, bad_value_policy::bad_records}) {
        std::optional<detail::partition_template> t;
        try {
            t.emplace(tpl, detail::time_zone(), policy);
        } catch (const drover::config_error&) {
            return;
        }
        try {
            auto bound = t->bind(params);
            check_path(bound.uses_record() ? bound.resolve(record) : bound.resolve());
        } catch (const drover::record_rejected&) {
            DROVER_FUZZ_CHECK(policy == bad_value_policy::bad_records, "record_rejected under missing_partition");
        } catch (const drover::sink_error&) {
            bool missing_param = false;
            for (const auto& n : names)
                if (!n.starts_with("record.") && !params.contains(n)) missing_param = true;  // as promised
            DROVER_FUZZ_CHECK(missing_param, "sink_error although every param is there");
        }
    }
}

}  // namespace drover::fuzz
