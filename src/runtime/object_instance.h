// The in-memory state of one live Durable Object on its runtime thread.
//
// Owned by ThreadEngine; touched only on that thread. JavaScript refers to an instance by its
// `slot` number, never by pointer, so a reset instance can never be reached from JS again.
#pragma once

#include <v8.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/http_message.h"
#include "runtime/object_address.h"
#include "runtime/usage_meter.h"
#include "runtime/web_socket_transport.h"
#include "storage/object_database.h"

namespace dorm::runtime {

class AppIsolate;

// Something that happened on one of the object's WebSockets.
struct SocketEvent {
  enum class Kind { kMessage, kClose, kError };
  Kind kind = Kind::kMessage;
  uint64_t socket_id = 0;
  bool text = false;
  std::string data;  // the message, the close reason, or the error's message
  int code = 0;      // kClose: the close code (1005 when the peer gave none, 1006 when no Close)
  bool was_clean = false;
};

struct FetchEvent {
  HttpRequestData request;
  // Empty for events nobody answers (WebSocket events).
  ResponseCallback done;
  // An alarm event instead of a request: calls alarm({retryCount, isRetry}).
  bool alarm = false;
  int alarm_retry = 0;
  // A WebSocket event instead of a request: calls the socket's listeners or the class's
  // webSocketMessage/Close/Error handler.
  std::optional<SocketEvent> socket;
};

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
  // Thread CPU time spent in this object's timer callbacks since its last delivered event. Timers
  // run under the object's CPU limit: past it, the object is reset.
  long long timer_cpu_ns = 0;

  // Storage. `db` is opened on first use and may be closed again when cold (see the engine's
  // LRU); `db_absent` records that no database exists yet, so reads need not look again.
  std::unique_ptr<storage::ObjectDatabase> db;
  bool db_absent = false;
  bool in_open_list = false;
  std::list<ObjectInstance*>::iterator open_list_position;
  int txn_depth = 0;  // storage.transaction()/transactionSync() nesting

  // Input gate: blockConcurrencyWhile() nesting. Events wait in `queued` while it is non-zero.
  int gate_depth = 0;
  std::deque<FetchEvent> queued;
  struct InFlightEvent {
    ResponseCallback done;
    uint64_t started = 0;  // CycleClock ticks at delivery, for the wall-time meter (0: unmetered)
  };
  std::map<uint64_t, InFlightEvent> in_flight;  // delivered, awaiting the handler's promise
  // Hibernatable socket events running under the object's event timeout, by event id.
  std::map<uint64_t, std::unique_ptr<boost::asio::steady_timer>> event_timeouts;

  // Output gate: commits are numbered; an output made while commit N is not durable waits.
  uint64_t commit_seq = 0;
  uint64_t durable_seq = 0;
  bool sync_in_flight = false;
  bool sync_again = false;
  struct GatedOutput {
    uint64_t required_seq;
    HttpResponseData response;
    ResponseCallback done;
  };
  std::vector<GatedOutput> gated;
  // WebSocket sends and closes, in call order, each waiting for the commits made before it.
  struct GatedSocketOutput {
    uint64_t required_seq;
    uint64_t socket_id;
    bool close;
    bool text;
    SharedPayload payload;  // the message, or the close reason
    int code;
  };
  std::vector<GatedSocketOutput> gated_socket_outputs;
  // storage.sync() promises waiting for a commit to become durable.
  std::vector<std::pair<uint64_t, v8::Global<v8::Promise::Resolver>>> sync_waiters;

  std::chrono::steady_clock::time_point last_active;
  std::chrono::steady_clock::time_point last_storage_use;

  // Alarms. `alarm_touched`: the open transaction may have changed the alarm, so its commit must
  // update the alarm index (and flush it with the commit: `flush_alarm_index`).
  bool alarm_touched = false;
  bool flush_alarm_index = false;
  std::optional<long long> stored_alarm;   // the alarm as of this instance's last commit
  std::optional<long long> running_alarm;  // the alarm whose handler runs now
  uint64_t alarm_event_id = 0;             // its event
  bool alarm_set_during_run = false;
};

}  // namespace dorm::runtime
