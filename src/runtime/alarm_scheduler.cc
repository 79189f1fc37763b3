#include "runtime/alarm_scheduler.h"

#include <chrono>

#include "runtime/object_id.h"
#include "util/log.h"
#include "util/wall_clock.h"

namespace dorm::runtime {
namespace {
// Alarms due within this window are held in memory; the rest stay in the index until then.
constexpr long long kHorizonMs = 60000;
constexpr int kMaxLoaded = 200000;
// Alarms handed to their threads per hold of the mutex. Collecting a whole burst (10,000 due at
// one instant) before handing out the first delayed every one of them by the collection, and
// fired those deleted meanwhile; in slices, the first run while the rest are collected.
constexpr size_t kFireSlice = 256;

}  // namespace

AlarmScheduler::AlarmScheduler(storage::AlarmIndex& index, FireFunction fire, WarmFunction warm)
    : index_(index), fire_(std::move(fire)), warm_(std::move(warm)) {}

AlarmScheduler::~AlarmScheduler() { Stop(); }

void AlarmScheduler::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AlarmScheduler::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

std::string AlarmScheduler::Key(ObjectAddress& address) {
  CompleteAddress(address);
  return ObjectKey(address);
}

void AlarmScheduler::EraseByTime(std::multimap<long long, std::string>& by, long long time_ms,
                                 const std::string& key) {
  auto range = by.equal_range(time_ms);
  for (auto t = range.first; t != range.second; ++t) {
    if (t->second == key) {
      by.erase(t);
      return;
    }
  }
}

std::map<std::string, AlarmScheduler::Pending>::iterator AlarmScheduler::Erase(
    std::map<std::string, Pending>::iterator it) {
  EraseByTime(by_time_, it->second.time_ms, it->first);
  if (warm_) EraseByTime(unwarmed_, it->second.time_ms, it->first);
  return pending_.erase(it);
}

void AlarmScheduler::Insert(const std::string& key, Pending pending) {
  auto it = pending_.find(key);
  if (it != pending_.end()) Erase(it);
  by_time_.emplace(pending.time_ms, key);
  if (warm_) unwarmed_.emplace(pending.time_ms, key);
  pending_.emplace(key, std::move(pending));
}

bool AlarmScheduler::NeedsWake(long long time_ms) const {
  return (warm_ ? time_ms - kWarmAheadMs : time_ms) < wake_at_ms_;
}

void AlarmScheduler::Set(const ObjectAddress& given, std::optional<long long> time_ms) {
  ObjectAddress address = given;
  std::string key = Key(address);
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    firing_.erase(key);
    if (!time_ms) {
      auto it = pending_.find(key);
      if (it != pending_.end()) Erase(it);
    } else if (*time_ms <= loaded_until_ms_) {
      Insert(key, Pending{address, *time_ms, 0});
      wake = NeedsWake(*time_ms);
    } else {
      // Moved past what was read from the index: the index, which holds the new time, brings it
      // back in a later read. The old time must not fire meanwhile (the object would find its
      // alarm not yet due, at the cost of opening its database for nothing).
      auto it = pending_.find(key);
      if (it != pending_.end()) Erase(it);
    }
  }
  if (wake) cv_.notify_all();
}

void AlarmScheduler::Offer(const ObjectAddress& given, long long time_ms, int retry_count) {
  ObjectAddress address = given;
  std::string key = Key(address);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (time_ms > loaded_until_ms_ || firing_.count(key) != 0 || pending_.count(key) != 0) return;
    Insert(key, Pending{std::move(address), time_ms, retry_count});
  }
  cv_.notify_all();
}

void AlarmScheduler::Retry(const ObjectAddress& given, long long time_ms, int retry_count) {
  ObjectAddress address = given;
  std::string key = Key(address);
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    firing_.erase(key);
    Insert(key, Pending{address, time_ms, retry_count});
    wake = NeedsWake(time_ms);
  }
  if (wake) cv_.notify_all();
}

void AlarmScheduler::ForgetClass(const std::string& app, const std::string& class_name) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string prefix = ClassKeyPrefix(app, class_name);
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->first.compare(0, prefix.size(), prefix) == 0) {
      it = Erase(it);
    } else {
      ++it;
    }
  }
}

void AlarmScheduler::ReloadSoon() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    reload_requested_ = true;
  }
  cv_.notify_all();
}

void AlarmScheduler::Reload(long long now_ms) {
  long long until = now_ms + kHorizonMs;
  std::vector<storage::AlarmEntry> due;
  try {
    due = index_.DueBy(until, kMaxLoaded);
  } catch (const std::exception& e) {
    Log(LogLevel::kError, std::string("cannot read the alarm index: ") + e.what());
    return;
  }
  // A full page means more alarms share the window: hold what was read and read again once the
  // earliest have fired.
  loaded_until_ms_ = static_cast<int>(due.size()) >= kMaxLoaded ? due.back().time_ms : until;
  for (auto& entry : due) {
    ObjectAddress address{entry.app, entry.class_name, entry.instance_name, entry.object_id};
    std::string key = Key(address);
    if (firing_.count(key) || pending_.count(key)) continue;
    Insert(key, Pending{std::move(address), entry.time_ms, 0});
  }
}

void AlarmScheduler::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  long long next_reload = 0;
  while (!stopping_) {
    long long now = WallClockMs();
    if (now >= next_reload || reload_requested_) {
      reload_requested_ = false;
      Reload(now);
      next_reload = now + kHorizonMs / 2;
    }
    std::vector<Pending> ready;
    while (!by_time_.empty() && by_time_.begin()->first <= now && ready.size() < kFireSlice) {
      std::string key = by_time_.begin()->second;
      const long long time_ms = by_time_.begin()->first;
      by_time_.erase(by_time_.begin());
      auto it = pending_.find(key);
      if (it == pending_.end()) continue;
      if (warm_) EraseByTime(unwarmed_, time_ms, key);
      ready.push_back(std::move(it->second));
      pending_.erase(it);
      firing_.insert(key);
    }
    std::vector<ObjectAddress> to_warm;
    while (!unwarmed_.empty() && unwarmed_.begin()->first <= now + kWarmAheadMs) {
      auto it = pending_.find(unwarmed_.begin()->second);
      if (it != pending_.end()) to_warm.push_back(it->second.address);
      unwarmed_.erase(unwarmed_.begin());
    }
    if (!ready.empty() || !to_warm.empty()) {
      lock.unlock();
      for (const Pending& p : ready) fire_(p.address, p.time_ms, p.retry_count);
      for (const ObjectAddress& address : to_warm) warm_(address);
      lock.lock();
      continue;
    }
    long long wake = next_reload;
    if (!by_time_.empty()) wake = std::min(wake, by_time_.begin()->first);
    if (!unwarmed_.empty()) wake = std::min(wake, unwarmed_.begin()->first - kWarmAheadMs);
    wake_at_ms_ = wake;
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<long long>(1, wake - now)));
    wake_at_ms_ = LLONG_MIN;
  }
}

}  // namespace dorm::runtime
