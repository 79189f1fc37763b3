#include "control/usage_recorder.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace dorm::control {
namespace {

const UsageStore::ClassKey kRoom("app", "room");

class UsageRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-usage-recorder-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // One thread's reading: `sockets` WebSockets of a hibernated object, one request of it, and a
  // heap of `heap_used` bytes.
  static runtime::ThreadUsageReport Reading(uint64_t sockets, uint64_t heap_used) {
    runtime::ThreadUsageReport report;
    runtime::ObjectUsageDelta delta;
    delta.app = "app";
    delta.class_name = "room";
    delta.instance_name = "lobby";
    delta.object_id = std::string(64, 'a');
    delta.http_requests = 1;
    report.objects.push_back(delta);
    report.live.push_back(runtime::LiveObject{"app", "room", "lobby", std::string(64, 'a'),
                                              /*in_memory=*/false, sockets});
    report.heaps.push_back(runtime::IsolateHeap{"app", heap_used, 2 * heap_used, 4 * heap_used});
    report.thread_id = 7;
    return report;
  }

  std::string dir_;
};

// Every answer is from a reading taken for it: its live objects are those of that reading.
TEST_F(UsageRecorderTest, EachReadAnswersItsOwnReadingsLiveObjects) {
  UsageStore store(dir_);
  uint64_t readings = 0;
  UsageRecorder recorder(
      store, [&] { return std::vector<runtime::ThreadUsageReport>{Reading(++readings, 1000)}; },
      std::chrono::hours(1));
  for (uint64_t expected = 1; expected <= 3; ++expected) {
    UsageRecorder::Snapshot snapshot = recorder.RefreshAndRead();
    ASSERT_EQ(snapshot.threads.size(), 1u);
    ASSERT_EQ(snapshot.threads[0].live.size(), 1u);
    EXPECT_EQ(snapshot.threads[0].live[0].websockets, expected);
    EXPECT_FALSE(snapshot.threads[0].live[0].in_memory);
    EXPECT_TRUE(snapshot.threads[0].objects.empty());
    EXPECT_EQ(snapshot.class_totals[kRoom].http_requests, expected);
  }
  recorder.Refresh();
  EXPECT_EQ(readings, 4u);
  EXPECT_EQ(recorder.RefreshAndRead().threads[0].live[0].websockets, 5u);
}

// Once stopped, the recorder collects nothing more and answers the last reading's heaps and thread
// health; the live objects of that reading were not kept.
TEST_F(UsageRecorderTest, AfterStopTheLastReadingIsAnsweredWithoutItsLiveObjects) {
  UsageStore store(dir_);
  int collected = 0;
  UsageRecorder recorder(
      store,
      [&] {
        ++collected;
        return std::vector<runtime::ThreadUsageReport>{Reading(3, 5000)};
      },
      std::chrono::hours(1));
  recorder.Refresh();
  recorder.Stop();
  recorder.AddFinalReading(Reading(3, 9000));
  UsageRecorder::Snapshot snapshot = recorder.RefreshAndRead();
  EXPECT_EQ(collected, 1);
  ASSERT_EQ(snapshot.threads.size(), 1u);
  EXPECT_TRUE(snapshot.threads[0].live.empty());
  ASSERT_EQ(snapshot.threads[0].heaps.size(), 1u);
  EXPECT_EQ(snapshot.threads[0].heaps[0].used_bytes, 5000u);
  EXPECT_EQ(snapshot.threads[0].thread_id, 7);
  // The final reading's usage was recorded.
  EXPECT_EQ(snapshot.class_totals[kRoom].http_requests, 2u);
}

}  // namespace
}  // namespace dorm::control
