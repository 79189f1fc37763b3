// Moves the runtime threads' usage meters into the usage database: every `period` (10 s in the
// server), before every usage or metrics answer (so that they are exact), and at shutdown. Keeps
// the all-time totals per class in memory for the metrics endpoint, and the heaps and thread
// health of the latest reading. The reading's list of live objects (one entry per object in
// memory or with WebSockets, hibernated ones included) is handed to the caller that asked for it
// and not kept: nothing reads it between readings, and with many hibernated objects it was a
// few hundred bytes per object held for nothing.
//
// Thread-safe. Refresh() must not be called on a runtime thread (it waits for them).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "control/usage_store.h"
#include "runtime/usage_meter.h"

namespace dorm::control {

class ObjectIndex;

class UsageRecorder {
 public:
  // Reads every runtime thread's meters (ThreadEngine::ReadUsage on each), waiting for them.
  using Collect = std::function<std::vector<runtime::ThreadUsageReport>()>;

  UsageRecorder(UsageStore& store, Collect collect, std::chrono::milliseconds period);
  ~UsageRecorder();  // Stop()s

  // Also records each reading in `index` (the objects list's), which must outlive the recorder.
  // Call before Start().
  void set_object_index(ObjectIndex* index) { index_ = index; }
  // Also hands each reading's deltas, with their minute, to `sink` (cluster mode: the cluster's
  // meters), after the store recorded them; on the recorder's thread or the caller of Refresh().
  // Call before Start().
  using Sink = std::function<void(long long, const std::vector<runtime::ObjectUsageDelta>&)>;
  void set_sink(Sink sink) { sink_ = std::move(sink); }

  // Starts the periodic refresh.
  void Start();
  // Stops the periodic refresh and, after an ongoing refresh ends, any further collection (the
  // runtime threads are about to stop): from then on Refresh() only records readings handed to
  // AddFinalReading(). Call before stopping the runtime threads.
  void Stop();
  // A thread's last reading at shutdown; recorded by the next Refresh().
  void AddFinalReading(runtime::ThreadUsageReport report);

  // Collects and records. Throws std::runtime_error if the database fails.
  void Refresh();

  struct Snapshot {
    std::map<UsageStore::ClassKey, UsageTotals> class_totals;  // all time
    // The latest reading of each runtime thread (live objects, heaps, lag; `objects` empty): the
    // one this call took, or after Stop() the last one taken, then without its live objects.
    std::vector<runtime::ThreadUsageReport> threads;
  };
  // Refresh()es, then returns the state.
  Snapshot RefreshAndRead();

 private:
  // Collects and records a reading; returns its threads' reports (`objects` empty), or, once
  // collection stopped, the last ones kept.
  std::vector<runtime::ThreadUsageReport> RefreshLocked();
  void Run();

  UsageStore& store_;
  ObjectIndex* index_ = nullptr;
  Sink sink_;
  Collect collect_;
  std::chrono::milliseconds period_;
  std::mutex mu_;  // serializes refreshes; guards everything below
  std::condition_variable cv_;
  bool stopping_ = false;
  bool collecting_ = true;
  std::vector<runtime::ThreadUsageReport> finals_;
  std::map<UsageStore::ClassKey, UsageTotals> class_totals_;
  // The latest reading's reports without their `live` lists.
  std::vector<runtime::ThreadUsageReport> latest_;
  std::thread thread_;
};

}  // namespace dorm::control
