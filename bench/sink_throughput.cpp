// File sink throughput against raw zlib on the same bytes.
//
// Acceptance: file_sink MB/s >= 0.9 x raw deflate MB/s (level 6, gzip framing, one
// .gz file per task, 128 KiB output buffer). Both sides get the same records split into
// the same tasks; MB are uncompressed input bytes (10^6). Repetitions alternate raw and
// sink so drift (page cache, CPU frequency) hits both; the medians are compared.
//
// Runs raw first on odd reps and the sink first on even ones.
//
// Usage: sink_throughput [--records N] [--tasks N] [--reps N] [--fsync] [--dir PATH]
// fsync is off for both sides by default (measures the CPU path); --fsync turns it on
// for both (raw fsyncs each file; the sink fsyncs files, directories and manifests).

#include <drover/sinks/file.hpp>

#include <boost/json.hpp>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct options {
    std::size_t records = 30'000;  // ~37 MB: about 15 s for 3 reps at ~15 MB/s
    std::size_t tasks = 50;
    int reps = 3;
    bool fsync = false;
    fs::path dir = fs::temp_directory_path() / "drover-sink-bench";
};

// Small deterministic PRNG, so every machine benches the same bytes.
struct rng {
    std::uint64_t s;
    std::uint64_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

std::vector<std::string> make_vocabulary(rng& r) {
    static const char* syll[] = {"ka", "to", "ri", "men", "sa", "lo", "ver", "an", "de", "pol", "is", "tra",
                                 "con", "el", "mi", "nor", "ta", "ge", "ur", "bal", "ex", "sto", "fi", "na"};
    std::vector<std::string> words;
    for (int i = 0; i < 2000; ++i) {
        std::string w;
        for (std::size_t k = 1 + r.below(4); k > 0; --k) w += syll[r.below(std::size(syll))];
        words.push_back(std::move(w));
    }
    return words;
}

std::string words(rng& r, const std::vector<std::string>& vocab, std::size_t min_bytes) {
    std::string s;
    while (s.size() < min_bytes) {
        // Zipf-ish: frequent words repeat like in real text.
        std::size_t i = r.below(vocab.size());
        i = i * i / vocab.size();
        if (!s.empty()) s += r.below(12) == 0 ? ". " : " ";
        s += vocab[i];
    }
    return s;
}

struct task_data {
    std::string id;
    std::map<std::string, std::string> params;
    std::vector<std::string> lines;  // JSON records, no newline
    std::string bytes;               // lines joined with '\n' (what raw zlib compresses)
};

std::vector<task_data> make_tasks(const options& o) {
    rng r{0x9E3779B97F4A7C15ull};
    auto vocab = make_vocabulary(r);
    std::vector<task_data> tasks(o.tasks);
    for (std::size_t t = 0; t < o.tasks; ++t) {
        char date[16];
        std::snprintf(date, sizeof date, "2024-%02zu-%02zu", 1 + t / 28 % 12, 1 + t % 28);
        tasks[t].id = "day-" + std::string(date);
        tasks[t].params = {{"date", date}};
    }
    for (std::size_t i = 0; i < o.records; ++i) {
        auto& t = tasks[i * o.tasks / o.records];
        boost::json::object rec;
        rec["id"] = "art-" + std::to_string(i);
        rec["date"] = t.params["date"];
        rec["source"] = "news.example.com";
        rec["url"] = "https://news.example.com/" + t.params["date"] + "/" + std::to_string(r.next() % 1000000);
        rec["title"] = words(r, vocab, 40 + r.below(40));
        rec["content"] = words(r, vocab, 700 + r.below(600));
        rec["word_count"] = 150 + r.below(100);
        t.lines.push_back(boost::json::serialize(rec));
        t.bytes += t.lines.back();
        t.bytes += '\n';
    }
    return tasks;
}

void check(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

// The baseline: what a hand-written gzip writer does with the same bytes.
void raw_deflate(const std::string& bytes, const fs::path& path, bool do_fsync) {
    constexpr std::size_t in_chunk = 64 * 1024, out_size = 128 * 1024;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    check(fd >= 0, "open " + path.string());
    z_stream zs{};
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
    std::vector<unsigned char> out(out_size);
    std::size_t pos = 0;
    int flush;
    do {
        std::size_t n = std::min(in_chunk, bytes.size() - pos);
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data() + pos));
        zs.avail_in = static_cast<uInt>(n);
        pos += n;
        flush = pos == bytes.size() ? Z_FINISH : Z_NO_FLUSH;
        do {
            zs.next_out = out.data();
            zs.avail_out = static_cast<uInt>(out_size);
            deflate(&zs, flush);
            std::size_t have = out_size - zs.avail_out;
            check(::write(fd, out.data(), have) == static_cast<ssize_t>(have), "write");
        } while (zs.avail_out == 0);
    } while (flush != Z_FINISH);
    deflateEnd(&zs);
    if (do_fsync) check(::fsync(fd) == 0, "fsync");
    ::close(fd);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double run_raw(const std::vector<task_data>& tasks, const fs::path& dir, bool do_fsync) {
    fs::create_directories(dir);
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& t : tasks) raw_deflate(t.bytes, dir / (t.id + ".jsonl.gz"), do_fsync);
    return seconds_since(t0);
}

