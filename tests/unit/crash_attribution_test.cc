#include "runtime/crash_attribution.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

namespace dorm::runtime {
namespace {

// Runs `body` in a forked child that records into `attribution`; returns the signal that ended
// the child, 0 if it exited with status 0, -1 for any other exit (a sanitizer's report of a
// deadly signal exits with status 1 unless abort_on_error is set).
template <typename Body>
int RunInChild(CrashAttribution* attribution, Body body) {
  attribution->Clear();
  pid_t child = ::fork();
  if (child == 0) {
    CrashAttribution::SetCurrent(attribution);
    CrashAttribution::InstallSignalHandlers();
    body();
    std::_Exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  if (WIFSIGNALED(status)) return WTERMSIG(status);
  return WEXITSTATUS(status) == 0 ? 0 : -1;
}

TEST(CrashAttribution, TheCrashingThreadsAppIsRecordedAndTheSignalStillEndsTheProcess) {
  CrashAttribution* attribution = CrashAttribution::CreateShared(4);
  int signal_number = RunInChild(attribution, [] {
    CrashAttribution::Scope running("tenant-a");
    std::abort();
  });
  EXPECT_EQ(signal_number, SIGABRT);
  EXPECT_EQ(attribution->CrashedApp(), "tenant-a");
}

TEST(CrashAttribution, ACrashOutsideAnyAppIsNotAttributed) {
  CrashAttribution* attribution = CrashAttribution::CreateShared(4);
  int signal_number = RunInChild(attribution, [] {
    { CrashAttribution::Scope running("tenant-a"); }
    std::abort();
  });
  EXPECT_EQ(signal_number, SIGABRT);
  EXPECT_EQ(attribution->CrashedApp(), "");
}

TEST(CrashAttribution, OnlyTheCrashingThreadCounts) {
  CrashAttribution* attribution = CrashAttribution::CreateShared(4);
  int signal_number = RunInChild(attribution, [] {
    // Another thread runs an app's code, this one crashes running another app's.
    std::thread other([] {
      CrashAttribution::Scope running("innocent");
      ::pause();
    });
    other.detach();
    ::usleep(20000);
    CrashAttribution::Scope running("guilty");
    ::raise(SIGSEGV);
  });
  // SIGSEGV, or what a sanitizer's handler (which gets the signal after the record) makes of it.
  EXPECT_NE(signal_number, 0);
  EXPECT_EQ(attribution->CrashedApp(), "guilty");
}

TEST(CrashAttribution, NestedScopesKeepTheOutermostApp) {
  CrashAttribution* attribution = CrashAttribution::CreateShared(4);
  int signal_number = RunInChild(attribution, [] {
    CrashAttribution::Scope deploying("deployed-app");
    CrashAttribution::Scope turn("(deploy check)");
    std::abort();
  });
  EXPECT_EQ(signal_number, SIGABRT);
  EXPECT_EQ(attribution->CrashedApp(), "deployed-app");
}

TEST(CrashAttribution, AThreadSwitchingAppsRecordsTheCurrentOne) {
  CrashAttribution* attribution = CrashAttribution::CreateShared(4);
  int signal_number = RunInChild(attribution, [] {
    { CrashAttribution::Scope running("a-much-longer-app-name"); }
    CrashAttribution::Scope running("short");
    std::abort();
  });
  EXPECT_EQ(signal_number, SIGABRT);
  EXPECT_EQ(attribution->CrashedApp(), "short");
}

TEST(CrashAttribution, ANormalExitRecordsNothingAndClearForgets) {
  CrashAttribution* attribution = CrashAttribution::CreateShared(4);
  EXPECT_EQ(RunInChild(attribution, [] { CrashAttribution::Scope running("tenant"); }), 0);
  EXPECT_EQ(attribution->CrashedApp(), "");
  RunInChild(attribution, [] {
    CrashAttribution::Scope running("tenant");
    std::abort();
  });
  EXPECT_EQ(attribution->CrashedApp(), "tenant");
  attribution->Clear();
  EXPECT_EQ(attribution->CrashedApp(), "");
}

}  // namespace
}  // namespace dorm::runtime
