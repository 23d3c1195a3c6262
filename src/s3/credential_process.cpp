#include "s3/credential_process.hpp"

#include "executors/spawn.hpp"
#include "s3/credential_fetch.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cerrno>
#include <csignal>
#include <map>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace drover::s3 {

std::vector<std::string> split_command(const std::string& line) {
    std::vector<std::string> out;
    std::string word;
    bool in_word = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        char c = line[i];
        if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word) out.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else if (c == '\'') {
            auto end = line.find('\'', i + 1);
            if (end == std::string::npos) throw credential_error("credential_process: unterminated ' quote");
            word.append(line, i + 1, end - i - 1);
            i = end;
            in_word = true;
        } else if (c == '"') {
            std::size_t j = i + 1;
            for (; j < line.size() && line[j] != '"'; ++j) {
                if (line[j] == '\\' && j + 1 < line.size() && std::string_view("\"\\$`\n").find(line[j + 1]) != std::string_view::npos)
                    ++j;
                word += line[j];
            }
            if (j >= line.size()) throw credential_error("credential_process: unterminated \" quote");
            i = j;
            in_word = true;
        } else if (c == '\\' && i + 1 < line.size()) {
            word += line[++i];
            in_word = true;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (in_word) out.push_back(std::move(word));
    return out;
}

timed_credentials run_credential_process(const std::string& command, const std::string& profile,
                                         std::chrono::milliseconds timeout) {
    auto argv = split_command(command);
    std::string what = "credential_process of profile '" + profile + "'";
    if (argv.empty()) throw credential_error(what + ": the command is empty");
    // The program only: arguments may carry a secret.
    what += " (" + message_text(argv[0], 200) + ")";
    std::map<std::string, std::string> env;
    std::string workdir;
    detail::spawned_child child;
    try {
        child = detail::spawn_child({argv, env, workdir});
    } catch (const std::exception& e) {
        throw credential_error(what + ": cannot start: " + e.what());
    }
    if (child.stdin_fd >= 0) ::close(child.stdin_fd);

    constexpr std::size_t out_limit = 64 * 1024, err_limit = 1024;
    std::string out, err;
    bool too_big = false, timed_out = false;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    int fds[2] = {child.stdout_fd, child.stderr_fd};
    while (fds[0] >= 0 || fds[1] >= 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            timed_out = true;
            break;
        }
        pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
        int n = ::poll(p, 2, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        for (int k = 0; k < 2; ++k) {
            if (fds[k] < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            char buf[4096];
            ssize_t got = ::read(fds[k], buf, sizeof buf);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) {
                ::close(fds[k]);
                fds[k] = -1;
                continue;
            }
            auto& dest = k == 0 ? out : err;
            std::size_t limit = k == 0 ? out_limit : err_limit;
            if (dest.size() < limit) dest.append(buf, std::min<std::size_t>(got, limit - dest.size()));
            if (k == 0 && out.size() >= out_limit) too_big = true;
        }
        if (too_big) break;
    }
    for (int fd : fds)
        if (fd >= 0) ::close(fd);
    if (timed_out || too_big) detail::signal_group(child.pid, SIGKILL);
    int status = 0;
    while (::waitpid(child.pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (child.pidfd >= 0) ::close(child.pidfd);
    if (timed_out)
        throw credential_error(what + ": did not finish within " + std::to_string(timeout.count() / 1000) + " s");
    if (too_big) throw credential_error(what + ": printed more than 64 KiB");
    std::string err_text = message_text(err, 1000);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                            : "was killed by signal " + std::to_string(WTERMSIG(status));
        throw credential_error(what + ": " + how + (err_text.empty() ? "" : ": " + err_text));
    }
    boost::system::error_code ec;
    auto doc = boost::json::parse(out, ec);
    if (!ec && doc.is_object()) {
        auto* v = doc.as_object().if_contains("Version");
        if (!v) throw credential_error(what + ": the output has no \"Version\"");
        if (!v->is_int64() || v->as_int64() != 1)
            throw credential_error(what + ": unsupported \"Version\" (only 1 is known)");
    }
    return parse_credentials_json(out, what, "SessionToken", false, false);
}

}  // namespace drover::s3
