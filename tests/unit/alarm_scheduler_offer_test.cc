// AlarmScheduler::Offer, the entry for alarms learned from the cluster rather than from this
// node's commits: scheduled like an indexed alarm, but never over one already pending or firing
// (a second fire of one alarm), and left to the index past the loaded horizon.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/alarm_scheduler.h"
#include "util/wall_clock.h"

namespace dorm::runtime {
namespace {

class AlarmSchedulerOfferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-alarm-offer-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    index_ = std::make_unique<storage::AlarmIndex>(dir_);
    scheduler_ = std::make_unique<AlarmScheduler>(
        *index_, [this](const ObjectAddress& address, long long scheduled_ms, int retry) {
          std::lock_guard<std::mutex> lock(mu_);
          fired_.push_back({address.object_id, scheduled_ms, retry});
          cv_.notify_all();
        });
    scheduler_->Start();
  }
  void TearDown() override {
    scheduler_.reset();
    index_.reset();
    std::filesystem::remove_all(dir_);
  }
  static ObjectAddress Address(char digit) {
    return ObjectAddress{"app", "cls", "", std::string(64, digit)};
  }
  // Waits until `count` fires were seen (or 2 s passed); returns how many there are.
  size_t WaitForFires(size_t count) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(2), [&] { return fired_.size() >= count; });
    return fired_.size();
  }
  struct Fire {
    std::string id;
    long long scheduled_ms;
    int retry;
  };
  std::string dir_;
  std::unique_ptr<storage::AlarmIndex> index_;
  std::unique_ptr<AlarmScheduler> scheduler_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Fire> fired_;
};

TEST_F(AlarmSchedulerOfferTest, FiresAnOfferedAlarmOnceAndNeverTwiceWhileItFires) {
  // The scheduler's first reload sets its horizon; give its thread a moment to run it.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const long long at = WallClockMs() + 50;
  scheduler_->Offer(Address('a'), at);
  scheduler_->Offer(Address('a'), at + 10);  // pending already: ignored
  ASSERT_EQ(WaitForFires(1), 1u);
  EXPECT_EQ(fired_[0].id, std::string(64, 'a'));
  EXPECT_EQ(fired_[0].scheduled_ms, at);
  EXPECT_EQ(fired_[0].retry, 0);
  // Firing, its outcome not known yet: offers are ignored.
  scheduler_->Offer(Address('a'), WallClockMs());
  EXPECT_EQ(WaitForFires(2), 1u);
  // Once the outcome is in (the alarm is gone), the object may be offered again.
  scheduler_->Set(Address('a'), std::nullopt);
  scheduler_->Offer(Address('a'), WallClockMs());
  EXPECT_EQ(WaitForFires(2), 2u);
}

TEST_F(AlarmSchedulerOfferTest, AnAlarmPastTheLoadedHorizonIsLeftToTheIndex) {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  scheduler_->Offer(Address('b'), WallClockMs() + 3600000);
  // Were the first one held, this one would be ignored (pending) and nothing would fire now.
  scheduler_->Offer(Address('b'), WallClockMs());
  ASSERT_EQ(WaitForFires(1), 1u);
  EXPECT_EQ(fired_[0].id, std::string(64, 'b'));
}

}  // namespace
}  // namespace dorm::runtime
