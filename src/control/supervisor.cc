#include "control/supervisor.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "control/restart_policy.h"
#include "util/log.h"
#include "util/process_allocator.h"

namespace dorm::control {

namespace {

std::string SignalName(int signal_number) {
  const char* abbreviation = sigabbrev_np(signal_number);
  return abbreviation ? std::string("SIG") + abbreviation : std::to_string(signal_number);
}

// Waits for one of `signals` for at most `timeout_ms` (-1: without limit). Returns the signal, or
// 0 when the time ran out.
int WaitForSignal(const sigset_t& signals, int64_t timeout_ms) {
  for (;;) {
    int received;
    if (timeout_ms < 0) {
      received = sigwaitinfo(&signals, nullptr);
    } else {
      timespec timeout{static_cast<time_t>(timeout_ms / 1000),
                       static_cast<long>(timeout_ms % 1000) * 1000000};
      received = sigtimedwait(&signals, nullptr, &timeout);
      if (received < 0 && errno == EAGAIN) return 0;
    }
    if (received > 0) return received;
    // EINTR: a signal outside the set; wait again.
  }
}

}  // namespace

int Supervise(runtime::CrashAttribution* attribution,
              const std::function<int(const runtime::AppQuarantine&)>& run_runtime) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGCHLD);
  // Blocked before the first fork, so that a signal arriving while a runtime process starts is
  // never lost: the runtime process takes SIGTERM and SIGINT with sigwait too.
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  const pid_t supervisor = ::getpid();
  RestartPolicy policy;
  for (;;) {
    attribution->Clear();
    runtime::AppQuarantine quarantine;
    const int64_t started_ms = runtime::AppQuarantine::NowMs();
    for (const auto& [app, until_ms] : policy.Quarantined(started_ms)) {
      quarantine.Add(app, until_ms);
    }
    // Output still buffered here would be written twice, once by each process.
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    pid_t child = ::fork();
    if (child < 0) {
      std::cerr << "dorm: cannot start the runtime process: " << std::strerror(errno) << "\n";
      return 1;
    }
    if (child == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      // The supervisor may have died between fork() and prctl().
      if (::getppid() != supervisor) std::_Exit(1);
      util::ResumeBackgroundPurgeAfterFork();
      sigset_t child_signals;
      sigemptyset(&child_signals);
      sigaddset(&child_signals, SIGCHLD);
      sigprocmask(SIG_UNBLOCK, &child_signals, nullptr);
      runtime::CrashAttribution::SetCurrent(attribution);
      runtime::CrashAttribution::InstallSignalHandlers();
      int status = run_runtime(quarantine);
      std::cout.flush();
      std::exit(status);
    }
    bool stopping = false;
    for (;;) {
      int received = WaitForSignal(signals, -1);
      if (received == SIGTERM || received == SIGINT) {
        stopping = true;
        ::kill(child, received);
        continue;
      }
      int status = 0;
      pid_t ended = ::waitpid(child, &status, WNOHANG);
      if (ended != child) continue;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      const int signal_number = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
      const int64_t now_ms = runtime::AppQuarantine::NowMs();
      const std::string app = attribution->CrashedApp();
      std::string line = "the runtime process (pid " + std::to_string(child) +
                         ") ended by signal " + SignalName(signal_number);
      if (stopping) {
        Log(LogLevel::kError, line + " while stopping");
        return 1;
      }
      RestartPolicy::Decision decision = policy.OnCrash(app, now_ms, now_ms - started_ms);
      if (!app.empty()) {
        line += " while running app '" + app + "'; the app is suspended for " +
                std::to_string(
                    runtime::AppQuarantine::SecondsLeft(decision.quarantine_until_ms, now_ms)) +
                " s";
      }
      line += "; starting a new one";
      if (decision.restart_delay_ms > 0) {
        line += " in " + std::to_string(decision.restart_delay_ms) + " ms";
      }
      Log(LogLevel::kError, line);
      for (int64_t deadline = now_ms + decision.restart_delay_ms, left;
           (left = deadline - runtime::AppQuarantine::NowMs()) > 0;) {
        int early = WaitForSignal(signals, left);
        // Nothing runs: a stop request is done at once.
        if (early == SIGTERM || early == SIGINT) return 0;
      }
      break;
    }
  }
}

}  // namespace dorm::control
