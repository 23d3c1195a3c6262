#pragma once
// Names the calling thread (at most 15 characters), as `top -H`, `ps -L`, gdb, perf and
// /proc/PID/task/TID/comm show it: a service's threads are then told apart at a glance.

#include <pthread.h>

namespace drover::detail {

inline void name_this_thread(const char* name) noexcept { ::pthread_setname_np(::pthread_self(), name); }

}  // namespace drover::detail
