// URLs in messages (issue 18, defect 10): scheme and host only, never user info, path,
// query or fragment, whatever the URL looks like.
#include <doctest/doctest.h>

#include "detail/safe_url.hpp"

using drover::detail::url_for_message;
using drover::detail::url_has_userinfo;

TEST_CASE("safe url: only scheme and host[:port] are shown") {
    CHECK(url_for_message("https://bob:pw@hooks.example.com:8443/T0/tok?k=v#f") == "https://hooks.example.com:8443/...");
    CHECK(url_for_message("http://127.0.0.1:9000") == "http://127.0.0.1:9000");
    CHECK(url_for_message("http://127.0.0.1:9000/") == "http://127.0.0.1:9000/...");
    CHECK(url_for_message("https://h?token=x") == "https://h/...");
    CHECK(url_for_message("https://h/a b?c") == "https://h/...");
    CHECK(url_for_message("tcp://[::1]:2375") == "tcp://[::1]:2375");
    CHECK(url_for_message("unix:///run/docker.sock") == "unix:///...");
    CHECK(url_for_message("hooks.example.com/secret") == "hooks.example.com/...");
    CHECK(url_for_message("user:pw@host") == "host");
    CHECK(url_for_message("") == "");
    // Odd characters in the host never reach a terminal or log as they are.
    CHECK(url_for_message("http://ho\x1b[31mst/x") == "http://ho/...");
    CHECK(url_for_message("http://h\xc3\xa9\"st:1") == "http://h???st:1");
    CHECK(url_for_message("http://a@b@c:1/x") == "http://c:1/...");
    CHECK(url_for_message(std::string(1000, 'h')).size() < 300);
}

TEST_CASE("safe url: user info is found in the authority only") {
    CHECK(url_has_userinfo("http://u:p@h/x"));
    CHECK(url_has_userinfo("s3://key:secret@bucket/p"));
    CHECK_FALSE(url_has_userinfo("http://h/a@b"));
    CHECK_FALSE(url_has_userinfo("http://h?x=a@b"));
}
