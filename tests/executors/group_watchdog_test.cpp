// The process watchdog (executors/group_watchdog.hpp) itself: a real awk, real process groups.
#include <doctest/doctest.h>

#include "executors/group_watchdog.hpp"
#include "executors/spawn.hpp"

#include <chrono>
#include <csignal>
#include <fstream>
#include <map>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;
namespace detail = drover::detail;

namespace {

// Bytes the process has read so far (/proc/PID/io rchar): what the watchdog took from its socket.
long long watchdog_bytes_read(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/io");
    for (std::string key; f >> key;) {
        long long v = 0;
        f >> v;
        if (key == "rchar:") return v;
    }
    return -1;
}

// Waits until the watchdog has read everything sent so far: its rchar stops moving.
long long watchdog_settled(pid_t pid) {
    long long last = watchdog_bytes_read(pid);
    for (int i = 0; i < 100; ++i) {
        std::this_thread::sleep_for(20ms);
        long long now = watchdog_bytes_read(pid);
        if (now == last) return now;
        last = now;
    }
    return last;
}

struct watched_sleep {
    detail::spawned_child c;
    watched_sleep() {
        static const std::map<std::string, std::string> env;
        static const std::string wd;
        static const std::vector<std::string> argv{"sleep", "30"};
        c = detail::spawn_child({argv, env, wd, false, true});
    }
    // Not exited (a killed leader is a zombie until reaped: kill(pid, 0) still finds it).
    bool alive() {
        if (reaped_) return false;
        if (::waitpid(c.pid, nullptr, WNOHANG) != c.pid) return true;
        ::close(c.pidfd);
        reaped_ = true;
        return false;
    }
    void end() {
        ::kill(-c.pid, SIGKILL);
        ::waitpid(c.pid, nullptr, 0);
        ::close(c.pidfd);
        reaped_ = true;
    }
    ~watched_sleep() {
        if (!reaped_) end();
    }
    bool reaped_ = false;
};

}  // namespace

TEST_CASE("group watchdog: an ended group's unregistration goes out with the next registration or at stop, "
          "never lost" * doctest::timeout(60)) {
    detail::group_watchdog w;
    REQUIRE_FALSE(w.start().has_value());
    REQUIRE(w.pid() > 0);
    watched_sleep a, b, c;
    long long before = watchdog_settled(w.pid());
    w.add(a.c.pid, detail::process_started(a.c.pid));
    long long after_add = watchdog_settled(w.pid());
    CHECK(after_add > before);  // a registration is sent at once

    // The group was killed (kill_leftovers): its "- PGID" waits, the watchdog is not woken.
    w.remove(a.c.pid, true);
    CHECK(watchdog_settled(w.pid()) == after_add);
    // Members left on purpose (kill_leftovers off): at once.
    w.add(b.c.pid, detail::process_started(b.c.pid));
    long long after_b = watchdog_settled(w.pid());
    CHECK(after_b > after_add);
    w.remove(b.c.pid, false);
    CHECK(watchdog_settled(w.pid()) > after_b);

    // `a` and `c` still run. The watchdog lists c, and a again; then it is told that a ended
    // (as drover tells it while the leader is a zombie), which waits. At stop it kills what is
    // listed (c) and must not kill a: the "- a" that waited goes out before the socket closes.
    w.add(c.c.pid, detail::process_started(c.c.pid));
    w.add(a.c.pid, detail::process_started(a.c.pid));
    long long listed = watchdog_settled(w.pid());
    w.remove(a.c.pid, true);
    CHECK(watchdog_settled(w.pid()) == listed);
    w.stop();
    CHECK(a.alive());
    CHECK(b.alive());
    // c was listed: killed by the watchdog at the end of its input.
    for (int i = 0; i < 100 && c.alive(); ++i) std::this_thread::sleep_for(20ms);
    CHECK_FALSE(c.alive());
}
