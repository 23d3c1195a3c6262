// Job files (drover::parse_job): TOML, [defaults], foreach expansion, templates, durations,
// executors, sinks and workflow keys. Any input is either a job or a config_error located in
// the file; a job has tasks with unique ids and an executor. Short single-line inputs are
// also read as durations, which must print back to the same value.
#include "fuzz/fuzz.hpp"

#include <drover/error.hpp>
#include <drover/job_file.hpp>

#include <set>
#include <string>

namespace drover::fuzz {

namespace {

constexpr std::string_view source = "fuzz.toml";

void duration_round_trip(std::string_view in) {
    if (in.size() > 40 || in.find('\n') != std::string_view::npos) return;
    drover::duration d;
    try {
        d = drover::parse_duration(in);
    } catch (const drover::config_error&) {
        return;
    }
    DROVER_FUZZ_CHECK(d.count() >= 0, in);
    std::string text = drover::format_duration(d);
    DROVER_FUZZ_CHECK(drover::parse_duration(text) == d, text);
}

}  // namespace

void job_file(std::string_view in) {
    duration_round_trip(in);
    try {
        auto j = drover::parse_job(in, std::string(source));
        DROVER_FUZZ_CHECK(!j.tasks.empty(), "a job without tasks");
        DROVER_FUZZ_CHECK(!j.executors.empty(), "a job without executors");
        std::set<std::string_view> ids;
        for (const auto& t : j.tasks) DROVER_FUZZ_CHECK(ids.insert(t.id).second, t.id);
    } catch (const drover::config_error& e) {
        std::string_view what = e.what();
        DROVER_FUZZ_CHECK(what.starts_with(std::string(source) + ":"), what);
    }
}

}  // namespace drover::fuzz
