// The AWS shared credentials and config files (s3/credentials.*): any text either reads or
// throws config_error naming the file and line, never a secret from the file. The whole
// chain (resolve_config) reads a fuzzed credentials file and config file from disk.
//
// Input: the credentials file, then a line "--config--", then the config file.
#include "fuzz/fuzz.hpp"

#include "s3/credentials.hpp"

#include <drover/error.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace drover::fuzz {

namespace {

namespace fs = std::filesystem;

const fs::path& scratch() {
    static const fs::path dir = [] {
        std::string tmpl = (fs::temp_directory_path() / "drover-fuzz-aws-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) std::abort();
        return fs::path(tmpl);
    }();
    return dir;
}

void write(const fs::path& p, std::string_view text) {
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) std::abort();
    for (std::size_t off = 0; off < text.size();) {
        ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n <= 0) std::abort();
        off += static_cast<std::size_t>(n);
    }
    ::close(fd);
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

// Secret values in the input that look like AWS secrets (16 or more of [A-Za-z0-9+/]) and
// cannot appear in a message by chance, i.e. are not part of the files' paths.
std::vector<std::string_view> secrets(std::string_view in, const std::string& paths) {
    std::vector<std::string_view> out;
    for (auto line : split(in, '\n')) {
        auto eq = line.find('=');
        if (eq == std::string_view::npos || trim(line.substr(0, eq)) != "aws_secret_access_key") continue;
        auto v = trim(line.substr(eq + 1));
        bool looks_secret = v.size() >= 16 && std::all_of(v.begin(), v.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
        });
        if (looks_secret && paths.find(v) == std::string::npos) out.push_back(v);
    }
    return out;
}

void check_message(std::string_view what, std::string_view in) {
    const std::string paths = (scratch() / "credentials").string() + " " + (scratch() / "config").string();
    for (auto s : secrets(in, paths)) DROVER_FUZZ_CHECK(what.find(s) == std::string_view::npos, what);
}

}  // namespace

void aws_ini(std::string_view in) {
    std::string_view creds = in, config;
    if (auto sep = in.find("\n--config--\n"); sep != std::string_view::npos) {
        creds = in.substr(0, sep);
        config = in.substr(sep + 12);
    }
    for (const char* section : {"default", "profile dev", "dev"}) {
        try {
            auto s = s3::read_ini_section(creds, "credentials", section);
            if (s)
                for (const auto& [k, v] : *s) DROVER_FUZZ_CHECK(!k.empty(), "an empty key");
        } catch (const drover::config_error& e) {
            DROVER_FUZZ_CHECK(std::string_view(e.what()).starts_with("credentials:"), e.what());
            check_message(e.what(), in);
        }
    }

    auto cred_file = scratch() / "credentials", conf_file = scratch() / "config";
    write(cred_file, creds);
    write(conf_file, config);
    s3::env_lookup env = [&](const std::string& name) -> std::optional<std::string> {
        if (name == "AWS_SHARED_CREDENTIALS_FILE") return cred_file.string();
        if (name == "AWS_CONFIG_FILE") return conf_file.string();
        return std::nullopt;
    };
    for (const char* profile : {"", "dev"}) {
        try {
            auto r = s3::resolve_config(profile, env, scratch());
            // Resolving runs nothing and sends nothing (credential_process, STS and the
            // metadata services are only named in the plan): safe on fuzzed files.
            bool is_static = r.plan.k == s3::credential_plan::kind::static_keys;
            DROVER_FUZZ_CHECK(!is_static || !r.creds.empty(), "resolved without credentials");
        } catch (const drover::config_error& e) {
            std::string_view what = e.what();
            bool named = what.starts_with(cred_file.string() + ":") || what.starts_with(conf_file.string() + ":") ||
                         what.starts_with("S3 credentials");
            DROVER_FUZZ_CHECK(named, what);
            check_message(what, in);
        }
    }
}

}  // namespace drover::fuzz
