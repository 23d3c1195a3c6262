// credential_provider: botocore's refresh rules (advisory and mandatory windows) with a
// clock of the test's own, and one refresh for many threads.
#include "s3/credential_provider.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

using namespace drover::s3;
using namespace std::chrono_literals;

namespace {

struct scripted {
    system_time now = system_time(std::chrono::hours(24 * 365 * 50));
    std::atomic<int> fetches{0};
    bool fail = false;
    std::chrono::seconds life = 3600s;

    timed_credentials issue() {
        int n = ++fetches;
        if (fail) throw credential_error("the source is down");
        return {{"KEY" + std::to_string(n), "SECRET-" + std::to_string(n), "TOKEN"}, now + life};
    }
    std::shared_ptr<credential_provider> provider() {
        auto first = timed_credentials{{"KEY0", "SECRET-0", "TOKEN"}, now + life};
        return std::make_shared<credential_provider>("iam-role", first, [this] { return issue(); }, refresh_windows{},
                                                     [this] { return now; });
    }
};

}  // namespace

TEST_CASE("credential provider: static credentials are never refreshed") {
    auto p = credential_provider::fixed({"AK", "SK", ""}, "env");
    CHECK(p->current().access_key_id == "AK");
    CHECK(p->refreshes() == 0);
    CHECK_FALSE(p->expiration());
}

TEST_CASE("credential provider: refreshes inside the advisory window, not before") {
    scripted s;
    auto p = s.provider();
    s.now += 3600s - 15min - 1s;  // 15 min + 1 s left
    CHECK(p->current().access_key_id == "KEY0");
    CHECK(s.fetches == 0);
    s.now += 2s;  // inside the advisory window
    CHECK(p->current().access_key_id == "KEY1");
    CHECK(p->refreshes() == 1);
    CHECK(p->current().access_key_id == "KEY1");  // fresh for another hour
    CHECK(s.fetches == 1);
}

TEST_CASE("credential provider: a failed advisory refresh keeps the valid credentials") {
    scripted s;
    auto p = s.provider();
    s.now += 3600s - 12min;
    s.fail = true;
    CHECK(p->current().access_key_id == "KEY0");
    CHECK(p->current().access_key_id == "KEY0");  // tried again on the next request
    CHECK(s.fetches == 2);
    s.fail = false;
    CHECK(p->current().access_key_id == "KEY3");
}

TEST_CASE("credential provider: a failed mandatory refresh is an error without secrets") {
    scripted s;
    auto p = s.provider();
    s.now += 3600s - 5min;
    s.fail = true;
    try {
        p->current();
        FAIL("expected credential_error");
    } catch (const credential_error& e) {
        std::string m = e.what();
        CHECK(m.find("refreshing the iam-role credentials before they expire failed: the source is down") !=
              std::string::npos);
        CHECK(m.find("SECRET") == std::string::npos);
    }
    s.fail = false;
    CHECK(p->current().access_key_id == "KEY2");
}

TEST_CASE("credential provider: refreshed credentials that are still about to expire are an error") {
    scripted s;
    auto p = s.provider();
    s.now += 3600s - 5min;
    s.life = 60s;  // the source hands out credentials with one minute left
    CHECK_THROWS_WITH_AS(p->current(), doctest::Contains("expire within 600 s"), credential_error);
    CHECK(p->refreshes() == 0);
}

TEST_CASE("credential provider: an advisory refresh that brings worse credentials keeps the current ones") {
    scripted s;
    auto p = s.provider();
    s.now += 3600s - 12min;
    s.life = 60s;
    CHECK(p->current().access_key_id == "KEY0");
    CHECK(p->refreshes() == 0);
}

TEST_CASE("credential provider: many threads in the mandatory window refresh once") {
    scripted s;
    std::atomic<int> fetches{0};
    auto first = timed_credentials{{"OLD", "S", ""}, s.now + 60s};
    credential_provider p(
        "assume-role", first,
        [&] {
            ++fetches;
            std::this_thread::sleep_for(50ms);
            return timed_credentials{{"NEW", "S2", ""}, s.now + 3600s};
        },
        {}, [&] { return s.now; });
    std::vector<std::thread> threads;
    std::atomic<int> got_new{0};
    for (int i = 0; i < 8; ++i)
        threads.emplace_back([&] {
            if (p.current().access_key_id == "NEW") ++got_new;
        });
    for (auto& t : threads) t.join();
    CHECK(fetches == 1);
    CHECK(got_new == 8);
}
