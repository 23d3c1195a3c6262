// LLVMFuzzerTestOneInput for one target, chosen at compile time: -DDROVER_FUZZ_ENTRY=<name>
// (tests/fuzz/CMakeLists.txt builds one executable per target from this file).
#include "fuzz/fuzz.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    drover::fuzz::DROVER_FUZZ_ENTRY(std::string_view(reinterpret_cast<const char*>(data), size));
    return 0;
}
