// The usage meters' durable side: DATA/usage.sqlite, one row per object and minute with what the
// object used in that minute, one row per object with its storage size as last measured, and the
// storage size of each class over time (storage_history: one row per class and minute in which a
// size was measured, holding the class's total then).
//
// Older minutes are rolled up so that a busy object does not add a row per minute forever: minute
// rows older than UsageRetention::minute_rows_minutes become one row per hour, and hour rows older
// than hour_rows_minutes one row per day. A rolled-up row keeps the first minute of its hour or
// day as its `minute`, so every query sums rows as before; a period that starts inside a rolled-up
// hour or day counts that hour or day only if it starts at its first minute. History rows roll up
// alike, a merged row keeping the size of its hour's (day's) last row.
//
// Meters are not customer data: the database is written with synchronous=NORMAL, so a power
// loss can drop the last writes, and a crash drops what was not yet recorded (see
// UsageRecorder's period).
//
// Thread-safe (one connection, serialized by SQLite's full mutex). Methods throw
// std::runtime_error on a database failure.
#pragma once

#include <atomic>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/usage_meter.h"

struct sqlite3;

namespace dorm::control {

struct UsageTotals {
  unsigned long long http_requests = 0;
  unsigned long long websocket_messages = 0;
  unsigned long long alarms = 0;
  unsigned long long cpu_ns = 0;
  unsigned long long wall_ns = 0;
  unsigned long long outbound_requests = 0;
  unsigned long long outbound_bytes = 0;
  void Add(const UsageTotals& o) {
    http_requests += o.http_requests;
    websocket_messages += o.websocket_messages;
    alarms += o.alarms;
    cpu_ns += o.cpu_ns;
    wall_ns += o.wall_ns;
    outbound_requests += o.outbound_requests;
    outbound_bytes += o.outbound_bytes;
  }
};

struct UsageRetention {
  long long minute_rows_minutes = 48 * 60;     // minute rows older than this become hour rows
  long long hour_rows_minutes = 60 * 24 * 60;  // hour rows older than this become day rows
};

class UsageStore {
 public:
  explicit UsageStore(const std::string& data_dir, UsageRetention retention = {});
  ~UsageStore();
  UsageStore(const UsageStore&) = delete;
  UsageStore& operator=(const UsageStore&) = delete;

  // Adds the deltas to the bucket of `epoch_minute` and records the storage sizes they carry,
  // in one transaction. Rolls old rows up (RollUp) when the hour changed since it last did.
  void Record(long long epoch_minute, const std::vector<runtime::ObjectUsageDelta>& deltas);

  // Merges the minute rows older than the retention into hour rows, and the hour rows older than
  // it into day rows, as of `now_minute`, in one transaction. Each pass starts where the last
  // ended (kept in the table usage_rollups), so it reads only the rows it merges.
  void RollUp(long long now_minute);

  struct ObjectRow {
    std::string class_name;
    std::string instance_name;
    UsageTotals totals;
  };
  // Per object of `app` (of one class unless `class_name` is empty), the sums of the buckets
  // from `since_minute` on (every bucket when negative).
  std::vector<ObjectRow> Query(const std::string& app, const std::string& class_name,
                               long long since_minute);

  struct SeriesRow {
    long long bucket = 0;  // (first minute of the bucket - since_minute) / step_minutes
    UsageTotals totals;
  };
  // The usage of `app` (of one class unless `class_name` is empty) from `since_minute` on, summed
  // per bucket of `step_minutes` (> 0) minutes, in bucket order; buckets without rows are left
  // out. A rolled-up row (hour or day) falls in the bucket of its first minute.
  std::vector<SeriesRow> Series(const std::string& app, const std::string& class_name,
                                long long since_minute, long long step_minutes);

  struct StorageRow {
    std::string class_name;
    std::string instance_name;
    long long bytes = 0;
  };
  std::vector<StorageRow> Storage(const std::string& app, const std::string& class_name);

  // The storage size of `app` (of one class unless `class_name` is empty) at the end of each of
  // `points` buckets of `step_minutes` from `since_minute` on: each class's last history row at
  // or before the bucket's last minute (0 before its first), summed over the classes.
  std::vector<long long> StorageSeries(const std::string& app, const std::string& class_name,
                                       long long since_minute, long long step_minutes,
                                       long long points);

  using ClassKey = std::pair<std::string, std::string>;  // app, class
  // Every bucket summed per class: the all-time counters.
  std::map<ClassKey, UsageTotals> ClassTotals();
  // Current storage per class.
  std::map<ClassKey, long long> ClassStorage();

  // The class is deleted and its objects' storage with it: their sizes are forgotten (their
  // usage history is kept, and the storage history records 0 from the current minute on).
  void ForgetStorage(const std::string& app, const std::string& class_name);

 private:
  const UsageRetention retention_;
  sqlite3* db_ = nullptr;
  // The hour of the last RollUp() that Record() started; Record() may run on several threads.
  std::atomic<long long> rolled_up_hour_{-1};
};

}  // namespace dorm::control
