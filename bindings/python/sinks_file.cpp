// Sink (the base every sink binds under) and FileSink.

#include "bind.hpp"

namespace drover::python {

void bind_sink_base(py::module_& m) {
    py::class_<sink, std::shared_ptr<sink>>(m, "Sink", R"doc(
Where records go, exactly once per successful task. Not constructed directly: use
FileSink or S3Sink and pass it to Scheduler(sink=...) or Scheduler.set_sink().
)doc")
        .def("describe", &sink::describe, "Human-readable location, e.g. 'out/hello'.");
}

void bind_file_sink(py::module_& m) {
    const file_sink_options d{};
    py::class_<file_sink, sink, std::shared_ptr<file_sink>>(m, "FileSink", R"doc(
Gzip JSON-lines files: <root>/<partition>/<task-id>.jsonl.gz (then <task-id>~1.jsonl.gz,
... when rotating). Attempts stage under <root>/.drover/staging/ and are renamed into place
only when they succeed. Read the output back with drover.read_output(root).

root               output directory (created if missing; made absolute now)
partition          directory template from task params ("date={date}") and record fields
                   ("{record.kind}"); "" = no partition directories
max_records        rotate after this many records per file; 0 = never
max_bytes          rotate after this many uncompressed bytes; 0 = never
compression_level  zlib level 0..9
fsync              fsync files and directories on commit
)doc")
        .def(py::init([](const std::string& root, std::string partition, std::uint64_t max_records,
                         std::uint64_t max_bytes, int compression_level, bool fsync) {
                 file_sink_options o;
                 o.root = root;
                 o.partition = std::move(partition);
                 o.max_records = max_records;
                 o.max_bytes = max_bytes;
                 o.compression_level = compression_level;
                 o.fsync = fsync;
                 return std::make_shared<file_sink>(std::move(o));
             }),
             py::arg("root"), py::kw_only(), py::arg("partition") = d.partition,
             py::arg("max_records") = d.max_records, py::arg("max_bytes") = d.max_bytes,
             py::arg("compression_level") = d.compression_level, py::arg("fsync") = d.fsync)
        .def_property_readonly("root", [](const file_sink& s) { return s.options().root.string(); })
        .def_property_readonly("partition", [](const file_sink& s) { return s.options().partition; })
        .def("__repr__", [](const file_sink& s) {
            std::string r = "FileSink(" + py::repr(py::str(s.options().root.string())).cast<std::string>();
            if (!s.options().partition.empty())
                r += ", partition=" + py::repr(py::str(s.options().partition)).cast<std::string>();
            return r + ")";
        });
}

}  // namespace drover::python
