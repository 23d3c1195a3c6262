// Turns a parsed job into a ready-to-run scheduler. Kept apart from the parser so the
// loader can be used (and tested) without pulling in executors and sinks.

#include <drover/error.hpp>
#include <drover/job_file.hpp>

namespace drover {

scheduler make_scheduler(const job& j) {
    scheduler s{j.options};
    for (const auto& cfg : j.executors) {
        // parse_job accepts only known kinds; this guards hand-built job values.
        if (cfg.kind == "local")
            s.add_executor(local_executor{cfg.local});
        else if (cfg.kind == "ssh")
            s.add_executor(ssh_executor{cfg.ssh});
        else if (cfg.kind == "docker")
            s.add_executor(docker_executor{cfg.docker});
        else
            throw config_error("unknown executor kind '" + cfg.kind + "' (known kinds: local, ssh, docker)");
    }
    if (j.sink) {
        if (j.sink->kind == "s3")
            s.set_sink(std::make_shared<s3_sink>(j.sink->s3));
        else if (j.sink->kind == "file")
            s.set_sink(file_sink{j.sink->file});
        else
            throw config_error("unknown sink kind '" + j.sink->kind + "' (known kinds: file, s3)");
    }
    for (const auto& t : j.tasks) s.submit(t);
    return s;
}

}  // namespace drover
