#include "s3/credentials.hpp"

#include <drover/error.hpp>

#include "detail/fs.hpp"

#include <cstdlib>

namespace drover::s3 {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    return s;
}

std::optional<std::string> lookup(const ini_section& s, std::string_view key) {
    for (const auto& [k, v] : s)
        if (k == key) return v;
    return std::nullopt;
}

std::optional<std::string> non_empty(const env_lookup& env, const char* name) {
    auto v = env(name);
    if (v && !v->empty()) return v;
    return std::nullopt;
}

}  // namespace

env_lookup process_env() {
    return [](const std::string& name) -> std::optional<std::string> {
        if (const char* v = std::getenv(name.c_str())) return std::string(v);
        return std::nullopt;
    };
}

std::optional<ini_section> read_ini_section(std::string_view text, const std::string& file, const std::string& section) {
    std::optional<ini_section> found;
    bool in_wanted = false;
    bool in_section = false;
    int line_no = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view raw = text.substr(start, nl - start);
        start = nl + 1;
        ++line_no;
        std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#' || line.front() == ';') continue;
        auto where = [&] { return file + ":" + std::to_string(line_no) + ": "; };
        if (line.front() == '[') {
            if (line.back() != ']') throw config_error(where() + "section header without closing ']'");
            std::string name(trim(line.substr(1, line.size() - 2)));
            if (name.empty()) throw config_error(where() + "empty section name");
            in_section = true;
            in_wanted = name == section;
            if (in_wanted && !found) found.emplace();
            continue;
        }
        // Indented lines under "s3 =" are nested settings of another service: skip them.
        if (raw.front() == ' ' || raw.front() == '\t') continue;
        auto eq = line.find('=');
        if (eq == std::string_view::npos) throw config_error(where() + "expected 'key = value' or '[section]'");
        if (!in_section) throw config_error(where() + "setting outside of any [section]");
        std::string key(trim(line.substr(0, eq)));
        if (key.empty()) throw config_error(where() + "empty key");
        if (in_wanted) found->emplace_back(std::move(key), std::string(trim(line.substr(eq + 1))));
    }
    return found;
}

resolved_config resolve_config(const std::string& explicit_profile, const env_lookup& env, std::filesystem::path home) {
    resolved_config out;
    if (home.empty()) {
        auto h = env("HOME");
        home = h ? *h : std::string("/");
    }
    std::filesystem::path cred_file = home / ".aws" / "credentials";
    std::filesystem::path conf_file = home / ".aws" / "config";
    if (auto f = non_empty(env, "AWS_SHARED_CREDENTIALS_FILE")) cred_file = *f;
    if (auto f = non_empty(env, "AWS_CONFIG_FILE")) conf_file = *f;

    std::string profile = explicit_profile;
    if (profile.empty()) profile = non_empty(env, "AWS_PROFILE").value_or("default");

    auto load = [](const std::filesystem::path& p, const std::string& section) -> std::optional<ini_section> {
        std::optional<std::string> text;
        try {
            text = detail::read_file_if_exists(p);
        } catch (const std::exception& e) {
            throw config_error(std::string("AWS credentials: ") + e.what());
        }
        if (!text) return std::nullopt;
        return read_ini_section(*text, p.string(), section);
    };
    auto cred_sec = load(cred_file, profile);
    auto conf_sec = load(conf_file, profile == "default" ? std::string("default") : "profile " + profile);

    auto from_files = [&](std::string_view key) -> std::optional<std::string> {
        if (cred_sec)
            if (auto v = lookup(*cred_sec, key)) return v;
        if (conf_sec)
            if (auto v = lookup(*conf_sec, key)) return v;
        return std::nullopt;
    };

    auto env_key = non_empty(env, "AWS_ACCESS_KEY_ID");
    auto env_secret = non_empty(env, "AWS_SECRET_ACCESS_KEY");
    if (explicit_profile.empty() && env_key && env_secret) {
        out.creds = {*env_key, *env_secret, non_empty(env, "AWS_SESSION_TOKEN").value_or("")};
        out.source = "environment";
    } else {
        auto key = from_files("aws_access_key_id");
        auto secret = from_files("aws_secret_access_key");
        if (!key || !secret || key->empty() || secret->empty()) {
            std::string why = explicit_profile.empty() ? "no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment and "
                                                       : "";
            throw config_error("S3 credentials not found: " + why + "profile '" + profile +
                               "' has no aws_access_key_id and aws_secret_access_key in " + cred_file.string() +
                               " or " + conf_file.string());
        }
        out.creds = {*key, *secret, from_files("aws_session_token").value_or("")};
        out.source = "profile " + profile;
    }

    if (auto r = non_empty(env, "AWS_REGION")) out.region = *r;
    else if (auto r2 = non_empty(env, "AWS_DEFAULT_REGION")) out.region = *r2;
    else if (auto r3 = from_files("region")) out.region = *r3;

    if (auto e = non_empty(env, "AWS_ENDPOINT_URL_S3")) out.endpoint = *e;
    else if (auto e2 = non_empty(env, "AWS_ENDPOINT_URL")) out.endpoint = *e2;
    else if (auto e3 = from_files("endpoint_url")) out.endpoint = *e3;
    return out;
}

}  // namespace drover::s3
