#include "s3/credential_chain.hpp"

#include "detail/fs.hpp"
#include "s3/container_credentials.hpp"
#include "s3/credential_process.hpp"
#include "s3/imds.hpp"
#include "s3/sts.hpp"

namespace drover::s3 {

namespace {

using kind = credential_plan::kind;

std::string read_token_file(const std::string& path) {
    std::optional<std::string> text;
    try {
        text = detail::read_file_if_exists(path);
    } catch (const std::exception& e) {
        throw credential_error(std::string("web identity token file: ") + e.what());
    }
    if (!text) throw credential_error("web identity token file " + path + " does not exist");
    while (!text->empty() && (text->back() == '\n' || text->back() == '\r' || text->back() == ' ')) text->pop_back();
    if (text->empty()) throw credential_error("web identity token file " + path + " is empty");
    return *text;
}

role_request role_of(const credential_plan& p) {
    return {p.role_arn, p.session_name, p.external_id, p.duration_seconds};
}

credential_fetcher fetcher_for(const credential_plan& p, const chain_options& o) {
    sts_target sts{p.sts_endpoint, o.region, o.ca_file};
    switch (p.k) {
    case kind::static_keys:
        return [keys = p.keys] { return timed_credentials{keys, std::nullopt}; };
    case kind::process:
        return [cmd = p.command, profile = p.profile] { return run_credential_process(cmd, profile); };
    case kind::assume_role: {
        auto source = make_credential_provider(*p.source, o);
        return [source, sts, r = role_of(p)] { return assume_role(sts, source->current(), r); };
    }
    case kind::web_identity:
        return [sts, r = role_of(p), file = p.token_file] {
            return assume_role_with_web_identity(sts, r, read_token_file(file));
        };
    case kind::container:
        check_container_url(p.url);  // refused before anything is sent
        return [c = container_options{p.url, p.auth_token, p.auth_token_file}] { return fetch_container_credentials(c); };
    case kind::imds:
        return [i = imds_options{p.url, p.timeout, p.attempts}] { return fetch_imds_credentials(i); };
    }
    throw credential_error("unknown credential source");
}

}  // namespace

std::shared_ptr<credential_provider> make_credential_provider(const credential_plan& plan, const chain_options& o) {
    if (plan.k == kind::static_keys) return credential_provider::fixed(plan.keys, plan.method);
    auto fetch = fetcher_for(plan, o);
    timed_credentials first;
    try {
        first = fetch();
    } catch (const credential_error& e) {
        if (plan.k == kind::imds)
            throw credential_error("S3 credentials not found: " + plan.not_found + ", and " + e.what());
        throw;
    }
    if (first.expiration && *first.expiration - std::chrono::system_clock::now() <= o.windows.mandatory) {
        bool expired = *first.expiration <= std::chrono::system_clock::now();
        throw credential_error("the " + plan.method + " credentials " +
                               (expired ? std::string("have already expired")
                                        : "expire within " + std::to_string(o.windows.mandatory.count() / 60) +
                                              " minutes") +
                               " (check the source and the clock)");
    }
    return std::make_shared<credential_provider>(plan.method, std::move(first), std::move(fetch), o.windows);
}

}  // namespace drover::s3
