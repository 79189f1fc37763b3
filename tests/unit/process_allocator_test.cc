#include "util/process_allocator.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <thread>

namespace dorm::util {
namespace {

// Two threads returning memory for the first time at once, then exiting: with glibc's malloc set
// up by the first of those calls (the sanitized build), both took its main arena uncounted and the
// second to exit aborted the process. Each round runs in a process of its own (a death test
// re-runs the binary), where nothing else has used the allocator's trimming yet; the race was lost
// about two times in three.
TEST(ProcessAllocatorTest, ThreadsReturningMemoryForTheFirstTimeAtOnceExitCleanly) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (int round = 0; round < 5; ++round) {
    EXPECT_EXIT(
        {
          std::atomic<int> ready{0};
          auto trim = [&ready] {
            ready.fetch_add(1);
            while (ready.load() < 2) {
            }
            ReturnFreeMemoryToSystem();
          };
          std::thread first(trim);
          std::thread second(trim);
          first.join();
          second.join();
          std::exit(0);
        },
        ::testing::ExitedWithCode(0), "")
        << "round " << round;
  }
}

// The runtime process is forked from the supervisor without exec, and jemalloc turns its
// background threads off in a forked child: freed pages then went back only as an arena allocated
// again. The child turns them back on.
TEST(ProcessAllocatorTest, BackgroundPurgeIsOnAgainInAForkedChild) {
  EXPECT_EQ(BackgroundPurgeIsOn(), ProcessAllocatorIsJemalloc());
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // 1: on across the fork already (then the call is not needed); 2: still off after it.
    if (BackgroundPurgeIsOn()) ::_exit(1);
    ResumeBackgroundPurgeAfterFork();
    ::_exit(BackgroundPurgeIsOn() == ProcessAllocatorIsJemalloc() ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace dorm::util
