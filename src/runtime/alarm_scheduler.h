// Fires objects' alarms at their time.
//
// Keeps in memory only the alarms due within the next minute, read from the alarm index (which
// holds every pending alarm durably), so memory does not grow with the number of objects that
// have alarms. A fired alarm stays out of the schedule until its object reports the outcome: the
// object's commit that deleted or moved the alarm (Set), or a retry (Retry).
//
// Thread-safe: one scheduler thread fires; any thread may call Set/Retry/ForgetClass.
#pragma once

#include <climits>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "runtime/object_address.h"
#include "storage/alarm_index.h"

namespace dorm::runtime {

class AlarmScheduler {
 public:
  // `fire(address, scheduled_ms, retry_count)` must hand the alarm to the object's thread and
  // return at once.
  using FireFunction =
      std::function<void(const ObjectAddress& address, long long scheduled_ms, int retry_count)>;
  // `warm(address)` is called once for each alarm kWarmAheadMs before it is due, so that the
  // object's thread can open its database ahead of the fire; it must return at once, and what it
  // does changes no outcome (a fire works the same on a cold object).
  using WarmFunction = std::function<void(const ObjectAddress& address)>;
  // How long before its time an alarm is warmed. Shorter than ObjectAlarm::kKeepWarmMs, which
  // keeps the connection open from then on.
  static constexpr long long kWarmAheadMs = 5000;

  // `warm` may be empty.
  AlarmScheduler(storage::AlarmIndex& index, FireFunction fire, WarmFunction warm = nullptr);
  ~AlarmScheduler();  // stops the thread

  // Starts firing (alarms already due fire at once).
  void Start();
  // Stops firing; Set/Retry stay callable (they only record). Idempotent.
  void Stop();
  // The object's alarm after a commit: a time, or none.
  void Set(const ObjectAddress& address, std::optional<long long> time_ms);
  // An alarm learned from elsewhere than this node's commits (cluster mode: an object taken from
  // a node that is gone, or restored from PostgreSQL): scheduled like one read from the index,
  // unless the object's alarm is already pending or firing here. An alarm past the loaded horizon
  // is left to the index (the caller writes it there).
  // `retry_count`: the retries the alarm had already had on the node that ran it before.
  void Offer(const ObjectAddress& address, long long time_ms, int retry_count = 0);
  // Fires the object's alarm again at `time_ms`, as retry number `retry_count`.
  void Retry(const ObjectAddress& address, long long time_ms, int retry_count);
  // Forgets every alarm of a deleted class, or of a class about to move to another app.
  void ForgetClass(const std::string& app, const std::string& class_name);
  // Reads the index again now rather than at the next periodic reload: alarms were added to it
  // without Set (a class's alarms moved to another app).
  void ReloadSoon();

 private:
  struct Pending {
    ObjectAddress address;
    long long time_ms;
    int retry_count;
  };
  // The object's key, completing its address (the id) first.
  static std::string Key(ObjectAddress& address);
  void Run();
  // Whether an alarm at `time_ms` needs the waiting thread woken (called under mu_).
  bool NeedsWake(long long time_ms) const;
  void Reload(long long now_ms);
  void Insert(const std::string& key, Pending pending);
  // Removes an entry from every map; returns the next one.
  std::map<std::string, Pending>::iterator Erase(std::map<std::string, Pending>::iterator it);
  // Removes `key` at `time_ms` from `by` (a map by time), if there.
  static void EraseByTime(std::multimap<long long, std::string>& by, long long time_ms,
                          const std::string& key);

  storage::AlarmIndex& index_;
  bool reload_requested_ = false;  // guarded by mu_
  FireFunction fire_;
  WarmFunction warm_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool started_ = false;
  std::map<std::string, Pending> pending_;          // by object
  std::multimap<long long, std::string> by_time_;   // the same, by time
  std::multimap<long long, std::string> unwarmed_;  // those not yet warmed, by time
  std::set<std::string> firing_;                    // fired, outcome not yet known
  long long loaded_until_ms_ = 0;
  // While the thread waits: when it will wake by itself. Set and Retry wake it only for an alarm
  // due earlier (each commit that changes an alarm calls Set; waking for every one of them
  // costs a context switch per alarm in a burst). LLONG_MIN while it runs: it rereads by_time_
  // before it waits again.
  long long wake_at_ms_ = LLONG_MIN;
  std::thread thread_;
};

}  // namespace dorm::runtime
