// The object runtime of one event-loop thread: the app isolates and live objects placed on the
// thread, event delivery through the input gate, write coalescing and commits, the output gate,
// timers, limits and eviction.
//
// Threading: every method must be called on the engine's thread (post to its io_context from
// elsewhere), except where noted. Callbacks given to the engine run on its thread.
#pragma once

#include <v8.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "js/watchdog.h"
#include "runtime/app_isolate.h"
#include "runtime/app_quarantine.h"
#include "runtime/class_catalog.h"
#include "runtime/http_message.h"
#include "runtime/long_turn_limit.h"
#include "runtime/object_instance.h"
#include "runtime/object_placement.h"
#include "runtime/options.h"
#include "runtime/runtime_shared.h"
#include "runtime/usage_meter.h"
#include "runtime/web_socket_registry.h"
#include "storage/alarm_index.h"
#include "storage/sync_pool.h"

namespace dorm::runtime {

// The messages Cloudflare gives when it resets objects.
extern const char kCpuLimitMessage[];
extern const char kEventTimeoutMessage[];
extern const char kMemoryLimitMessage[];
extern const char kCodeUpdatedMessage[];

// Where an object's database lives under the data folder.
std::string ObjectDatabasePath(const std::string& data_dir, const ObjectAddress& address);
// The folder holding every object database of one class.
std::string ClassStoragePath(const std::string& data_dir, const std::string& app,
                             const std::string& class_name);

class ThreadEngine {
 public:
  // `placement_thread` is this thread's index in shared.placement: every event routed to the
  // thread goes through ObjectPlacement::Route() with that index. -1: an engine that is never
  // routed events.
  ThreadEngine(boost::asio::io_context& io, RuntimeShared& shared, int placement_thread = -1);
  ~ThreadEngine();
  ThreadEngine(const ThreadEngine&) = delete;
  ThreadEngine& operator=(const ThreadEngine&) = delete;

  // Delivers an HTTP request to the object's fetch() handler; `done` gets the response once it may
  // be sent (after the writes it depends on are durable).
  void DispatchFetch(ObjectAddress address, HttpRequestData request, ResponseCallback done);

  // Runs the object's alarm handler (the scheduler's alarm for `scheduled_ms`, or a retry).
  void FireAlarm(ObjectAddress address, long long scheduled_ms, int retry_count);

  // Drops the app's isolate and objects if its code changed (or it was deleted); their in-flight
  // requests fail with kCodeUpdatedMessage.
  void RefreshApp(const std::string& app);

  // --- WebSockets: called by the network front, on this thread. ---
  // The handshake of socket `id` (from HttpResponseData::web_socket_id) completed. Returns false
  // if the object no longer wants the socket: the caller then closes the connection (1011).
  bool AttachWebSocket(uint64_t id, std::shared_ptr<WebSocketTransport> transport);
  // A complete message arrived (text is valid UTF-8).
  void OnWebSocketMessage(uint64_t id, bool text, std::string data);
  // The connection failed in a way the object should hear of (protocol error, message too big,
  // slow reader); OnWebSocketClosed follows.
  void OnWebSocketError(uint64_t id, const std::string& message);
  // The connection is gone: the peer's Close (`clean`, with its code, 1005 if it gave none) or a
  // failure (code 1006 unless the server chose one).
  void OnWebSocketClosed(uint64_t id, int code, const std::string& reason, bool clean);
  // Sockets this thread holds (open, closing, or with events not yet delivered).
  size_t WebSocketCount() const { return sockets_.size(); }

  // The usage meters since the previous reading (which they are reset to), the live objects
  // and WebSockets, isolate heaps and loop lag. CPU ticks are capped by the thread's actual CPU
  // time over the period, so time the thread spent descheduled in a turn is not charged.
  ThreadUsageReport ReadUsage();

  // This thread's slot in shared.long_turns (-1: none). Constant after construction.
  int long_turn_slot() const { return long_turn_slot_; }

  // Events delivered or queued, plus outputs and flushes not yet done.
  size_t OutstandingWork() const;
  // Evicts every object (closing its database) once nothing is outstanding. For shutdown.
  void CloseAll();

