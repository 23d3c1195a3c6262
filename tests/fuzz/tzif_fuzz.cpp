// TZif files (cron/tzif.*): any bytes either parse or throw std::invalid_argument naming the
// problem. A parsed zone answers every instant with a UTC offset within ±26 hours, at and
// around each transition and far before and after them (where the footer's rule applies).
#include "fuzz/fuzz.hpp"

#include "cron/tzif.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace drover::fuzz {

namespace {

// The zone's transitions are private; these instants cover the ones a file can encode
// (32-bit and 64-bit), and years far from any.
constexpr std::int64_t probes[] = {-(1ll << 40), -(1ll << 31) - 1, -(1ll << 31), -2208988800, -1, 0, 1,
                                   946684800, 1774744200, (1ll << 31) - 1, 1ll << 31, 4102444800, 1ll << 40};

}  // namespace

void tzif(std::string_view in) {
    std::optional<detail::tzif_zone> z;
    try {
        z = detail::tzif_zone::parse(in, "fuzz-zone");
    } catch (const std::invalid_argument& e) {
        DROVER_FUZZ_CHECK(std::string_view(e.what()).starts_with("fuzz-zone: "), e.what());
        return;
    }
    auto check = [&](std::int64_t t) {
        std::int32_t off = z->offset_at(t);
        DROVER_FUZZ_CHECK(off > -26 * 3600 && off < 26 * 3600, std::to_string(t) + ": " + std::to_string(off));
    };
    for (auto t : probes) check(t);
    // Instants named in the file itself, wherever they fall: every 8-byte window as a time.
    for (std::size_t i = 0; i + 8 <= in.size() && i < 4096; i += 4) {
        std::uint64_t v = 0;
        for (std::size_t k = 0; k < 8; ++k) v = (v << 8) | static_cast<unsigned char>(in[i + k]);
        auto t = static_cast<std::int64_t>(v);
        if (t > -(1ll << 40) && t < (1ll << 40))
            for (std::int64_t d : {-1, 0, 1}) check(t + d);
    }
}

}  // namespace drover::fuzz
