#pragma once
// Local tasks die with drover. Each local executor starts one small watchdog process per run
// (awk, in a process group of its own, so terminal signals do not reach it) and tells it, over
// a socket, which process groups its attempts lead ("+ PGID TICKS") and when they ended
// ("- PGID"). When drover exits or dies — kill -9, the OOM killer — the kernel closes the
// socket; at end of input the watchdog kills every group still listed whose leader is the
// process that was registered (the start time tells a reused id apart) or is gone while
// members of its group live on. Without a watchdog (awk missing), the executor says so and
// runs on; a resumed run still kills leftovers from the journal (process_ref).

#include <drover/executor.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <sys/types.h>

namespace drover::detail {

/// "BOOT_ID:TICKS" of a live process (see process_ref), or "" when it cannot be read.
std::string process_started(pid_t pid);

/// Kills the process group `ref` names if what runs under that id is still what was
/// registered: its leader with the same start, or members of the group with the leader gone.
/// Returns true when it sent SIGKILL. Never kills a group led by a later process.
bool kill_leftover_group(const process_ref& ref);

class group_watchdog {
public:
    group_watchdog() = default;
    ~group_watchdog();
    group_watchdog(const group_watchdog&) = delete;
    group_watchdog& operator=(const group_watchdog&) = delete;

    /// Starts the watchdog; returns the problem instead when it cannot.
    std::optional<std::string> start();
    /// Registration of a group whose leader started at `started` (the TICKS part is sent),
    /// together with the unregistrations that waited (one write, one wake of the watchdog).
    void add(pid_t pgid, const std::string& started);
    /// Unregistration, while the leader is a zombie (the id cannot be reused yet). `killed`:
    /// the group was just killed, nothing of it is left, so its "- PGID" may wait for the next
    /// add() or stop() — should drover die meanwhile, the watchdog's kill of that id finds
    /// nothing, or a later leader it leaves alone (start time). Otherwise (members left
    /// running on purpose, kill_leftovers off) it goes out at once, before the id is reaped.
    void remove(pid_t pgid, bool killed);
    /// Sends what waits, closes the socket (the watchdog kills what is still listed, then
    /// exits) and reaps it.
    void stop() noexcept;
    bool running() const;
    /// The watchdog process (-1 before start()).
    pid_t pid() const noexcept { return pid_; }

private:
    void send_locked(const std::string& text);  // with mutex_ held
    mutable std::mutex mutex_;
    std::string waiting_;  // "- PGID" lines not sent yet
    int fd_ = -1;
    pid_t pid_ = -1;
};

}  // namespace drover::detail
