#pragma once
// The command line of `drover`: commands, their options and --help, parsed with CLI11.
// Unknown options, options a command does not take, and missing or extra arguments are
// usage errors.

#include <drover/job_file.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>
#include <variant>

namespace drover::cli {

/// The exit code of usage and configuration errors.
inline constexpr int exit_usage = 2;

/// `drover exec`: the command and its argument sources, as written (nothing read yet).
struct exec_args {
    std::vector<std::string> command;
    /// One per `:::` (its words) or per file after `::::` (`-` is stdin); empty = stdin lines.
    struct source {
        bool file = false;
        std::vector<std::string> values;  ///< the words of a `:::` group
        std::string path;                 ///< the file of a `::::` source
    };
    std::vector<source> sources;
    std::size_t jobs = 0;  ///< 0 = one per core
    int retries = 0;
    std::optional<duration> timeout;
    std::optional<std::string> out;
    std::string partition;
    std::optional<std::string> state_dir;
    bool shell = false;
    bool quiet = false;
    bool retry_dead = false;
};

/// `drover serve`: a service over a directory of job files (drover::service_options).
struct serve_args {
    std::string jobs_dir;
    std::string state_dir;
    std::string listen = "127.0.0.1:8080";
    std::string tokens_file;
    std::string tls_cert;
    std::string tls_key;
    double rate_limit = 0;
    std::vector<std::string> pools;  ///< --pool NAME=N, repeatable
};

/// `drover trigger|runs|logs|retry|succeed|cancel|hosts|pools`: a client of a service's HTTP API.
struct client_args {
    std::string url;         ///< --url, else $DROVER_URL, else http://127.0.0.1:8080
    std::string ca_file;     ///< --ca-file: https with a CA of its own
    std::string token_file;  ///< --token-file, else $DROVER_TOKEN_FILE; $DROVER_TOKEN is the token itself
    std::string key;         ///< the job's key
    std::string task;        ///< logs, retry, cancel: a task id (cancel: empty = the run)
    std::size_t limit = 20;  ///< runs
    std::optional<std::string> state_dir;  ///< runs, logs: the service's state directory, read when no service answers
    std::optional<std::string> jobs_dir;   ///< logs --jobs: the job files, whose secrets a journal read redacts
    std::string add_host;                  ///< hosts --add
    std::optional<std::size_t> executor;   ///< hosts --executor: which fleet executor --add goes to
    std::string drain_host;                ///< hosts --drain
    std::string remove_host;               ///< hosts --remove
    int attempt = 0;                       ///< logs --attempt: that attempt's stderr (0: the summary)
    std::size_t bytes = 64 * 1024;         ///< logs --bytes: how much of its end
    std::uint64_t after = 0;               ///< events --after: the last event number seen
    bool follow = false;                   ///< events --follow: wait for more until interrupted
};

struct cli_args {
    std::string command;  ///< run, validate, status, exec, serve, trigger, runs, logs, events, retry, succeed, cancel, hosts, pools
    std::string job_file;
    std::optional<std::string> state_dir;
    bool json = false;
    bool quiet = false;
    bool retry_dead = false;
    bool fresh = false;
    bool once = false;
    /// run and validate: --param NAME=VALUE, --only GLOB, --no-deps.
    job_load_options load;
    exec_args exec;
    serve_args serve;
    client_args client;
};

/// What the command line asks for: arguments to act on, or text to print and an exit code
/// (--help and --version: stdout, 0; a usage error: stderr, 2).
struct cli_exit {
    std::string out;
    std::string err;
    int code = 0;
};

std::variant<cli_args, cli_exit> parse_args(int argc, const char* const* argv);

}  // namespace drover::cli
