#include "s3/credentials.hpp"

#include <drover/error.hpp>

#include "detail/fs.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
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

namespace {

// The two AWS files, read once; a profile's settings looked up with the credentials file
// first (botocore merges it over the config file).
struct aws_files {
    std::filesystem::path cred_file, conf_file;
    std::optional<std::string> cred_text, conf_text;

    static std::optional<std::string> read(const std::filesystem::path& p) {
        try {
            return detail::read_file_if_exists(p);
        } catch (const std::exception& e) {
            throw config_error(std::string("AWS credentials: ") + e.what());
        }
    }
    std::optional<ini_section> cred(const std::string& profile) const {
        return cred_text ? read_ini_section(*cred_text, cred_file.string(), profile) : std::nullopt;
    }
    std::optional<ini_section> conf(const std::string& profile) const {
        if (!conf_text) return std::nullopt;
        return read_ini_section(*conf_text, conf_file.string(), profile == "default" ? profile : "profile " + profile);
    }
    std::string names() const { return cred_file.string() + " or " + conf_file.string(); }
};

struct profile_view {
    std::string name;
    std::optional<ini_section> cred, conf;
    bool exists() const { return cred || conf; }
    std::optional<std::string> get(std::string_view key) const {
        if (cred)
            if (auto v = lookup(*cred, key); v && !v->empty()) return v;
        if (conf)
            if (auto v = lookup(*conf, key); v && !v->empty()) return v;
        return std::nullopt;
    }
    static std::optional<credentials> keys_in(const std::optional<ini_section>& s) {
        if (!s) return std::nullopt;
        auto k = lookup(*s, "aws_access_key_id"), sec = lookup(*s, "aws_secret_access_key");
        if (!k || !sec || k->empty() || sec->empty()) return std::nullopt;
        return credentials{*k, *sec, lookup(*s, "aws_session_token").value_or("")};
    }
};

class chain {
public:
    chain(const env_lookup& env, aws_files files) : env_(env), files_(std::move(files)) {}

    profile_view profile(const std::string& name) const { return {name, files_.cred(name), files_.conf(name)}; }
    const aws_files& files() const { return files_; }

    std::string sts_endpoint(const profile_view& p) const {
        if (auto e = non_empty(env_, "AWS_ENDPOINT_URL_STS")) return *e;
        if (auto e = non_empty(env_, "AWS_ENDPOINT_URL")) return *e;
        return p.get("endpoint_url").value_or("");
    }

    bool has_role(const profile_view& p) const { return p.get("role_arn") && !p.get("web_identity_token_file"); }

    // Steps 2..: a profile with role_arn, through STS AssumeRole from its source_profile.
    credential_plan assume_role(const profile_view& p, std::vector<std::string>& visited) const {
        credential_plan out;
        out.k = credential_plan::kind::assume_role;
        out.method = "assume-role";
        out.profile = p.name;
        out.role_arn = *p.get("role_arn");
        out.session_name = p.get("role_session_name").value_or("");
        out.external_id = p.get("external_id").value_or("");
        out.sts_endpoint = sts_endpoint(p);
        if (auto d = p.get("duration_seconds")) {
            int v = 0;
            auto [q, ec] = std::from_chars(d->data(), d->data() + d->size(), v);
            if (ec != std::errc() || q != d->data() + d->size() || v < 900 || v > 43200)
                throw config_error("S3 credentials: profile '" + p.name + "': duration_seconds must be a number of seconds, 900..43200");
            out.duration_seconds = v;
        }
        if (p.get("mfa_serial"))
            throw config_error("S3 credentials: profile '" + p.name + "': mfa_serial (an MFA prompt) is not supported by drover");
        auto src = p.get("source_profile");
        if (!src) {
            std::string why = p.get("credential_source") ? "credential_source is not supported, use source_profile"
                                                         : "role_arn needs a source_profile";
            throw config_error("S3 credentials: profile '" + p.name + "': " + why);
        }
        visited.push_back(p.name);
        auto sp = profile(*src);
        if (!sp.exists())
            throw config_error("S3 credentials: the source_profile '" + *src + "' referenced in profile '" + p.name +
                               "' does not exist in " + files_.names());
        bool seen = std::find(visited.begin(), visited.end(), *src) != visited.end();
        if (seen && *src != p.name)
            throw config_error("S3 credentials: profile '" + p.name + "': source_profile '" + *src + "' leads back to itself");
        bool static_keys = profile_view::keys_in(sp.cred) || profile_view::keys_in(sp.conf);
        std::optional<credential_plan> source;
        if (static_keys || !has_role(sp) || seen) source = profile_sources(sp, true);
        else source = assume_role(sp, visited);
        if (!source)
            throw config_error("S3 credentials: the source_profile '" + *src + "' of profile '" + p.name + "' has no credentials");
        out.source = std::make_shared<credential_plan>(std::move(*source));
        return out;
    }

