// The fuzz targets' committed corpora (tests/fuzz/corpus/<target>/: seeds and every input
// that once crashed) replayed through the same target code in the normal suite, so a fixed
// crash stays fixed and the targets keep building with the project's compiler.
#include <doctest/doctest.h>

#include "fuzz/fuzz.hpp"
#include "support/support.hpp"

#include <algorithm>
#include <filesystem>
#include <vector>

namespace fs = std::filesystem;

namespace {

std::size_t replay(const char* target, void (*fn)(std::string_view)) {
    fs::path dir = fs::path(DROVER_SOURCE_DIR) / "tests" / "fuzz" / "corpus" / target;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file()) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        CAPTURE(f.string());
        fn(drover::test::read_file(f));  // a failed check aborts, naming itself on stderr
    }
    return files.size();
}

}  // namespace

#define DROVER_REPLAY(name) \
    TEST_CASE("fuzz corpus replays without a finding: " #name) { CHECK(replay(#name, &drover::fuzz::name) > 0); }
DROVER_FUZZ_TARGETS(DROVER_REPLAY)
