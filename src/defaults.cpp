#include "scheduler/defaults.hpp"

#include <drover/executors/local.hpp>
#include <drover/sinks/file.hpp>

namespace drover::detail {

std::shared_ptr<executor> default_executor() { return std::make_shared<local_executor>(); }

std::shared_ptr<sink> default_sink(const std::filesystem::path& state_dir) {
    file_sink_options o;
    o.root = state_dir / "output";
    return std::make_shared<file_sink>(std::move(o));
}

}  // namespace drover::detail
