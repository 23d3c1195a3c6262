// S3's XML answers (s3/xml.*): error bodies, CreateMultipartUpload, CompleteMultipartUpload
// and ListObjectsV2. Every parser gets the same bytes and either returns or throws xml_error
// (parse_error never throws); messages quoted from the server carry no control characters.
// The CompleteMultipartUpload request body drover writes must read back to the same ETags.
//
// Input: the response body. Lines of printable ASCII are also used as ETags for the request
// body round trip.
#include "fuzz/fuzz.hpp"

#include "s3/xml.hpp"

#include <pugixml.hpp>

#include <string>

namespace drover::fuzz {

namespace {

template <class F>
void parse_or_xml_error(F&& f) {
    try {
        f();
    } catch (const s3::xml_error&) {
    }
}

void check_clean(const std::string& s) {
    for (char c : s) DROVER_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20, s);
}

void check_error(const s3::error_body& e) {
    check_clean(e.code);
    check_clean(e.message);
    check_clean(e.request_id);
}

void complete_body_round_trip(std::string_view in) {
    std::vector<std::string> etags;
    for (auto line : split(in, '\n')) {
        for (char c : line)
            if (c < 0x20 || c > 0x7e) return;
        etags.emplace_back(line);
    }
    std::string body = s3::complete_body(etags);
    pugi::xml_document doc;
    DROVER_FUZZ_CHECK(doc.load_buffer(body.data(), body.size(), pugi::parse_default | pugi::parse_ws_pcdata), body);
    std::size_t i = 0;
    for (auto part : doc.child("CompleteMultipartUpload").children("Part")) {
        DROVER_FUZZ_CHECK(i < etags.size(), body);
        DROVER_FUZZ_CHECK(part.child("PartNumber").text().as_ullong() == i + 1, body);
        DROVER_FUZZ_CHECK(etags[i] == part.child("ETag").child_value(), body);
        ++i;
    }
    DROVER_FUZZ_CHECK(i == etags.size(), body);
}

}  // namespace

void s3_xml(std::string_view in) {
    if (auto e = s3::parse_error(in)) {
        DROVER_FUZZ_CHECK(!e->code.empty(), "an error without a code");
        check_error(*e);
    }
    parse_or_xml_error([&] { DROVER_FUZZ_CHECK(!s3::parse_upload_id(in).empty(), "empty UploadId"); });
    parse_or_xml_error([&] {
        auto c = s3::parse_complete(in);
        if (c.error) {
            DROVER_FUZZ_CHECK(!c.error->code.empty(), "an error without a code");
            check_error(*c.error);
        } else {
            DROVER_FUZZ_CHECK(!c.etag.empty(), "a result without an ETag");
        }
    });
    parse_or_xml_error([&] {
        auto page = s3::parse_list(in);
        for (const auto& o : page.objects) DROVER_FUZZ_CHECK(!o.key.empty(), "an object without a key");
        DROVER_FUZZ_CHECK(!page.truncated || !page.next_token.empty(), "truncated without a token");
    });
    complete_body_round_trip(in);
}

}  // namespace drover::fuzz
