// The live log of one app (`dorm tail`): a bounded ring of its most recent lines, and the tail
// clients reading it as they come.
//
// Recording (Add) copies the line's fields into a ring slot whose strings keep their capacity, so
// that a warm log allocates nothing and formats nothing while nobody tails. Lines are formatted
// (TailLineJson) only for clients whose filter takes them.
//
// A client is a ResponseStream the network front writes to a socket (an SSE response). Add never
// waits for a client: when the stream holds ResponseStream::kHighWater bytes not yet written, the
// client's next lines are dropped and counted, and once the stream drains it is sent
// `{"dropped":N}` before its next line.
//
// Thread-safe: every method may be called from any thread; one mutex per app, held for a copy of
// the line (and, for each client, a filter check and a formatted write into its buffer).
#pragma once

#include <atomic>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/log_budget.h"
#include "runtime/object_address.h"
#include "runtime/response_stream.h"
#include "runtime/tail_line.h"
#include "util/log.h"

namespace dorm::runtime {

struct AppLogLimits {
  // The ring keeps at most this many lines, and at most this many bytes of them (the oldest go
  // first). 0 lines: nothing is kept (clients still get lines as they come).
  size_t max_lines = 1000;
  size_t max_bytes = 256u << 10;
  // Tail clients of one app at once; more are refused.
  size_t max_clients = 16;
  // The app's share of the server log (WriteServerLog).
  LogBudgetLimits server_log;
};

class AppLog : public std::enable_shared_from_this<AppLog> {
 public:
  AppLog(std::string app, AppLogLimits limits);
  AppLog(const AppLog&) = delete;
  AppLog& operator=(const AppLog&) = delete;

  const std::string& app() const { return app_; }

  // Records a line stamped with the wall clock now. Never blocks on a client. Does not throw
  // (a line that cannot be stored for want of memory is lost).
  void Add(const TailLineView& line);
  // The same, for a line of the object at `address` (null: of no object).
  void Add(const ObjectAddress* address, TailLineView line) {
    if (address) {
      line.class_name = address->class_name;
      line.object_id = address->object_id;
      line.instance_name = address->instance_name;
    }
    Add(line);
  }

  // Writes one line the app's code caused (its console output, its uncaught errors) to the server
  // log, within the app's LogBudget: past it the line is left out (it still reaches the live log
  // through Add) and counted, and at most once per report interval a warning says how many lines
  // and bytes were left out. Never throws.
  void WriteServerLog(LogLevel level, std::string_view message);

  // Adds a client: the kept lines since `since_ms` (wall clock; 0: none) that `filter` takes are
  // written to `stream` at once, then every new one as it comes, as Server-Sent Events
  // ("data: <json>\n\n"). The client goes when the stream is cancelled (the connection closed).
  // Returns false, touching nothing, when the app has max_clients already.
  bool Subscribe(TailFilter filter, long long since_ms, std::shared_ptr<ResponseStream> stream);

  // The kept lines since `since_ms` that `filter` takes, oldest first, as JSON, at most `limit`
  // (the most recent ones).
  std::vector<std::string> Recent(TailFilter filter, long long since_ms, size_t limit) const;

  // Ends every client's stream (server shutdown).
  void CloseClients();

  size_t client_count() const;

 private:
  struct Client {
    TailFilter filter;
    std::shared_ptr<ResponseStream> stream;
    bool waiting = false;  // over the high-water mark: lines are dropped until the wake-up
    uint64_t dropped = 0;
  };

  // A line's wall-clock time, from the log's anchor.
  long long WallMs(const TailLine& line, double nanos_per_tick) const {
    const double ms = static_cast<double>(static_cast<int64_t>(line.ticks - anchor_ticks_)) *
                      nanos_per_tick / 1e6;
    return anchor_ms_ + static_cast<long long>(ms);
  }

  // With mutex_ held.
  void WriteTo(Client& client, const TailLine& line, double nanos_per_tick);
  void EvictOldest();
  void OnDrained(uint64_t client_id);

  const std::string app_;
  const AppLogLimits limits_;
  LogBudget server_log_budget_;
  // The wall clock and CycleClock read together at construction: lines' times are reckoned from
  // them.
  const long long anchor_ms_;
  const uint64_t anchor_ticks_;
  mutable std::mutex mutex_;
  std::vector<TailLine> ring_;  // grows to max_lines, then reused
  size_t head_ = 0;             // the oldest line's slot
  size_t count_ = 0;
  size_t bytes_ = 0;
  std::map<uint64_t, Client> clients_;
  uint64_t next_client_ = 1;
};

// Every app's AppLog, made on first use. Thread-safe; AppLogs handed out live on after the app
// is deleted (its lines are kept until the server stops).
class AppLogs {
 public:
  // Called before the first For() (the runtime threads start).
  void set_limits(AppLogLimits limits) { limits_ = limits; }
  std::shared_ptr<AppLog> For(const std::string& app);
  // Ends every tail client's stream of every app.
  void CloseClients();

 private:
  AppLogLimits limits_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<AppLog>> logs_;
};

}  // namespace dorm::runtime