double run_sink(const std::vector<task_data>& tasks, const fs::path& dir, bool do_fsync, std::uint64_t& out_bytes) {
    drover::file_sink_options o;
    o.root = dir;
    o.partition = "date={date}";
    o.compression_level = 6;
    o.fsync = do_fsync;
    // Param partitions never look at the parsed fields, so parsing stays out of the timing.
    static const boost::json::object no_fields;
    auto t0 = std::chrono::steady_clock::now();
    drover::file_sink sink(o);
    sink.start({.run_id = "bench"});
    out_bytes = 0;
    for (const auto& t : tasks) {
        auto w = sink.open(drover::sink_attempt{"bench", t.id, 1, t.params});
        for (const auto& line : t.lines) w->write(drover::record{line, no_fields});
        out_bytes += w->commit().bytes;
    }
    sink.stop();
    return seconds_since(t0);
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--records") o.records = std::stoul(value());
        else if (a == "--tasks") o.tasks = std::stoul(value());
        else if (a == "--reps") o.reps = std::stoi(value());
        else if (a == "--fsync") o.fsync = true;
        else if (a == "--dir") o.dir = value();
        else {
            std::fprintf(stderr, "usage: %s [--records N] [--tasks N] [--reps N] [--fsync] [--dir PATH]\n", argv[0]);
            return 2;
        }
    }
    if (o.tasks == 0 || o.records < o.tasks || o.reps < 1) {
        std::fprintf(stderr, "need records >= tasks >= 1 and reps >= 1\n");
        return 2;
    }

    auto tasks = make_tasks(o);
    double mb = 0;
    for (const auto& t : tasks) mb += static_cast<double>(t.bytes.size()) / 1e6;
    std::printf("%zu records in %zu tasks, %.1f MB uncompressed, level 6, fsync %s\n", o.records, o.tasks, mb,
                o.fsync ? "on (both)" : "off (both)");

    std::vector<double> raw, sink;
    std::uint64_t sink_bytes = 0;
    for (int rep = 0; rep < o.reps; ++rep) {
        fs::remove_all(o.dir);
        // Alternate which side goes first, so write-back of the other's files hits both.
        double r = 0, s = 0;
        if (rep % 2 == 0) {
            r = run_raw(tasks, o.dir / "raw", o.fsync);
            s = run_sink(tasks, o.dir / "sink", o.fsync, sink_bytes);
        } else {
            s = run_sink(tasks, o.dir / "sink", o.fsync, sink_bytes);
            r = run_raw(tasks, o.dir / "raw", o.fsync);
        }
        raw.push_back(mb / r);
        sink.push_back(mb / s);
        std::printf("rep %d: raw %7.1f MB/s   sink %7.1f MB/s   ratio %.3f\n", rep + 1, raw.back(), sink.back(),
                    sink.back() / raw.back());
        std::fflush(stdout);
    }
    std::uintmax_t raw_bytes = 0;
    for (auto& e : fs::recursive_directory_iterator(o.dir / "raw"))
        if (e.is_regular_file()) raw_bytes += e.file_size();
    fs::remove_all(o.dir);

    double mr = median(raw), ms = median(sink);
    std::printf("median: raw %.1f MB/s, sink %.1f MB/s, ratio sink/raw %.3f (target >= 0.9)\n", mr, ms, ms / mr);
    std::printf("compressed: raw %ju bytes, sink %ju bytes\n", raw_bytes, static_cast<std::uintmax_t>(sink_bytes));
    return ms / mr >= 0.9 ? 0 : 1;
}
