// sqlite-sink JOB.toml     runs a job file that may use `[sink] kind = "sqlite"`; prints the
//                          summary as JSON and exits like `drover run`
// sqlite-sink --cat DB     prints every record in the database's chunks table, one per line,
//                          after the name of its chunk ("name<TAB>record")

#include "sqlite_storage.hpp"

#include <drover/drover.hpp>

#include <zlib.h>

#include <iostream>

namespace {

// Multi-member gzip to text.
std::string gunzip(const std::string& in) {
    std::string out;
    z_stream z{};
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw std::runtime_error("zlib: inflateInit2 failed");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    char buf[1 << 14];
    for (;;) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        int rc = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
        if (rc == Z_STREAM_END) {
            if (z.avail_in == 0) break;
            inflateReset(&z);  // the next member
        } else if (rc != Z_OK) {
            inflateEnd(&z);
            throw std::runtime_error("not gzip data");
        }
    }
    inflateEnd(&z);
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    std::string_view first = argc > 1 ? argv[1] : "";
    if (argc == 3 && first == "--cat") {
        try {
            for (const auto& row : sqlite_example::read_chunks(argv[2])) {
                std::string text = gunzip(row.gzip);
                std::size_t start = 0;
                while (start < text.size()) {
                    std::size_t nl = text.find('\n', start);
                    if (nl == std::string::npos) nl = text.size();
                    std::cout << row.name << '\t' << std::string_view(text).substr(start, nl - start) << '\n';
                    start = nl + 1;
                }
            }
            return 0;
        } catch (const std::exception& e) {
            std::cerr << "sqlite-sink: " << e.what() << "\n";
            return 2;
        }
    }
    if (argc != 2 || first.starts_with("-")) {
        std::cerr << "usage: sqlite-sink JOB.toml | sqlite-sink --cat DB\n";
        return 2;
    }
    drover::kinds kinds;            // the built-in kinds ...
    sqlite_example::add_to(kinds);  // ... and the "sqlite" sink
    try {
        auto job = drover::load_job(argv[1], kinds);
        auto summary = drover::make_scheduler(job).run();
        std::cout << drover::to_json(summary) << "\n";
        return summary.exit_code();
    } catch (const drover::config_error& e) {
        std::cerr << "sqlite-sink: configuration error: " << e.what() << "\n";
        return 2;
    } catch (const drover::error& e) {
        std::cerr << "sqlite-sink: " << e.what() << "\n";
        return 2;
    }
}
