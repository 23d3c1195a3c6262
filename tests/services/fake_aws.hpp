#pragma once
// The AWS services behind the credential chain, served on loopback because they cannot run
// on this machine: the EC2 instance metadata service (IMDSv2 session tokens), the container
// credentials endpoint (ECS/EKS) and STS (AssumeRole, AssumeRoleWithWebIdentity), speaking
// the documented protocols. One server, one port:
//
//   PUT  /latest/api/token                               IMDS session token (needs the TTL header)
//   GET  /latest/meta-data/iam/security-credentials/[role]   IMDS (token required unless allowed)
//   GET  /container/credentials                          container credentials (Authorization)
//   POST /                                               STS, form-encoded Action=...
//
// AssumeRole must be SigV4-signed (service sts) by the source key set with source_key(): the
// signature is checked, so a wrong secret gets 403 SignatureDoesNotMatch. Every issue of
// credentials hands out the next key of the list given to the constructor (register the
// same keys in s3rver), expiring `lifetime` from now. Faults make a service misbehave.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace drover::test {

struct key_pair {
    std::string id;
    std::string secret;
};

class fake_aws {
public:
    /// What a service does instead of answering well, for the next `times` requests.
    enum class fault {
        status_500,      ///< HTTP 500 (with the service's error document)
        malformed,       ///< 200 with a truncated JSON/XML document
        oversized,       ///< 200 with a 1 MiB body
        slow,            ///< answers after 3 s
        expired,         ///< credentials that expired an hour ago
        error_document,  ///< IMDS/container: 200 {"Code","Message"}; STS: 403 AccessDenied
    };

    explicit fake_aws(std::vector<key_pair> keys);
    ~fake_aws();
    fake_aws(const fake_aws&) = delete;
    fake_aws& operator=(const fake_aws&) = delete;

    /// "http://127.0.0.1:<port>": the IMDS base URL and the STS endpoint.
    std::string endpoint() const;
    /// The full container credentials URL; relative URI "/container/credentials".
    std::string container_url() const;

    void lifetime(std::chrono::seconds s);
    /// `service`: "imds-token", "imds", "container", "sts".
    void inject(const std::string& service, fault f, int times = 1'000'000);
    void allow_imds_v1(bool yes);                 ///< default: a token is required
    void imds_token_status(unsigned status);      ///< answer PUT /latest/api/token with this (e.g. 405)
    void container_token(std::string token);      ///< required Authorization value ("" = none)
    void web_identity_token(std::string token);   ///< required WebIdentityToken
    void source_key(key_pair k);                  ///< the key AssumeRole must be signed with

    /// Requests seen: "imds-token", "imds-role", "imds", "container", "AssumeRole",
    /// "AssumeRoleWithWebIdentity".
    int count(const std::string& what) const;
    /// The form fields of the last STS request of `action`.
    std::map<std::string, std::string> last_form(const std::string& action) const;
    /// Access key ids handed out so far, in order.
    std::vector<std::string> issued() const;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace drover::test
