// The Docker Engine API answers drover parses (docker/api.*): create, wait, inspect, list,
// the image pull stream and error bodies. Every parser gets the same bytes; each either
// returns or throws protocol_error, and what it returns keeps its promises (a plausible Id,
// messages clipped). url_encode must be reversible and leave only unreserved characters.
#include "fuzz/fuzz.hpp"

#include "docker/api.hpp"

#include <string>

namespace drover::fuzz {

namespace {

template <class F>
void parse_or_protocol_error(F&& f) {
    try {
        f();
    } catch (const docker::protocol_error&) {
    }
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void check_url_encode(std::string_view in) {
    std::string e = docker::url_encode(in);
    std::string back;
    for (std::size_t i = 0; i < e.size(); ++i) {
        char c = e[i];
        if (c == '%') {
            DROVER_FUZZ_CHECK(i + 2 < e.size() && hex_value(e[i + 1]) >= 0 && hex_value(e[i + 2]) >= 0, e);
            back.push_back(static_cast<char>(hex_value(e[i + 1]) * 16 + hex_value(e[i + 2])));
            i += 2;
            continue;
        }
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                          c == '_' || c == '.' || c == '~';
        DROVER_FUZZ_CHECK(unreserved, e);
        back.push_back(c);
    }
    DROVER_FUZZ_CHECK(back == in, e);
}

}  // namespace

void docker_api(std::string_view in) {
    parse_or_protocol_error([&] {
        auto id = docker::parse_create(in);
        DROVER_FUZZ_CHECK(!id.empty() && id.size() <= 128, id);
        DROVER_FUZZ_CHECK(id.find_first_of("/?#% ") == std::string::npos, id);
    });
    parse_or_protocol_error([&] { (void)docker::parse_wait(in); });
    parse_or_protocol_error([&] { (void)docker::parse_inspect(in); });
    parse_or_protocol_error([&] {
        for (const auto& c : docker::parse_list(in)) DROVER_FUZZ_CHECK(!c.id.empty(), "a listed container without an Id");
    });
    if (auto e = docker::pull_error(in)) DROVER_FUZZ_CHECK(!e->empty() && e->size() <= 303, *e);
    auto m = docker::error_message(500, in);
    DROVER_FUZZ_CHECK(!m.empty() && m.size() <= 303, m);
    if (in.size() <= 512) check_url_encode(in);
}

}  // namespace drover::fuzz
