#include "util/process_allocator.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace dorm::util
