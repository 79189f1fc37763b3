#include "runtime/alarm_scheduler.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/object_id.h"
#include "util/wall_clock.h"

namespace dorm::runtime {
namespace {

// What the scheduler called, in order: "warm NAME" or "fire NAME".
class Calls {
 public:
  void Add(const std::string& what) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(what);
    }
    cv_.notify_all();
  }
  // Waits (up to 20 s) until `what` was called; returns the calls so far.
  std::vector<std::string> WaitFor(const std::string& what) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(20), [&] {
      for (const auto& c : calls_) {
        if (c == what) return true;
      }
      return false;
    });
    return calls_;
  }
  std::vector<std::string> Snapshot() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> calls_;
};

class AlarmSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-alarm-scheduler-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    index_ = std::make_unique<storage::AlarmIndex>(dir_);
  }
  void TearDown() override {
    index_.reset();
    std::filesystem::remove_all(dir_);
  }
  static ObjectAddress Address(const std::string& name) { return {"app", "cls", name, ""}; }
  static std::string IdOf(const std::string& name) {
    ObjectAddress address = Address(name);
    CompleteAddress(address);
    return address.object_id;
  }
  // What a commit that changed the object's alarm does: write the index, then tell the
  // scheduler (which may not have read the index yet).
  void SetAlarm(AlarmScheduler& scheduler, const std::string& name, std::optional<long long> t) {
    index_->Apply({{{"app", "cls", name, t.value_or(0), IdOf(name)}, !t.has_value()}});
    scheduler.Set(Address(name), t);
  }
  static int IndexOf(const std::vector<std::string>& calls, const std::string& what) {
    for (size_t i = 0; i < calls.size(); ++i) {
      if (calls[i] == what) return static_cast<int>(i);
    }
    return -1;
  }

  std::string dir_;
  std::unique_ptr<storage::AlarmIndex> index_;
};

TEST_F(AlarmSchedulerTest, AlarmsDueSoonAreWarmedOnceBeforeTheyFire) {
  Calls calls;
  AlarmScheduler scheduler(
      *index_,
      [&](const ObjectAddress& a, long long, int) { calls.Add("fire " + a.instance_name); },
      [&](const ObjectAddress& a) { calls.Add("warm " + a.instance_name); });
  const long long now = WallClockMs();
  // Within the warming window from the start; already due; beyond the window by far.
  index_->Apply({{{"app", "cls", "soon", now + 1500, IdOf("soon")}, false},
                 {{"app", "cls", "due", now - 10, IdOf("due")}, false},
                 {{"app", "cls", "later", now + 50000, IdOf("later")}, false}});
  scheduler.Start();
  std::vector<std::string> seen = calls.WaitFor("fire soon");
  scheduler.Stop();
  seen = calls.Snapshot();
  const int warm_soon = IndexOf(seen, "warm soon");
  const int fire_soon = IndexOf(seen, "fire soon");
  ASSERT_GE(warm_soon, 0);
  ASSERT_GE(fire_soon, 0);
  EXPECT_LT(warm_soon, fire_soon);
  // A due alarm fires without being warmed first; an alarm far off is neither warmed nor fired.
  EXPECT_GE(IndexOf(seen, "fire due"), 0);
  EXPECT_EQ(IndexOf(seen, "warm due"), -1);
  EXPECT_EQ(IndexOf(seen, "warm later"), -1);
  EXPECT_EQ(IndexOf(seen, "fire later"), -1);
  // Each exactly once.
  for (const char* what : {"warm soon", "fire soon", "fire due"}) {
    int n = 0;
    for (const auto& c : seen) n += c == what ? 1 : 0;
    EXPECT_EQ(n, 1) << what;
  }
}

TEST_F(AlarmSchedulerTest, AnAlarmSetWhileTheThreadWaitsWakesIt) {
  Calls calls;
  AlarmScheduler scheduler(
      *index_,
      [&](const ObjectAddress& a, long long, int) { calls.Add("fire " + a.instance_name); },
      [&](const ObjectAddress& a) { calls.Add("warm " + a.instance_name); });
  const long long now = WallClockMs();
  // The thread first sleeps until "far" is to be warmed (about 35 s from now).
  index_->Apply({{{"app", "cls", "far", now + 40000, IdOf("far")}, false}});
  scheduler.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // An earlier alarm (as a commit reports it) must not wait for that.
  SetAlarm(scheduler, "near", WallClockMs() + 200);
  std::vector<std::string> seen = calls.WaitFor("fire near");
  scheduler.Stop();
  EXPECT_GE(IndexOf(seen, "warm near"), 0);
  EXPECT_LT(IndexOf(seen, "warm near"), IndexOf(seen, "fire near"));
  EXPECT_GE(IndexOf(seen, "fire near"), 0);
  EXPECT_EQ(IndexOf(seen, "fire far"), -1);
}