  // --- For AppIsolate and the natives (runtime thread only). ---
  // The live instance that `handle` (an object's slot number, passed from JavaScript) names, if
  // it is an object of `caller`'s app and the object whose turn is running now. Otherwise throws
  // an Error in the caller's isolate and returns nullptr. Every native that acts on an object
  // resolves its handle here: a slot number is guessable, so what makes it harmless is that it
  // can name nothing but the caller's own object (as workerd refuses I/O on behalf of another
  // object's request).
  ObjectInstance* ResolveObjectHandle(AppIsolate* caller, v8::Local<v8::Value> handle);
  // The socket that `handle` (a socket id from JavaScript) names, if it belongs to an object of
  // `caller`'s app; nullptr otherwise (nothing thrown: callers treat it as a socket that is gone).
  WebSocketRecord* ResolveSocketHandle(AppIsolate* caller, v8::Local<v8::Value> handle);
  static void OnPromiseReject(v8::PromiseRejectMessage message);
  static ThreadEngine* Current();

 private:
  friend class Natives;
  friend class SqlNatives;
  friend class WebSocketNatives;
  struct Timer {
    uint64_t id;
    AppIsolate* app;
    uint64_t slot;  // the object that created it, or 0
    bool repeat;
    std::chrono::milliseconds delay;
    v8::Global<v8::Function> callback;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  AppIsolate* AppFor(const std::shared_ptr<const AppCode>& code);
  // The isolate of the address's app, or nullptr with `class_exists` telling whether the class is
  // deployed (nullptr with class_exists true: the isolate could not start).
  AppIsolate* AppForClass(const ObjectAddress& address, bool* class_exists);
  // The live instance of an object, created (not yet constructed) when missing. nullptr if the
  // object is placed on another thread (see ObjectPlacement::Pin): it must not be created here.
  ObjectInstance* EnsureInstance(ObjectAddress address, AppIsolate* app);
  // An event that a router placed on this thread (ObjectPlacement::Route) for `key` arrived.
  void NoteArrived(const std::string& key);
  // Forgets the object's placement on this thread if nothing of it remains here (no instance, no
  // WebSocket, no database whose last flush failed), so that its next event may go to another
  // thread.
  void ReleasePlacementIfGone(const std::string& key);
  // FireAlarm() once the event's arrival is noted.
  void FireAlarmHere(ObjectAddress address, long long scheduled_ms, int retry_count);
  void DeliverAlarm(ObjectInstance* instance, FetchEvent event);
  void OnAlarmDone(const ObjectAddress& address, long long scheduled_ms, int retry_count, bool ok,
                   const std::string& error);
  void TouchAlarm(ObjectInstance* instance);
  ObjectInstance* FindBySlot(uint64_t slot);
  void Pump(uint64_t slot);
  void SchedulePump(uint64_t slot);
  // Whether a turn for `app` may start now (see LongTurnLimit); if not, the caller keeps the
  // work queued and retries after kLongTurnRetry.
  bool MayStartTurn(const AppIsolate* app) const;
  // Whether `app` had a long turn recently while other apps share the server (see
  // LongTurnLimit::Heavy).
  bool HeavyApp(const AppIsolate* app) const;
  // Pumps `slot` again, and resolves its sync waiters, once the app's long turns elsewhere may
  // have ended.
  void DeferPump(uint64_t slot);
  // Resolves the object's storage.sync() promises whose commits are durable, in a turn (deferred
  // while the app may not start one).
  void ResolveSyncWaiters(ObjectInstance* instance);
  // Pumps `slot` again after the work queued on this thread now (see owed_yield_tag_).
  void YieldPump(uint64_t slot);
  void Construct(ObjectInstance* instance);
  void Deliver(ObjectInstance* instance, FetchEvent event);
  // The wall-time meter's start of an event delivered now (0 when the object is not metered).
  uint64_t EventStart(const ObjectInstance* instance) const;
  // Queues `event` for the object, creating the instance (its constructor runs first) if needed.
  // Returns false if the class no longer exists (the event's `done`, if any, got a 404).
  bool DispatchEvent(ObjectAddress address, FetchEvent event);

