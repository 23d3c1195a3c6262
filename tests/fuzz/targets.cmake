# The fuzz targets: tests/fuzz/<name>_fuzz.cpp defines drover::fuzz::<name>, with seeds in
# corpus/<name>/ and, where the format has keywords, a dictionary dict/<name>.dict.
# Keep in step with DROVER_FUZZ_TARGETS in fuzz.hpp. Read by tests/fuzz/CMakeLists.txt (libFuzzer executables) and tests/CMakeLists.txt (the
# replay test that runs the committed corpora in the normal suite).
set(DROVER_FUZZ_TARGETS
  job_file       # job files: TOML, foreach expansion, templates, durations
  stdout_lines   # a task's stdout: line splitting, record validation
  partition      # partition templates and values
  http_read      # the HTTP client's response reader
  docker_frames  # Docker's multiplexed log stream
  docker_api     # Docker Engine API answers
  s3_xml         # S3 XML answers
  sigv4          # SigV4 canonicalisation
  cron           # cron expressions
  tzif           # TZif files
  posix_tz       # POSIX TZ rules
  aws_ini        # AWS credentials and config files
  control_lines  # task control lines ({"$drover": {...}} on stdout) and the task JSON codec
  slurm          # sbatch and squeue answers, job comments (Slurm executor)
  service_api    # drover serve's HTTP API, tokens file, cookies, listen addresses
)
