// Settings of the object runtime, fixed at server start.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "outbound/client_options.h"

namespace dorm::runtime {

struct RuntimeOptions {
  std::string data_dir = ".dorm";
  // CPU time one JavaScript event may use before its isolate's objects are reset.
  std::chrono::milliseconds cpu_limit{30000};
  // Heap limit of one isolate (one app on one thread); ArrayBuffers get the same budget again.
  size_t heap_limit_bytes = 128u << 20;
  // An object without events for this long is evicted from memory.
  std::chrono::seconds idle_evict{70};
  // An object whose only open work is hibernatable WebSockets is evicted (hibernated) after this
  // long without events; its connections stay open.
  std::chrono::milliseconds hibernate_after{10000};
  // An object's SQLite connection (tens of KiB, mostly the WAL index) is closed after this long
  // without storage use, and reopened on the next use; the object itself stays in memory.
  std::chrono::milliseconds database_idle_close{1000};
  // A failing alarm() is retried after this delay, doubled for each retry (6 retries at most).
  std::chrono::milliseconds alarm_retry_base{2000};
  // Connections of a thread hold at most twice this many descriptors (two per connection holding
  // its database file and its log, one per connection holding only its log); past it the coldest
  // give their database file back, then the coldest log-only ones are parked.
  size_t max_open_databases_per_thread = 4096;
  // Parked connections (their descriptors closed, the rest of each kept, about 75 KiB) per
  // thread, at most (0: none, and no database file is parked either: past the descriptors'
  // limit the coldest connections are closed); past it the coldest parked are closed. See
  // storage/parkable_vfs.h.
  size_t max_parked_databases_per_thread = 4096;
  // Storage quotas (0: none). An object's database may hold this many bytes: Cloudflare's limit
  // for a SQLite-backed object on paid plans (10 GB).
  long long max_object_storage_bytes = 10240ll << 20;
  // All objects of one app together, so that one app cannot fill the disk for the others. By
  // default as much as one object may hold.
  long long max_app_storage_bytes = 10240ll << 20;
  // A temporary file SQLite makes for one statement (sorts, RETURNING rows, statement journals)
  // may hold this many bytes (0: no limit); see storage/temp_file_limit.h.
  long long max_sql_temp_bytes = 1024ll << 20;
  // How many threads one app's long turns (over 50 ms) may hold at once; 0: half the threads.
  // See runtime/long_turn_limit.h.
  size_t long_turn_threads = 0;
  // fetch() to the outside world: the client's settings (address rules, extra CA), or null when
  // the server runs with --no-outbound.
  std::shared_ptr<const outbound::ClientOptions> outbound =
      std::make_shared<outbound::ClientOptions>();
  // How many outbound requests one app may have in flight on one runtime thread.
  size_t max_outbound_per_app = 64;
  // How many response bytes received and not yet read one app's outbound requests may hold at
  // once, on one runtime thread (each also holds at most HttpClient::kHighWater unread).
  size_t max_outbound_bytes_per_app = size_t{256} << 20;
  // The Cache API's store (ResponseCache): what one app's entries may hold, and all apps'.
  size_t cache_bytes_per_app = size_t{32} << 20;
  size_t cache_bytes_total = size_t{256} << 20;
  // Each app's live log (`dorm tail`, runtime/app_log.h) keeps its last `tail_lines` lines, at
  // most `tail_bytes` of them.
  size_t tail_lines = 1000;
  size_t tail_bytes = size_t{256} << 10;
  // What one app's code may write to the server log (console output, uncaught errors), in bytes
  // per second, with bursts of 16 seconds' worth (runtime/log_budget.h); 0: no bound.
  size_t log_bytes_per_second_per_app = size_t{128} << 10;
  // Count per-object usage (see runtime/usage_meter.h). Off only to measure what counting costs.
  bool usage_meters = true;
};

}  // namespace dorm::runtime
