#pragma once
// Shared by the libFuzzer targets (tests/fuzz/*_fuzz.cpp) and the replay test that runs their
// committed corpora in the normal suite (replay_test.cpp).
//
// Each target is a function `void drover::fuzz::<name>(std::string_view input)`. It feeds the
// input to a parser, swallows the errors that parser documents for bad input, and checks what
// must hold for any input with DROVER_FUZZ_CHECK. Anything else (a crash, a sanitizer report,
// an undocumented exception, a failed check) is a finding. fuzz_main.cpp turns one target into
// LLVMFuzzerTestOneInput.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

// Every target, as in targets.cmake: X(name) for each.
#define DROVER_FUZZ_TARGETS(X) \
    X(job_file) X(stdout_lines) X(partition) X(http_read) X(docker_frames) X(docker_api) X(s3_xml) X(sigv4) \
    X(cron) X(tzif) X(posix_tz) X(aws_ini) X(control_lines) X(slurm) X(service_api)

namespace drover::fuzz {

#define DROVER_FUZZ_DECLARE(name) void name(std::string_view input);
DROVER_FUZZ_TARGETS(DROVER_FUZZ_DECLARE)
#undef DROVER_FUZZ_DECLARE

[[noreturn]] inline void check_failed(const char* expr, const char* file, int line, std::string_view detail) {
    std::fprintf(stderr, "%s:%d: fuzz check failed: %s\n", file, line, expr);
    if (!detail.empty()) std::fprintf(stderr, "  %.*s\n", static_cast<int>(detail.size()), detail.data());
    std::abort();
}

/// The input cut at every `sep`; always at least one (possibly empty) field.
inline std::vector<std::string_view> split(std::string_view in, char sep) {
    std::vector<std::string_view> out;
    for (;;) {
        auto at = in.find(sep);
        out.push_back(in.substr(0, at));
        if (at == std::string_view::npos) return out;
        in.remove_prefix(at + 1);
    }
}

/// A small number taken from the front of `in` (consumed), for splits and limits.
inline unsigned take_byte(std::string_view& in) {
    if (in.empty()) return 0;
    auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    return b;
}

}  // namespace drover::fuzz

#define DROVER_FUZZ_CHECK(cond, detail) \
    ((cond) ? void(0) : ::drover::fuzz::check_failed(#cond, __FILE__, __LINE__, (detail)))