  // WebSockets.
  void DeliverSocketEvent(ObjectInstance* instance, FetchEvent event);
  ObjectInstance* FindByKey(const std::string& object_key);
  // Sends now or, while commits made before it are not durable, after them.
  void SocketOutput(WebSocketRecord* record, ObjectInstance::GatedSocketOutput output);
  void PerformSocketOutput(const ObjectInstance::GatedSocketOutput& output);
  // Arms the object's hibernatable event timeout (ctx.setHibernatableWebSocketEventTimeout), if
  // it has one, for the socket event `event_id` just delivered: should the event still be running
  // when it expires, the object is reset and its sockets are closed with 1011 and
  // kEventTimeoutMessage. Settling the event disarms it.
  void StartEventTimeout(ObjectInstance* instance, uint64_t event_id,
                         const std::string& object_key);
  // Closes (with `code`) and forgets every socket of the objects `matches` selects by key.
  template <typename Predicate>
  void CloseSockets(Predicate&& matches, int code, const std::string& reason);
  void OnEventSettled(uint64_t slot, uint64_t event_id, bool fulfilled, v8::Local<v8::Value> value);

  // Runs `body` as one JavaScript turn on `app`: scopes, CPU watchdog, microtask checkpoint,
  // then the end-of-turn commit. Returns false if the app was reset during the turn (its
  // isolate may be gone: the caller must not use `app` or its objects' pointers again).
  template <typename Body>
  bool RunTurn(AppIsolate* app, Body&& body);
  void ReportUnhandledRejections(AppIsolate* app);

  // Storage.
  storage::ObjectDatabase* Database(ObjectInstance* instance, bool create);
  void MarkWritten(ObjectInstance* instance);
  void CommitDirty();
  void ScheduleSync(ObjectInstance* instance);
  void FlushSyncBatch();
  // Writes the alarm index changes of this thread's recent commits in one transaction; runs
  // before any flush that must include them (FlushSyncBatch) and at the latest one loop
  // iteration after the commit.
  void ApplyAlarmIndexChanges();
  void OnSynced(uint64_t slot, uint64_t seq, bool ok, const std::string& error);
  uint64_t RequiredSeq(ObjectInstance* instance) const;
  void Emit(ObjectInstance* instance, HttpResponseData response, ResponseCallback done);
  void ReleaseGated(ObjectInstance* instance);
  void TouchOpenList(ObjectInstance* instance);
  void CloseDatabase(ObjectInstance* instance);

  // Resets.
  void BreakInstance(ObjectInstance* instance, const std::string& message);
  void ResetApp(AppIsolate* app, const std::string& message, bool dispose_isolate);
  void DestroyLater(std::unique_ptr<ObjectInstance> instance);
  // Frees the graveyard and the doomed apps in a task posted after the current one, once.
  void PostCleanup();

  // Timers and eviction.
  uint64_t AddTimer(AppIsolate* app, v8::Local<v8::Function> callback, double delay_ms,
                    bool repeat);
  void ArmTimer(Timer* timer);
  void FireTimer(uint64_t id);
  // Cancels timer `id` if it belongs to `app` (ids are guessable: one app cannot cancel
  // another's timers).
  void ClearTimer(AppIsolate* app, uint64_t id);
  void EvictIdle();
  // Whether the object's alarm (as of its last commit) is due within a few seconds of now.
  static bool AlarmDueSoon(const ObjectInstance* instance, long long now_ms);

