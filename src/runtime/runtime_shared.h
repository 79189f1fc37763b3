// What every runtime thread of the process shares: settings, the deployed code, the flush pool, the
// CPU watchdog, the long-turn limit, object placement and the hooks the control layer gives.
//
// Thread-safe: made and filled before the runtime threads start; afterwards each member is either
// constant or thread-safe itself. Must outlive every engine and pool that uses it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "js/watchdog.h"
#include "runtime/app_log.h"
#include "runtime/app_quarantine.h"
#include "runtime/class_catalog.h"
#include "runtime/http_message.h"
#include "runtime/long_turn_limit.h"
#include "runtime/object_address.h"
#include "runtime/object_placement.h"
#include "runtime/options.h"
#include "runtime/outgoing_call.h"
#include "runtime/response_cache.h"
#include "runtime/usage_meter.h"
#include "storage/database_closer.h"
#include "storage/sync_pool.h"

namespace dorm::storage {
class AlarmIndex;
class StorageQuota;
}  // namespace dorm::storage

namespace dorm::cluster {
class ClusterNode;
}  // namespace dorm::cluster

namespace dorm::runtime {

class AlarmScheduler;
class EnginePool;

struct RuntimeShared {
  RuntimeOptions options;
  ClassCatalog catalog;
  std::unique_ptr<storage::SyncPool> sync_pool;
  // Optional: closes idle connections off the event loops, after emptying their WAL (without it,
  // they are closed on the loop with their WAL as it is).
  std::unique_ptr<storage::DatabaseCloser> database_closer;
  std::unique_ptr<js::Watchdog> watchdog;
  // Optional: without them, setAlarm() still stores the alarm but nothing fires it.
  storage::AlarmIndex* alarm_index = nullptr;
  // Optional: the storage quotas (without it, databases may grow until the disk is full).
  storage::StorageQuota* storage_quota = nullptr;
  AlarmScheduler* alarm_scheduler = nullptr;
  // Cluster mode (`dorm serve --cluster`): objects are owned through PostgreSQL, restored from its
  // log on activation, and their commits are durable once in its log instead of on the local
  // disk. Null on the embedded default, which then never touches it.
  cluster::ClusterNode* cluster = nullptr;
  // The pool whose engines use this, set by the pool: how one object's call reaches another's
  // thread. Null for engines outside a pool (deploy checks), which cannot make calls.
  EnginePool* pool = nullptr;
  // Optional: bounds how many threads one app's long turns hold at once (without it, a tenant
  // may hold them all).
  std::unique_ptr<LongTurnLimit> long_turns;
  // Optional: which thread each object lives on (without it, every object stays on its home
  // thread, ObjectPlacement::HomeThread).
  std::unique_ptr<ObjectPlacement> placement;
  // Apps whose code crashed a previous runtime process, and until when they must not run (see
  // control/supervisor.h). Filled before the threads start.
  AppQuarantine quarantine;
  // Every app's live log (`dorm tail`): console output, uncaught exceptions and one line per
  // event. Its limits are set before the threads start.
  AppLogs app_logs;
  // Optional: the Cache API's store (without it, caches.default keeps nothing).
  std::unique_ptr<ResponseCache> response_cache;
  // Optional: serves a fetch() to one of this server's own `/_do/` URLs of the calling `app`
  // without a socket (set by the network front, which knows its addresses and checks the class's
  // access mode as for any client). Returns false when `request.url` is not such a URL; the
  // request then goes out as any other. Called on engine threads; when it returns true,
  // `respond` is called exactly once, on any loop thread.
  std::function<bool(const std::string& app, HttpRequestData& request,
                     std::function<void(HttpResponseData)>& respond)>
      local_fetch;
  // Cluster mode: sends a call between objects to `node`, at `addr`, which owns the callee (set
  // by the network front: net/peer_call.h). Called on loop `loop`'s thread; `done` runs exactly
  // once, on that thread.
  std::function<void(size_t loop, OutgoingCall call, std::string node, std::string addr,
                     ResponseCallback done)>
      peer_call;
  // Cluster mode: told that the alarm at `alarm_ms` of the object `key` (ObjectKey) failed and
  // will run again as retry `retry_count`, so that a node that takes the object goes on from
  // there (cluster::ClusterHousekeeping::NoteAlarmRetry). Called on engine threads; must not
  // block. Empty: retries are counted by this node alone.
  std::function<void(const std::string& key, long long alarm_ms, int retry_count)>
      cluster_alarm_retry;
  // Told of every uncaught error of an object (e.g. to show as a class's last error).
  std::function<void(const ObjectAddress&, const std::string& message)> on_uncaught_error;
  // Given each thread's last usage reading when CloseAll() has closed its objects (shutdown), so
  // that nothing counted is lost. Called on that thread.
  std::function<void(ThreadUsageReport)> on_final_usage;
};

}  // namespace dorm::runtime
