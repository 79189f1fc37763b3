// Keeps the server answering when its runtime process dies.
//
// `dorm serve` runs in two processes. The first (this supervisor) holds what must outlive a crash
// (the listening socket and the data folder's lock), runs no JavaScript and opens no database.
// It forks the runtime process, which does everything else, and waits. When the runtime process
// ends by a signal (a fault inside V8 that no isolate limit catches, see
// runtime/crash_attribution.h), the supervisor logs it, quarantines the app whose code crashed it
// (control/restart_policy.h) and forks a new runtime process on the same socket and data folder.
// Acknowledged writes are durable before they are acknowledged, so none is lost; requests in
// flight at the crash fail, and WebSockets close.
//
// SIGTERM and SIGINT are passed on to the runtime process, and the supervisor exits with its
// status. A runtime process that exits (rather than being killed by a signal) ends the
// supervisor with its status: exit 1 from a configuration error stays an exit 1. If the
// supervisor itself is killed, the kernel kills the runtime process too (PR_SET_PDEATHSIG).
//
// Call from a single-threaded process (fork copies only the calling thread).
#pragma once

#include <functional>

#include "runtime/app_quarantine.h"
#include "runtime/crash_attribution.h"

namespace dorm::control {

// Runs `run_runtime` in a forked runtime process, again after each crash, as described above.
// `run_runtime` gets the apps that process must not run; its return value is the process's exit
// status. `attribution` is the shared crash record (CrashAttribution::CreateShared). Returns the
// supervisor's exit status.
int Supervise(runtime::CrashAttribution* attribution,
              const std::function<int(const runtime::AppQuarantine&)>& run_runtime);

}  // namespace dorm::control