  boost::asio::io_context& io_;
  RuntimeShared& shared_;
  js::Watchdog::Slot* watchdog_slot_;
  int long_turn_slot_ = -1;    // this thread's slot in shared_.long_turns
  int placement_thread_ = -1;  // this thread's index in shared_.placement
  std::set<uint64_t> deferred_pumps_;
  // After a long turn of an app (tag) on this thread, that app's next turns here go behind the
  // work already queued on the thread, once: a tenant whose events each run long cannot keep
  // other apps' objects on this thread waiting for more than one of its turns. 0: none owed.
  uint64_t owed_yield_tag_ = 0;
  bool yield_marker_posted_ = false;
  int64_t turn_began_ns_ = 0;  // the outermost turn's start, steady clock
  // Since when a heavy app's turn has waited for this thread's flushes; 0: none waiting.
  int64_t heavy_waiting_since_ns_ = 0;
  boost::asio::steady_timer deferred_pump_timer_;
  bool deferred_pump_armed_ = false;
  std::map<std::string, std::unique_ptr<AppIsolate>> apps_;
  std::vector<std::unique_ptr<AppIsolate>> doomed_apps_;
  std::unordered_map<std::string, std::unique_ptr<ObjectInstance>> objects_;
  std::unordered_map<uint64_t, ObjectInstance*> by_slot_;
  std::vector<std::unique_ptr<ObjectInstance>> graveyard_;
  std::set<uint64_t> dirty_;
  std::list<ObjectInstance*> open_databases_;
  size_t open_database_count_ = 0;
  struct PendingSync {
    uint64_t slot;
    uint64_t seq;
    std::unique_ptr<storage::SyncTarget> target;
  };
  std::vector<PendingSync> sync_batch_;
  // Databases whose last flush failed. The commits it carried are in the WAL, neither confirmed
  // durable nor removed: their outcome is unknown. Until a flush of the whole WAL succeeds, the
  // object reopening such a database counts its existing content as one more commit not yet
  // durable, so nothing built on top of it is acknowledged before it is durable.
  std::set<std::string> unconfirmed_paths_;
  // Alarm index changes committed but not yet written to the index, with their objects' slots.
  std::vector<storage::AlarmChange> alarm_index_changes_;
  std::vector<uint64_t> alarm_index_change_slots_;
  bool alarm_index_apply_posted_ = false;
  size_t syncs_in_flight_ = 0;
  std::map<uint64_t, std::unique_ptr<Timer>> timers_;
  WebSocketRegistry sockets_;
  // The last string sent on a WebSocket in this turn and its UTF-8, so that a broadcast converts
  // and copies a message once, not once per recipient.
  v8::Global<v8::String> last_sent_string_;
  SharedPayload last_sent_payload_;
  uint64_t next_slot_ = 1;
  uint64_t next_event_id_ = 1;
  uint64_t next_timer_id_ = 1;
  uint64_t current_slot_ = 0;
  int turn_depth_ = 0;
  bool cleanup_posted_ = false;
  std::vector<std::pair<AppIsolate*, v8::Global<v8::Promise>>> rejected_promises_;
  // Objects whose construction failed recently: until `retry_at`, their events fail at once with
  // `message` instead of constructing the object again (a constructor that always throws, runs
  // out of CPU or whose blockConcurrencyWhile() callback throws would otherwise be retried as
  // fast as events arrive). The delay doubles with each consecutive failure, up to a cap; a
  // delivered event clears the entry.
  struct ConstructionFailure {
    int failures = 0;
    std::chrono::steady_clock::time_point retry_at;
    std::string message;
  };
  std::unordered_map<std::string, ConstructionFailure> construction_failures_;
  // Records a failed construction of `instance` and fails `waiting` (its queued events).
  void FailConstruction(ObjectInstance* instance, const std::string& message,
                        std::deque<FetchEvent> waiting);
  // Fails `event` if its object's construction failed too recently to try again.
  bool RefuseDuringBackoff(const ObjectAddress& address, FetchEvent& event);
  // When each app's isolate last had a live object or timer on this thread. An isolate idle
  // for the eviction period is disposed (it costs megabytes); the next event creates it again.
  std::map<std::string, std::chrono::steady_clock::time_point> app_busy_at_;
  void DisposeIdleApps(std::chrono::steady_clock::time_point now);
  boost::asio::steady_timer eviction_timer_;
  bool release_memory_ = false;  // objects were evicted since the last release
  // Usage metering (see ReadUsage).
  UsageMeter usage_;
  bool metering_;
  long long thread_cpu_ns_at_read_ = 0;
  // Event-loop lag: the eviction timer's lateness, as maxima of the current and the previous
  // five-second window.
  bool eviction_armed_ = false;
  std::chrono::steady_clock::time_point lag_window_start_;
  std::chrono::steady_clock::duration lag_max_current_{}, lag_max_previous_{};
  std::chrono::steady_clock::time_point last_memory_release_;
};

}  // namespace dorm::runtime