    // Steps 3..6 for one profile (the environment's web identity unless `no_env`).
    std::optional<credential_plan> profile_sources(const profile_view& p, bool no_env) const {
        credential_plan out;
        out.profile = p.name;
        auto env_or = [&](const char* var, const char* key) -> std::optional<std::string> {
            if (!no_env)
                if (auto v = non_empty(env_, var)) return v;
            return p.get(key);
        };
        if (auto token_file = env_or("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file")) {
            auto role = env_or("AWS_ROLE_ARN", "role_arn");
            if (!role) throw config_error("S3 credentials: web identity: a token file is configured but no role ARN (AWS_ROLE_ARN or role_arn)");
            out.k = credential_plan::kind::web_identity;
            out.method = "assume-role-with-web-identity";
            out.token_file = *token_file;
            out.role_arn = *role;
            out.session_name = env_or("AWS_ROLE_SESSION_NAME", "role_session_name").value_or("");
            out.sts_endpoint = sts_endpoint(p);
            return out;
        }
        if (auto k = profile_view::keys_in(p.cred)) {
            out.keys = *k;
            out.method = "shared-credentials-file";
            return out;
        }
        if (auto cmd = p.get("credential_process")) {
            out.k = credential_plan::kind::process;
            out.method = "custom-process";
            out.command = *cmd;
            return out;
        }
        if (auto k = profile_view::keys_in(p.conf)) {
            out.keys = *k;
            out.method = "config-file";
            return out;
        }
        return std::nullopt;
    }

private:
    const env_lookup& env_;
    aws_files files_;
};

std::string describe(const credential_plan& p) {
    switch (p.k) {
    case credential_plan::kind::static_keys: return p.method == "env" ? "environment" : "profile " + p.profile;
    case credential_plan::kind::process: return "credential_process (profile " + p.profile + ")";
    case credential_plan::kind::assume_role: return "assume-role (profile " + p.profile + ")";
    case credential_plan::kind::web_identity:
        return "web identity" + (p.profile.empty() ? std::string() : " (profile " + p.profile + ")");
    case credential_plan::kind::container: return "container credentials";
    case credential_plan::kind::imds: return "EC2 instance metadata";
    }
    return {};
}

}  // namespace

resolved_config resolve_config(const std::string& explicit_profile, const env_lookup& env, std::filesystem::path home) {
    resolved_config out;
    if (home.empty()) {
        auto h = env("HOME");
        home = h ? *h : std::string("/");
    }
    aws_files files;
    files.cred_file = home / ".aws" / "credentials";
    files.conf_file = home / ".aws" / "config";
    if (auto f = non_empty(env, "AWS_SHARED_CREDENTIALS_FILE")) files.cred_file = *f;
    if (auto f = non_empty(env, "AWS_CONFIG_FILE")) files.conf_file = *f;
    files.cred_text = aws_files::read(files.cred_file);
    files.conf_text = aws_files::read(files.conf_file);

    std::string profile_name = explicit_profile;
    if (profile_name.empty()) profile_name = non_empty(env, "AWS_PROFILE").value_or("default");
    bool is_explicit = !explicit_profile.empty();
    chain c(env, std::move(files));
    auto prof = c.profile(profile_name);

    auto env_key = non_empty(env, "AWS_ACCESS_KEY_ID");
    auto env_secret = non_empty(env, "AWS_SECRET_ACCESS_KEY");
    std::optional<credential_plan> plan;
    if (!is_explicit && env_key && env_secret) {
        plan.emplace();
        plan->keys = {*env_key, *env_secret, non_empty(env, "AWS_SESSION_TOKEN").value_or("")};
        plan->method = "env";
    } else if (c.has_role(prof)) {
        std::vector<std::string> visited;
        plan = c.assume_role(prof, visited);
    } else {
        plan = c.profile_sources(prof, is_explicit);
    }
    std::string why = "profile '" + profile_name + "' has no aws_access_key_id and aws_secret_access_key in " +
                      c.files().names();
    if (is_explicit && !prof.exists() && !plan) throw config_error("S3 credentials not found: " + why);
    if (!is_explicit) why = "no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment and " + why;
    if (!plan) {
        auto rel = non_empty(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
        auto full = non_empty(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
        if (rel || full) {
            plan.emplace();
            plan->k = credential_plan::kind::container;
            plan->method = "container-role";
            plan->url = rel ? "http://169.254.170.2" + *rel : *full;
            plan->auth_token = non_empty(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN").value_or("");
            plan->auth_token_file = non_empty(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE").value_or("");
        }
    }
    if (!plan) {
        std::string disabled = non_empty(env, "AWS_EC2_METADATA_DISABLED").value_or("false");
        std::transform(disabled.begin(), disabled.end(), disabled.begin(), [](unsigned char ch) { return std::tolower(ch); });
        if (disabled == "true")
            throw config_error("S3 credentials not found: " + why + " (and the EC2 instance metadata service is disabled"
                               " by AWS_EC2_METADATA_DISABLED)");
        plan.emplace();
        plan->k = credential_plan::kind::imds;
        plan->method = "iam-role";
        plan->url = non_empty(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
        auto number = [&](const char* var, int fallback, int lo, int hi) {
            auto v = non_empty(env, var);
            if (!v) return fallback;
            int n = 0;
            auto [q, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
            if (ec != std::errc() || q != v->data() + v->size() || n < lo || n > hi)
                throw config_error("S3 credentials: " + std::string(var) + " must be a whole number " + std::to_string(lo) + ".." +
                                   std::to_string(hi));
            return n;
        };
        plan->timeout = std::chrono::seconds(number("AWS_METADATA_SERVICE_TIMEOUT", 1, 1, 60));
        plan->attempts = number("AWS_METADATA_SERVICE_NUM_ATTEMPTS", 1, 1, 10);
        plan->not_found = why;
    }
    out.plan = std::move(*plan);
    out.source = describe(out.plan);
    if (out.plan.k == credential_plan::kind::static_keys) out.creds = out.plan.keys;

    if (auto r = non_empty(env, "AWS_REGION")) out.region = *r;
    else if (auto r2 = non_empty(env, "AWS_DEFAULT_REGION")) out.region = *r2;
    else if (auto r3 = prof.get("region")) out.region = *r3;

    if (auto e = non_empty(env, "AWS_ENDPOINT_URL_S3")) out.endpoint = *e;
    else if (auto e2 = non_empty(env, "AWS_ENDPOINT_URL")) out.endpoint = *e2;
    else if (auto e3 = prof.get("endpoint_url")) out.endpoint = *e3;
    return out;
}

}  // namespace drover::s3
