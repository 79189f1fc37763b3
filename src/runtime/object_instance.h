// The in-memory state of one live Durable Object on its runtime thread.
//
// Owned by ThreadEngine; touched only on that thread. JavaScript refers to an instance by its
// `slot` number, never by pointer, so a reset instance can never be reached from JS again. The
// state machines live in their own classes (InputGate, OutputGate, ObjectAlarm); this struct only
// gathers them with the JavaScript handles and the database connection.
#pragma once

#include <v8.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "cluster/commit_frames.h"
#include "runtime/input_gate.h"
#include "runtime/object_address.h"
#include "runtime/object_alarm.h"
#include "runtime/output_gate.h"
#include "runtime/rpc_charge.h"
#include "runtime/tail_line.h"
#include "runtime/usage_meter.h"
#include "storage/object_database.h"

namespace dorm::runtime {

class AppIsolate;
class OpenDatabaseList;

struct ObjectInstance {
  uint64_t slot = 0;
  ObjectAddress address;
  std::string db_path;
  AppIsolate* app = nullptr;
  uint64_t generation = 0;
  // The object's usage counters in its thread's UsageMeter; null when metering is off or once
  // the instance is reset.
  ObjectUsage* usage = nullptr;

  // JavaScript side; empty until the constructor has run.
  v8::Global<v8::Object> js_object;
  v8::Global<v8::Object> js_state;  // its DurableObjectState (`ctx`)
  bool constructed = false;
  // Construction has begun (the constructor ran, maybe with a blockConcurrencyWhile() still
  // holding the gate) but no event has been delivered yet. A reset in this state is a failed
  // construction: the events waiting for it fail instead of going to a fresh instance, which
  // would only construct (and fail) again, endlessly.
  bool construction_started = false;
  bool delivered_any = false;
  // The Worker's instance: a check for its hung requests is posted
  // (thread_engine_hung_requests.cc).
  bool hung_check_posted = false;
  // Thread CPU time spent in this object's timer callbacks since its last delivered event. Timers
  // run under the object's CPU limit: past it, the object is reset.
  long long timer_cpu_ns = 0;

  // Storage. `db` is opened on first use and may be closed again when cold (see
  // OpenDatabaseList); `db_absent` records that no database exists yet, so reads need not look
  // again.
  std::unique_ptr<storage::ObjectDatabase> db;
  bool db_absent = false;
  // Cluster mode: the transactions committed since the last flush was sent, as the WAL capture
  // reported them (cluster/wal_capture_vfs.h); the next flush ships them as one log row.
  std::vector<cluster::CapturedCommit> captured;
  // Cluster mode: the alarm as the latest of those transactions left it, when any of them set or
  // deleted it (nullopt inside: deleted); the next flush writes it to `alarms` with its log row.
  std::optional<std::optional<long long>> captured_alarm;
  // The list of the thread's connections that holds `db` (those with both descriptors, with their
  // log's only, or the parked ones; see OpenDatabaseList), and its place there.
  OpenDatabaseList* database_list = nullptr;
  // Connections opened (or taken back from the closer) for this instance so far: from the second
  // on, idle connections of it stay open longer (EvictionPolicy::CanCloseConnection).
  int database_opens = 0;
  std::list<ObjectInstance*>::iterator database_list_position;
  int txn_depth = 0;  // storage.transaction()/transactionSync() nesting
  // A flush was asked for while `db`'s image was pending (ObjectDatabase::image_pending): it is
  // queued once the image sync comes back (ThreadEngine::OnImageSynced).
  bool flush_waits_for_image = false;
  // Whether the open transaction holds writes not yet committed (outputs made now wait for the
  // commit that will make them durable).
  bool uncommitted_writes() const { return db && db->in_transaction(); }

  InputGate input;
  OutputGate output;
  ObjectAlarm alarm;

  struct InFlightEvent {
    ResponseCallback done;  // empty for socket events
    uint64_t started = 0;   // CycleClock ticks at delivery, for the wall-time meter (0: unmetered)
    bool rpc = false;       // an RPC call: its outcome is answered as an RPC message
    bool foreign = false;   // an RPC call from another app (RpcEvent::foreign_caller)
    bool stream_body = false;      // HttpEvent::stream_body
    uint64_t response_stream = 0;  // the body stream its response opened (OpenResponseStream)
    uint64_t request_body = 0;     // the stub body its request streams in (a stub's fetch())
    // A stub's fetch(): its caller's count of the request's bytes (HttpEvent::charge), which the
    // handler may hold until it settles.
    std::shared_ptr<const RpcCharge> charge;
    // HttpEvent::local_call: the call of this thread that made this request.
    uint64_t local_call = 0;
    // For its line in the app's live log (runtime/app_log.h): what it was, and when it began
    // (CycleClock ticks).
    TailKind tail_kind = TailKind::kRequest;
    int tail_code = 0;        // a WebSocket close's code
    std::string tail_method;  // HTTP method, RPC method name
    std::string tail_path;    // HTTP path and query
    uint64_t tail_start = 0;
  };
  std::map<uint64_t, InFlightEvent> in_flight;  // delivered, awaiting the handler's promise
  // Streamed response bodies still being produced (ThreadEngine::response_streams_ ids): like an
  // event in flight, they keep the object from being evicted.
  std::vector<uint64_t> response_streams;
  // Streamed bodies of its stubs' fetch() answers it has not finished reading
  // (ThreadEngine::stub_bodies_): they keep the object from being evicted too.
  size_t stub_bodies = 0;
  // Hibernatable socket events running under the object's event timeout, by event id.
  std::map<uint64_t, std::unique_ptr<boost::asio::steady_timer>> event_timeouts;
  // storage.sync() promises, by their OutputGate waiter id.
  std::unordered_map<uint64_t, v8::Global<v8::Promise::Resolver>> sync_resolvers;

  std::chrono::steady_clock::time_point last_active;
  std::chrono::steady_clock::time_point last_storage_use;
};

}  // namespace dorm::runtime
