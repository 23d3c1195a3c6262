#pragma once
// The storage-independent settings of the file and S3 sinks' options, as storage_sink_options.

#include <drover/storage_sink.hpp>

namespace drover::detail {

template <class Options>
storage_sink_options storage_options_of(const Options& o, unsigned publish_threads) {
    storage_sink_options s;
    s.partition = o.partition;
    s.timezone = o.timezone;
    s.bad_values = o.bad_values;
    s.max_records = o.max_records;
    s.max_bytes = o.max_bytes;
    s.rotate_interval = o.rotate_interval;
    s.flush_records = o.flush_records;
    s.compression_level = o.compression_level;
    s.fsync = o.fsync;
    s.publish_threads = publish_threads;
    return s;
}

}  // namespace drover::detail
