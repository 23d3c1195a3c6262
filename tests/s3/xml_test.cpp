#include "s3/xml.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace drover::s3;

TEST_CASE("xml: S3 error body gives code, message and request id") {
    auto e = parse_error(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>)");
    REQUIRE(e);
    CHECK(e->code == "SignatureDoesNotMatch");
    CHECK(e->message.find("does not match") != std::string::npos);
    CHECK(e->request_id == "4442587FB7D0A2F9");
}

TEST_CASE("xml: non-error bodies are not errors") {
    CHECK_FALSE(parse_error(""));
    CHECK_FALSE(parse_error("Service Unavailable"));
    CHECK_FALSE(parse_error("<html><body>502 Bad Gateway</body></html>"));
    CHECK_FALSE(parse_error("<Error><Code>"));  // truncated
    CHECK_FALSE(parse_error("<Error><Message>no code</Message></Error>"));
}

TEST_CASE("xml: hostile documents are refused, never expanded") {
    std::string bomb = R"(<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>
<Error><Code>&lol2;</Code></Error>)";
    CHECK_FALSE(parse_error(bomb));
    CHECK_THROWS_AS(parse_upload_id(bomb), xml_error);
    std::string xxe = R"(<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><InitiateMultipartUploadResult><UploadId>&e;</UploadId></InitiateMultipartUploadResult>)";
    CHECK_THROWS_AS(parse_upload_id(xxe), xml_error);
    // Deep nesting and binary garbage.
    std::string deep(100000, '<');
    CHECK_THROWS_AS(parse_list(deep), xml_error);
    std::string garbage("\0\xff\xfe<\x01", 5);
    CHECK_THROWS_AS(parse_complete(garbage), xml_error);
    // Control characters in server text are neutralised in messages.
    auto e = parse_error("<Error><Code>X</Code><Message>a&#10;b</Message></Error>");
    REQUIRE(e);
    CHECK(e->message == "a b");
}

TEST_CASE("xml: CreateMultipartUpload result") {
    CHECK(parse_upload_id("<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>abc-123</UploadId>"
                          "</InitiateMultipartUploadResult>") == "abc-123");
    CHECK_THROWS_WITH_AS(parse_upload_id("<InitiateMultipartUploadResult/>"),
                         "CreateMultipartUpload response has no UploadId", xml_error);
    CHECK_THROWS_AS(parse_upload_id("<InitiateMultipartUploadResult><UploadId>abc"), xml_error);
}

TEST_CASE("xml: CompleteMultipartUpload 200 body may carry an error") {
    auto ok = parse_complete(
        "<CompleteMultipartUploadResult><Location>l</Location><ETag>\"3858f62230ac3c915f300c664312c11f-9\"</ETag>"
        "</CompleteMultipartUploadResult>");
    CHECK_FALSE(ok.error);
    CHECK(ok.etag == "\"3858f62230ac3c915f300c664312c11f-9\"");
    auto bad = parse_complete("\n\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>");
    REQUIRE(bad.error);
    CHECK(bad.error->code == "InternalError");
    CHECK_THROWS_AS(parse_complete(""), xml_error);
    CHECK_THROWS_AS(parse_complete("<CompleteMultipartUploadResult></CompleteMultipartUploadResult>"), xml_error);
    CHECK_THROWS_AS(parse_complete("<Other/>"), xml_error);
}

TEST_CASE("xml: ListObjectsV2 pages") {
    auto p = parse_list(R"(<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
<IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken>
<Contents><Key>a/b c.jsonl.gz</Key><Size>12</Size><ETag>"e1"</ETag></Contents>
<Contents><Key>a/&amp;.gz</Key><Size>0</Size></Contents></ListBucketResult>)");
    REQUIRE(p.objects.size() == 2);
    CHECK(p.objects[0].key == "a/b c.jsonl.gz");
    CHECK(p.objects[0].size == 12);
    CHECK(p.objects[1].key == "a/&.gz");
    CHECK(p.truncated);
    CHECK(p.next_token == "tok/+=");
    CHECK_THROWS_AS(parse_list("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"), xml_error);
    CHECK_THROWS_AS(parse_list("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>"),
                    xml_error);
    CHECK_THROWS_AS(parse_list("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>"), xml_error);
    CHECK_THROWS_AS(parse_list("<Error><Code>NoSuchBucket</Code></Error>"), xml_error);
    CHECK_THROWS_AS(parse_list("<ListBucketResult><Contents><Key>k</Key><Size>1"), xml_error);
}

TEST_CASE("xml: Complete request body lists parts in order with escaped ETags") {
    auto b = complete_body({"\"a\"", "\"b&c\""});
    CHECK(b == "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Part><PartNumber>1</PartNumber>"
               "<ETag>\"a\"</ETag></Part><Part><PartNumber>2</PartNumber><ETag>\"b&amp;c\"</ETag></Part>"
               "</CompleteMultipartUpload>");
}
