#pragma once
// Helpers shared by drover's tests: scratch directories, gzip reading, processes.

#include <filesystem>
#include <string>
#include <vector>

namespace drover::test {

namespace fs = std::filesystem;

/// A fresh directory under $TMPDIR, removed at scope exit (kept when DROVER_KEEP_TEST_DIRS=1).
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    const fs::path& path() const { return path_; }
    fs::path operator/(const fs::path& p) const { return path_ / p; }

private:
    fs::path path_;
};

std::string read_file(const fs::path& p);
void write_file(const fs::path& p, std::string_view content);
/// Decompresses a (possibly multi-member) gzip file; throws on corrupt data.
std::string read_gzip(const fs::path& p);
/// Regular files below `root`, relative, sorted; hidden entries (".drover") skipped.
std::vector<std::string> list_files(const fs::path& root);
std::vector<std::string> split_lines(std::string_view text);
/// Every record (line) in the gzip files below a file sink's root, sorted.
std::vector<std::string> read_records(const fs::path& root);

struct command_result {
    int exit_code = -1;
    std::string output;  // stdout (stderr too when merged by the command)
};
/// Runs `sh -c cmd`, capturing stdout.
command_result run_shell(const std::string& cmd);

/// True while a process with this pid exists and is not a zombie.
bool process_alive(int pid);
/// True once the process is gone (or a zombie), polling for up to `timeout_ms`: a
/// process killed with SIGKILL takes a moment to finish exiting.
bool process_gone(int pid, int timeout_ms = 2000);
/// Whitespace-separated pids written by test tasks (`echo $! >> pidfile`).
std::vector<int> read_pids(const fs::path& p);
/// A /proc file's bytes; empty when it cannot be read. read(2), not a stream: a process that
/// exits while its file is read fails the read with ESRCH, which libstdc++'s filebuf throws.
std::string read_proc(const fs::path& file);
/// Pids of live processes whose command line contains `needle`.
std::vector<int> processes_matching(std::string_view needle);

/// A TCP port the kernel just handed out on 127.0.0.1 (then released). Someone else may
/// take it before the caller's server binds it; fixtures notice and retry.
int free_loopback_port();

/// DROVER_REQUIRE_SERVICES=1: a missing tool or service must fail the test.
bool services_required();

}  // namespace drover::test
