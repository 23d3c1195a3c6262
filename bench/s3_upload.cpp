// Uploads every regular file under a directory to s3://bucket/prefix/<relative path> with
// drover's S3 code (SigV4, Content-MD5 and payload SHA-256, PutObject or multipart, retries):
// the upload half of the S3 sink, for bench/s3.sh. Prints bytes and seconds.
//
//   s3_upload DIR s3://bucket/prefix ENDPOINT [--concurrency N] [--part-size MiB]
// Credentials from the environment / ~/.aws (the usual chain).

#include <drover/sinks/s3.hpp>

#include "s3/uploader.hpp"
#include "s3/url.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: s3_upload DIR s3://bucket/prefix ENDPOINT [--concurrency N] [--part-size MiB]\n";
        return 2;
    }
    unsigned concurrency = 8;
    std::uint64_t part_mib = 8;
    for (int i = 4; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--concurrency")) concurrency = static_cast<unsigned>(std::stoul(argv[i + 1]));
        if (!std::strcmp(argv[i], "--part-size")) part_mib = std::stoull(argv[i + 1]);
    }
    drover::s3_sink_options so;
    so.url = argv[2];
    so.endpoint = argv[3];
    so.path_style = true;
    auto where = drover::s3::parse_s3_url(so.url);
    std::vector<fs::path> files;
    std::uint64_t bytes = 0;
    for (auto& e : fs::recursive_directory_iterator(argv[1]))
        if (e.is_regular_file()) {
            files.push_back(e.path());
            bytes += e.file_size();
        }

    asio::io_context ioc;
    drover::s3::api api(ioc.get_executor(), drover::s3::make_api_options(so));
    std::size_t next = 0, failed = 0;
    drover::s3::upload_options uo{part_mib << 20, 4, false};
    auto worker = [&]() -> asio::awaitable<void> {
        while (next < files.size()) {
            auto f = files[next++];
            std::string key = drover::s3::join_key(where.prefix, fs::relative(f, argv[1]).generic_string());
            try {
                co_await drover::s3::upload_file(api, where.bucket, key, f, uo);
            } catch (const std::exception& e) {
                std::cerr << e.what() << "\n";
                ++failed;
            }
        }
    };
    auto t0 = std::chrono::steady_clock::now();
    for (unsigned i = 0; i < concurrency; ++i) asio::co_spawn(ioc, worker(), asio::detached);
    ioc.run();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("files=%zu bytes=%llu seconds=%.3f MiB/s=%.1f failed=%zu\n", files.size(),
                static_cast<unsigned long long>(bytes), secs, bytes / secs / (1 << 20), failed);
    return failed ? 1 : 0;
}
