// The Python module `drover`: the C++ library's concepts, for scripts and notebooks.

#include "bind.hpp"

PYBIND11_MODULE(drover, m) {
    using namespace drover::python;
    m.doc() = R"doc(
drover: run many tasks over local processes, SSH hosts or Docker daemons, collecting what they print
(JSON lines) into partitioned gzip output (files or S3), exactly once per successful task.

    import drover
    s = drover.Scheduler(state_dir=".drover/demo")
    s.add_executor(drover.LocalExecutor(slots=4))
    s.set_sink(drover.FileSink("out/demo", partition="date={date}"))
    s.submit(id="a", command=["echo", '{"x": 1}'], params={"date": "2018-01-01"})
    summary = s.run(progress=True)
    df = drover.read_output("out/demo")

Job files: drover.load_job("job.toml").run(progress=True). Errors: drover.Error and its
subclasses ConfigError, ExecutorError, SinkError, NotFoundError, ConflictError.
Services: drover.Service (drover serve in this process) and drover.Client (its HTTP API).
)doc";
    m.attr("__version__") = DROVER_VERSION_INFO;
    bind_errors(m);
    bind_task(m);
    bind_executor_base(m);
    bind_local_executor(m);
    bind_host_pool_executor(m);
    bind_ssh_executor(m);
    bind_slurm_executor(m);
    bind_docker_executor(m);
    bind_sink_base(m);
    bind_file_sink(m);
    bind_s3_sink(m);
    bind_summary(m);
    bind_scheduler(m);
    bind_job(m);
    bind_output_reader(m);
    bind_service(m);
}
