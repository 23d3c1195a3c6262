// Turns a parsed job into a ready-to-run scheduler: its kinds make the executors and the
// sink. Kept apart from the parser so the loader can be used (and tested) without them.

#include <drover/job_file.hpp>

namespace drover {

scheduler make_scheduler(const job& j) {
    scheduler s{j.options};
    for (const auto& cfg : j.executors) s.add_executor(j.kinds.make_executor(cfg));
    if (j.sink) s.set_sink(j.kinds.make_sink(*j.sink));
    for (const auto& t : j.tasks) s.submit(t);
    return s;
}

}  // namespace drover
