#include "s3/xml.hpp"

#include <pugixml.hpp>

#include <charconv>

namespace drover::s3 {

namespace {

pugi::xml_document load(std::string_view body, const char* what) {
    pugi::xml_document doc;
    auto r = doc.load_buffer(body.data(), body.size(), pugi::parse_default | pugi::parse_doctype, pugi::encoding_utf8);
    if (!r)
        throw xml_error(std::string("malformed ") + what + " XML at byte " + std::to_string(r.offset) + ": " +
                        r.description());
    // pugixml never expands entities beyond the predefined ones; S3 never sends a DOCTYPE,
    // so one is refused outright rather than left half-interpreted.
    for (auto n : doc.children())
        if (n.type() == pugi::node_doctype) throw xml_error(std::string(what) + " response has a DOCTYPE");
    return doc;
}

std::string child_text(const pugi::xml_node& n, const char* name) { return n.child(name).child_value(); }

// Messages quote server text: keep it printable and short.
std::string clean(std::string s) {
    for (char& c : s)
        if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    if (s.size() > 1000) s = s.substr(0, 1000) + "...";
    return s;
}

error_body read_error(const pugi::xml_node& e) {
    return {clean(child_text(e, "Code")), clean(child_text(e, "Message")), clean(child_text(e, "RequestId"))};
}

}  // namespace

std::optional<error_body> parse_error(std::string_view body) {
    if (body.find('<') == std::string_view::npos) return std::nullopt;
    pugi::xml_document doc;
    try {
        doc = load(body, "error");
    } catch (const xml_error&) {
        return std::nullopt;
    }
    auto e = doc.child("Error");
    if (!e) return std::nullopt;
    auto out = read_error(e);
    if (out.code.empty()) return std::nullopt;
    return out;
}

std::string parse_upload_id(std::string_view body) {
    auto doc = load(body, "CreateMultipartUpload");
    auto id = std::string(doc.child("InitiateMultipartUploadResult").child("UploadId").child_value());
    if (id.empty()) throw xml_error("CreateMultipartUpload response has no UploadId");
    return id;
}

complete_result parse_complete(std::string_view body) {
    auto doc = load(body, "CompleteMultipartUpload");
    complete_result out;
    if (auto e = doc.child("Error")) {
        out.error = read_error(e);
        if (out.error->code.empty()) out.error->code = "InternalError";
        return out;
    }
    auto res = doc.child("CompleteMultipartUploadResult");
    if (!res) throw xml_error("CompleteMultipartUpload response has neither a result nor an Error");
    out.etag = child_text(res, "ETag");
    if (out.etag.empty()) throw xml_error("CompleteMultipartUpload result has no ETag");
    return out;
}

list_page parse_list(std::string_view body) {
    auto doc = load(body, "ListObjectsV2");
    auto root = doc.child("ListBucketResult");
    if (!root) throw xml_error("ListObjectsV2 response has no ListBucketResult");
    list_page out;
    for (auto c : root.children("Contents")) {
        object_entry o;
        o.key = child_text(c, "Key");
        if (o.key.empty()) throw xml_error("ListObjectsV2 entry without a Key");
        std::string size = child_text(c, "Size");
        auto [p, ec] = std::from_chars(size.data(), size.data() + size.size(), o.size);
        if (ec != std::errc() || p != size.data() + size.size() || size.empty())
            throw xml_error("ListObjectsV2 entry " + clean(o.key) + " has a bad Size \"" + clean(size) + "\"");
        o.etag = child_text(c, "ETag");
        out.objects.push_back(std::move(o));
    }
    std::string t = child_text(root, "IsTruncated");
    out.truncated = t == "true";
    out.next_token = child_text(root, "NextContinuationToken");
    if (out.truncated && out.next_token.empty())
        throw xml_error("ListObjectsV2 response is truncated but has no NextContinuationToken");
    return out;
}

sts_credentials parse_sts_credentials(std::string_view body, const std::string& action) {
    auto doc = load(body, action.c_str());
    auto c = doc.child((action + "Response").c_str()).child((action + "Result").c_str()).child("Credentials");
    if (!c) throw xml_error(action + " response has no " + action + "Result/Credentials");
    sts_credentials out{child_text(c, "AccessKeyId"), child_text(c, "SecretAccessKey"), child_text(c, "SessionToken"),
                        child_text(c, "Expiration")};
    for (auto [name, v] : {std::pair{"AccessKeyId", &out.access_key_id}, {"SecretAccessKey", &out.secret_access_key},
                           {"SessionToken", &out.session_token}, {"Expiration", &out.expiration}})
        if (v->empty()) throw xml_error(action + " response has no " + name);
    return out;
}

std::optional<error_body> parse_sts_error(std::string_view body) {
    if (body.find('<') == std::string_view::npos) return std::nullopt;
    pugi::xml_document doc;
    try {
        doc = load(body, "STS error");
    } catch (const xml_error&) {
        return std::nullopt;
    }
    auto root = doc.child("ErrorResponse");
    auto e = root.child("Error");
    if (!e) return std::nullopt;
    auto out = read_error(e);
    if (out.request_id.empty()) out.request_id = clean(child_text(root, "RequestId"));
    if (out.code.empty()) return std::nullopt;
    return out;
}

std::string complete_body(const std::vector<std::string>& etags) {
    pugi::xml_document doc;
    auto root = doc.append_child("CompleteMultipartUpload");
    root.append_attribute("xmlns") = "http://s3.amazonaws.com/doc/2006-03-01/";
    for (std::size_t i = 0; i < etags.size(); ++i) {
        auto p = root.append_child("Part");
        p.append_child("PartNumber").text() = static_cast<unsigned long long>(i + 1);
        p.append_child("ETag").text() = etags[i].c_str();
    }
    struct writer : pugi::xml_writer {
        std::string out;
        void write(const void* data, std::size_t size) override { out.append(static_cast<const char*>(data), size); }
    } w;
    doc.save(w, "", pugi::format_raw | pugi::format_no_declaration);
    return w.out;
}

}  // namespace drover::s3