TEST_F(AlarmSchedulerTest, ADeletedAlarmIsNeitherWarmedNorFired) {
  Calls calls;
  AlarmScheduler scheduler(
      *index_,
      [&](const ObjectAddress& a, long long, int) { calls.Add("fire " + a.instance_name); },
      [&](const ObjectAddress& a) { calls.Add("warm " + a.instance_name); });
  scheduler.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const long long now = WallClockMs();
  // "gone" is deleted before its warming time; "kept", due after it, shows the thread went past.
  SetAlarm(scheduler, "gone", now + AlarmScheduler::kWarmAheadMs + 300);
  SetAlarm(scheduler, "kept", now + AlarmScheduler::kWarmAheadMs + 600);
  SetAlarm(scheduler, "gone", std::nullopt);
  std::vector<std::string> seen = calls.WaitFor("fire kept");
  scheduler.Stop();
  EXPECT_GE(IndexOf(seen, "warm kept"), 0);
  EXPECT_GE(IndexOf(seen, "fire kept"), 0);
  EXPECT_EQ(IndexOf(seen, "warm gone"), -1);
  EXPECT_EQ(IndexOf(seen, "fire gone"), -1);
}

TEST_F(AlarmSchedulerTest, AnAlarmMovedPastTheLoadedWindowDoesNotFireAtItsOldTime) {
  Calls calls;
  AlarmScheduler scheduler(*index_, [&](const ObjectAddress& a, long long, int) {
    calls.Add("fire " + a.instance_name);
  });
  scheduler.Start();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const long long now = WallClockMs();
  SetAlarm(scheduler, "moved", now + 300);
  SetAlarm(scheduler, "marker", now + 600);
  // Moved far past the minute the scheduler holds in memory.
  SetAlarm(scheduler, "moved", now + 10 * 60 * 1000);
  std::vector<std::string> seen = calls.WaitFor("fire marker");
  scheduler.Stop();
  EXPECT_EQ(seen, std::vector<std::string>{"fire marker"});
}

TEST_F(AlarmSchedulerTest, WithoutAWarmFunctionAlarmsStillFire) {
  Calls calls;
  AlarmScheduler scheduler(*index_, [&](const ObjectAddress& a, long long, int) {
    calls.Add("fire " + a.instance_name);
  });
  scheduler.Start();
  SetAlarm(scheduler, "plain", WallClockMs() + 100);
  std::vector<std::string> seen = calls.WaitFor("fire plain");
  scheduler.Stop();
  EXPECT_EQ(seen, std::vector<std::string>{"fire plain"});
}

TEST_F(AlarmSchedulerTest, ABurstIsHandedOutInSlicesAndHonoursDeletionsMeanwhile) {
  // 1,000 alarms due at one past instant, and "last" a millisecond after them: collected in one
  // hold of the mutex, all of them were handed out before the first ran, so that "last", deleted
  // by the first one's handler, fired anyway.
  constexpr int kBurst = 1000;
  const long long now = WallClockMs();
  std::vector<storage::AlarmChange> changes;
  for (int i = 0; i < kBurst; ++i) {
    const std::string name = "b" + std::to_string(i);
    changes.push_back({{"app", "cls", name, now - 1000, IdOf(name)}, false});
  }
  changes.push_back({{"app", "cls", "last", now - 999, IdOf("last")}, false});
  index_->Apply(changes);
  Calls calls;
  AlarmScheduler* scheduler_of_fire = nullptr;
  bool first = true;  // only the scheduler's thread fires
  AlarmScheduler scheduler(*index_, [&](const ObjectAddress& a, long long, int) {
    if (first) {
      first = false;
      SetAlarm(*scheduler_of_fire, "last", std::nullopt);
    }
    calls.Add("fire " + a.instance_name);
  });
  scheduler_of_fire = &scheduler;
  scheduler.Start();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (calls.Snapshot().size() < static_cast<size_t>(kBurst) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  scheduler.Stop();
  const std::vector<std::string> seen = calls.Snapshot();
  EXPECT_EQ(IndexOf(seen, "fire last"), -1);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kBurst));
  std::vector<bool> fired(kBurst, false);
  for (const std::string& c : seen) {
    const int i = std::stoi(c.substr(std::string("fire b").size()));
    EXPECT_FALSE(fired[i]) << c << " twice";
    fired[i] = true;
  }
}

}  // namespace
}  // namespace dorm::runtime
