// The usage meters of one runtime thread: what each object used (requests, WebSocket messages,
// alarms, CPU and wall time, storage) since the meters were last read, plus the thread's live
// gauges and health.
//
// Counting is meant for the hot path: an object's counters are found through the pointer its
// instance holds (looked up once, when the instance is created), and counting is a few integer
// additions, with no lock, allocation or system call. The control plane reads the meters
// periodically (ThreadEngine::ReadUsage) and keeps the totals; this layer never stores them.
//
// Threading: a UsageMeter belongs to one ThreadEngine and is touched only on its thread.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace dorm::runtime {

// The counters of one object since the meters were last read. Times are in CycleClock ticks.
struct ObjectUsage {
  uint64_t http_requests = 0;
  uint64_t websocket_messages = 0;
  uint64_t alarms = 0;
  uint64_t cpu_ticks = 0;          // inside JavaScript turns run for the object
  uint64_t wall_ticks = 0;         // from each event's delivery to its settlement
  uint64_t outbound_requests = 0;  // fetch() to other hosts, sent
  uint64_t outbound_bytes = 0;     // their request bodies sent and response bodies received
  // The database size in bytes as last measured, -1 if not measured since the last read.
  long long storage_bytes = -1;
  // A commit changed the database since its size was last measured.
  bool storage_stale = false;
  // A commit changed the database since the meters were last read (what incremental backups
  // copy; see control/object_index.h).
  bool storage_changed = false;
  // What the meters call the object (see InstanceLabel).
  std::string instance_name;
  // Live instances pointing at these counters (0 or 1; an entry without any is dropped once
  // read and empty).
  int instances = 0;
  bool empty() const {
    return http_requests == 0 && websocket_messages == 0 && alarms == 0 && cpu_ticks == 0 &&
           wall_ticks == 0 && outbound_requests == 0 && outbound_bytes == 0 && storage_bytes < 0 &&
           !storage_changed;
  }
};

// One object's usage over a reading period, in plain units.
struct ObjectUsageDelta {
  std::string app;
  std::string class_name;
  std::string instance_name;
  std::string object_id;  // 64 hex digits
  uint64_t http_requests = 0;
  uint64_t websocket_messages = 0;
  uint64_t alarms = 0;
  uint64_t cpu_ns = 0;
  uint64_t wall_ns = 0;
  uint64_t outbound_requests = 0;
  uint64_t outbound_bytes = 0;
  long long storage_bytes = -1;  // -1: unchanged
  bool storage_changed = false;  // a commit changed the database in the period
};

// An object in memory or with open WebSockets at the time of reading.
struct LiveObject {
  std::string app;
  std::string class_name;
  std::string instance_name;
  std::string object_id;   // 64 hex digits
  bool in_memory = false;  // false: hibernated, only its WebSockets are held
  uint64_t websockets = 0;
};

struct IsolateHeap {
  std::string app;
  uint64_t used_bytes = 0;
  uint64_t total_bytes = 0;
  uint64_t limit_bytes = 0;
};

// What one thread reports at a reading.
struct ThreadUsageReport {
  std::vector<ObjectUsageDelta> objects;  // only objects that used something
  std::vector<LiveObject> live;
  std::vector<IsolateHeap> heaps;
  // The largest delay of the thread's periodic timer over the last 10 s or so: how long an
  // event may have waited for the loop.
  double event_loop_lag_seconds = 0;
  long thread_id = 0;  // the kernel's id of the runtime thread (as `top -H` shows it)
};

class UsageMeter {
 public:
  // The counters of the object with key `object_key` (see ObjectKey), created if missing, and
  // reported under `instance_name`. The pointer stays valid until Read() drops the entry, which it
  // does only once `instances` is 0.
  ObjectUsage* Acquire(const std::string& object_key, const std::string& instance_name);

  // Moves every non-empty entry into `out` (zeroing it) and drops entries no instance uses.
  // CPU ticks are scaled by `cpu_scale` (see ThreadEngine::ReadUsage).
  void Read(double cpu_scale, std::vector<ObjectUsageDelta>* out);

  // JavaScript time of all objects since the last Read(), in ticks.
  uint64_t cpu_ticks_since_read() const { return cpu_ticks_since_read_; }
  void AddCpu(ObjectUsage* usage, uint64_t ticks) {
    usage->cpu_ticks += ticks;
    cpu_ticks_since_read_ += ticks;
  }

 private:
  std::unordered_map<std::string, ObjectUsage> entries_;
  uint64_t cpu_ticks_since_read_ = 0;
};

}  // namespace dorm::runtime
