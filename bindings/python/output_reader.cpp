// read_output / read_records: a file sink's output (gzip JSON lines under key=value
// partition directories) back into Python, as dicts or a pandas DataFrame.

#include "bind.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

namespace drover::python {

namespace fs = std::filesystem;

namespace {

struct partition_value {
    std::string key, value;
};

// `date=2018-01-06` -> {date, 2018-01-06}; other directory names carry no column.
std::vector<partition_value> partitions_of(const fs::path& relative_dir) {
    std::vector<partition_value> out;
    for (auto& part : relative_dir) {
        auto name = part.string();
        auto eq = name.find('=');
        if (eq == std::string::npos || eq == 0) continue;
        out.push_back({name.substr(0, eq), name.substr(eq + 1)});
    }
    return out;
}

// Output files in a stable order: by directory, then by name (rotation chunks `id~N` after `id`).
std::vector<fs::path> output_files(const fs::path& root) {
    std::error_code ec;
    auto st = fs::status(root, ec);
    if (ec || !fs::exists(st)) {
        PyErr_SetString(PyExc_FileNotFoundError, ("read_output: no such directory: " + root.string()).c_str());
        throw py::error_already_set();
    }
    if (fs::is_regular_file(st)) return {root};
    if (!fs::is_directory(st)) throw sink_error("read_output: not a directory or file: " + root.string());
    std::vector<fs::path> files;
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
    if (ec) throw sink_error("read_output: cannot list " + root.string() + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) throw sink_error("read_output: cannot list " + root.string() + ": " + ec.message());
        auto name = it->path().filename().string();
        // The sink's bookkeeping (staging, manifests, lock) is not output.
        if (it->is_directory() && name.starts_with(".")) {
            it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file() && name.ends_with(".jsonl.gz") && !name.starts_with(".")) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

// Calls `line(text, number)` for every line of a gzip file. Throws sink_error for a file that
// cannot be opened, corrupt or truncated data.
template <class F>
void for_each_gzip_line(const fs::path& file, F&& line) {
    gzFile gz = gzopen(file.c_str(), "rb");
    if (!gz) throw sink_error("read_output: cannot open " + file.string());
    struct closer {
        gzFile g;
        ~closer() { gzclose(g); }
    } guard{gz};
    std::string pending;
    std::vector<char> buf(1 << 16);
    std::size_t number = 0;
    for (;;) {
        int n = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()));
        if (n < 0) {
            int err = 0;
            const char* msg = gzerror(gz, &err);
            throw sink_error("read_output: " + file.string() + ": corrupt gzip data: " + (msg ? msg : "?"));
        }
        if (n == 0) {
            int err = 0;
            const char* msg = gzerror(gz, &err);
            if (err != Z_OK && err != Z_STREAM_END)
                throw sink_error("read_output: " + file.string() + ": " + (msg ? msg : "read error"));
            break;
        }
        pending.append(buf.data(), static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', start)) {
            line(std::string_view(pending).substr(start, nl - start), ++number);
            start = nl + 1;
        }
        pending.erase(0, start);
    }
    if (!pending.empty()) line(std::string_view(pending), ++number);
}

py::list read_records(const std::string& path, bool partitions) {
    if (path.starts_with("s3://"))
        throw sink_error("read_output: s3:// output is not readable from this build (no S3 sink yet): " + path);
    fs::path root(path);
    py::list rows;
    for (auto& file : output_files(root)) {
        std::vector<partition_value> parts;
        if (partitions) {
            std::error_code ec;
            auto rel = fs::is_directory(root) ? fs::relative(file.parent_path(), root, ec) : fs::path();
            if (!ec) parts = partitions_of(rel);
        }
        for_each_gzip_line(file, [&](std::string_view text, std::size_t number) {
            if (text.empty()) return;
            boost::system::error_code jec;
            auto v = boost::json::parse(text, jec);
            if (jec || !v.is_object())
                throw sink_error("read_output: " + file.string() + ":" + std::to_string(number) + ": " +
                                 (jec ? "invalid JSON: " + jec.message() : std::string("not a JSON object")));
            py::dict row = to_python(v);
            // A partition value fills in a field the record lacks; the record's own value wins.
            for (auto& p : parts)
                if (!row.contains(p.key)) row[py::str(p.key)] = p.value;
            rows.append(std::move(row));
        });
    }
    return rows;
}

}  // namespace

void bind_output_reader(py::module_& m) {
    m.def("read_records", &read_records, py::arg("path"), py::kw_only(), py::arg("partitions") = true, R"doc(
A file sink's output as a list of dicts, one per record, without needing pandas.

path is the sink's root directory (or one .jsonl.gz file). Files are read in path order;
the sink's own bookkeeping under .drover/ is skipped. With partitions=True every
`key=value` directory between the root and a file adds `key` (a str) to that file's records
unless a record has the field itself. Raises FileNotFoundError for a missing path and
SinkError (naming file:line) for corrupt gzip data or a line that is not a JSON object.
)doc");
    m.def(
        "read_output",
        [](const std::string& path, bool partitions) {
            auto pd = import_pandas("read_output()");
            return pd.attr("DataFrame")(read_records(path, partitions));
        },
        py::arg("path"), py::kw_only(), py::arg("partitions") = true, R"doc(
A file sink's output as a pandas DataFrame: one row per record, one column per field,
plus the partition columns (e.g. `date` from date=2018-01-06/ directories). See read_records.

    df = drover.read_output("out/news")
    df.groupby("date").size().plot()
)doc");
}

}  // namespace drover::python
