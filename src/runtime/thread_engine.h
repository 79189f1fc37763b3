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
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cluster/cluster_node.h"
#include "js/watchdog.h"
#include "runtime/app_counted_map.h"
#include "runtime/app_isolate.h"
#include "runtime/app_quarantine.h"
#include "runtime/class_catalog.h"
#include "runtime/construction_backoff.h"
#include "runtime/eviction_policy.h"
#include "runtime/forwarded_sockets.h"
#include "runtime/http_message.h"
#include "runtime/long_turn_limit.h"
#include "runtime/loop_lag_meter.h"
#include "runtime/object_event.h"
#include "runtime/object_host.h"
#include "runtime/object_instance.h"
#include "runtime/object_placement.h"
#include "runtime/open_database_list.h"
#include "runtime/options.h"
#include "runtime/reset_reason.h"
#include "runtime/response_stream.h"
#include "runtime/rpc_charge.h"
#include "runtime/runtime_shared.h"
#include "runtime/usage_meter.h"
#include "runtime/web_socket_registry.h"
#include "storage/alarm_index.h"
#include "storage/sync_pool.h"
#include "util/function_ref.h"
#include "util/unique_task.h"

namespace dorm::outbound {
class HttpClient;
}  // namespace dorm::outbound

namespace dorm::runtime {

// The files of the implementation, by concern: thread_engine.cc (turns, dispatch, delivery,
// resets), thread_engine_alarms.cc, thread_engine_storage.cc (databases, commits, flushes, the
// output gate's releases), thread_engine_timers.cc (timers, eviction, shutdown),
// thread_engine_web_sockets.cc, thread_engine_calls.cc (calls between objects) and
// thread_engine_usage.cc.
class ThreadEngine final : public ObjectHost {
 public:
  // `placement_thread` is this thread's index in shared.placement: every event routed to the
  // thread goes through ObjectPlacement::Route() with that index. -1: an engine that is never
  // routed events.
  ThreadEngine(boost::asio::io_context& io, RuntimeShared& shared, int placement_thread = -1);
  ~ThreadEngine() override;
  ThreadEngine(const ThreadEngine&) = delete;
  ThreadEngine& operator=(const ThreadEngine&) = delete;

  // Delivers an HTTP request to the object's fetch() handler; `done` gets the response once it may
  // be sent (after the writes it depends on are durable).
  void DispatchFetch(ObjectAddress address, HttpRequestData request, ResponseCallback done);

  // Delivers an HTTP request to `app`'s Worker (kWorkerClassName), served on this thread by an
  // instance of its own: a Worker is stateless, and no router places it.
  void DispatchWorkerFetch(std::string app, HttpRequestData request, ResponseCallback done);

  // Delivers an event another object's call sent (EnginePool::DispatchCall): an HTTP request for
  // fetch() or an RPC call, answered through the output gate like a request.
  void DispatchCall(ObjectAddress address, ObjectEvent event);
  // The answer to call `call_id`, which an object of this thread made (CallObject), arrived.
  void CompleteCall(uint64_t call_id, HttpResponseData answer);

  // Queues `task` to run on this thread after the current io_context handler, in order with the
  // other tasks queued here (never inside a turn). Calls and answers between objects of this
  // thread go through it: a chain of them runs from one handler instead of polling the reactor
  // at every step; after kSoonBudget tasks or kSoonSlice the rest waits behind the thread's other
  // work. Call on this engine's thread only.
  void RunSoon(UniqueTask task);

  // Runs the object's alarm handler (the scheduler's alarm for `scheduled_ms`, or a retry).
  void FireAlarm(ObjectAddress address, long long scheduled_ms, int retry_count);
  // The object's alarm is due soon: opens its database now, while the thread has time, so that
  // the fire does not pay for it in a burst. Changes nothing visible; skipped in cluster mode
  // and when this thread already holds half its limit of open connections.
  void WarmForAlarm(ObjectAddress address);

  // Drops the app's isolate and objects if its code changed (or it was deleted); their in-flight
  // requests fail with kCodeUpdatedMessage.
  void RefreshApp(const std::string& app);

  // Cluster mode: this node's lease was lost. Every object of the thread is reset (its callers
  // get a retryable error) and every ownership forgotten: serving one again takes it anew.
  void DropClusterObjects();
  // Cluster mode: this node is draining and hands its objects over while it keeps running (as a
  // forwarder). Every object of the thread is closed (callers still waiting get the retryable
  // "no longer owns it"; a drain first waits for them), every WebSocket is closed with 1012
  // (service restart: the client reconnects through any node, reaching the new owner), and
  // every ownership forgotten.
  void HandOverClusterObjects();

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

  // --- ObjectHost (see object_host.h). ---
  ObjectInstance* ResolveObjectHandle(AppIsolate* caller, v8::Local<v8::Value> handle) override;
  WebSocketRecord* ResolveSocketHandle(AppIsolate* caller, v8::Local<v8::Value> handle) override;
  ObjectInstance* FindObjectOfApp(AppIsolate* caller, uint64_t slot) override;
  ObjectInstance* CurrentObject() override { return FindBySlot(current_slot_); }
  storage::ObjectDatabase* Database(ObjectInstance* instance, bool create) override;
  void MarkWritten(ObjectInstance* instance) override { dirty_.insert(instance->slot); }
  void NoteAlarmChanged(ObjectInstance* instance) override;
  void OnEventSettled(ObjectInstance* instance, uint64_t event_id, bool fulfilled,
                      v8::Local<v8::Value> value) override;
  void InputGateOpened(ObjectInstance* instance) override { SchedulePump(instance->slot); }
  uint64_t OpenResponseStream(ObjectInstance* instance, uint64_t event_id, int64_t length) override;
  int ResponseStreamChunk(AppIsolate* caller, uint64_t id, std::string bytes) override;
  void EndResponseStream(AppIsolate* caller, uint64_t id, bool ok,
                         ResponseStream::Failure failure) override;
  std::optional<ResponseStream::Taken> TakeStubBody(AppIsolate* caller, uint64_t id) override;
  void CancelStubBody(AppIsolate* caller, uint64_t id) override;
  uint64_t OpenRequestBody(AppIsolate* caller) override;
  std::shared_ptr<ResponseStream> TakeRequestBody(AppIsolate* caller, uint64_t id) override;
  int RequestBodyChunk(AppIsolate* caller, uint64_t id, std::string bytes) override;
  void EndRequestBody(AppIsolate* caller, uint64_t id, bool ok, bool connection_lost) override;
  uint64_t OpenRpcSink(AppIsolate* caller) override;
  std::shared_ptr<ResponseStream> TakeRpcSink(AppIsolate* caller, uint64_t id) override;
  void Reset(ObjectInstance* instance, ResetReason reason, const std::string& message) override {
    BreakInstance(instance, reason, message);
  }
  void CallObject(AppIsolate* caller, OutgoingCall call,
                  v8::Local<v8::Promise::Resolver> resolver) override;
  uint64_t FetchOutbound(AppIsolate* caller, outbound::ExchangeRequest request,
                         v8::Local<v8::Promise::Resolver> resolver) override;
  void CancelFetch(AppIsolate* caller, uint64_t id) override;
  void ReadFetchBody(AppIsolate* caller, uint64_t id,
                     v8::Local<v8::Promise::Resolver> resolver) override;
  v8::Local<v8::Value> WriteFetchBody(AppIsolate* caller, uint64_t id,
                                      std::string_view bytes) override;
  void EndFetchBody(AppIsolate* caller, uint64_t id, bool ok) override;
  uint64_t ConnectWebSocket(AppIsolate* caller, outbound::WebSocketRequest request,
                            v8::Local<v8::Promise::Resolver> resolver) override;
  void ReadWebSocket(AppIsolate* caller, uint64_t id) override;
  ResponseCache* response_cache() override { return shared_.response_cache.get(); }
  uint64_t AddTimer(AppIsolate* caller, v8::Local<v8::Function> callback, double delay_ms,
                    bool repeat) override;
  void ClearTimer(AppIsolate* caller, uint64_t id) override;
  WebSocketRegistry& web_sockets() override { return sockets_; }
  void SendOnSocket(WebSocketRecord* record, OutputGate::SocketOutput output) override;
  SharedPayload PayloadOf(v8::Isolate* isolate, v8::Local<v8::String> text) override;
  void OnPromiseReject(AppIsolate* app, v8::PromiseRejectMessage& message) override;

 private:
  // The caller's side of a stub's fetch() answer whose body streams (AdoptStubBody).
  struct StubBody {
    AppIsolate* app = nullptr;
    uint64_t slot = 0;  // the calling object (0: none): an open body keeps it from eviction
    std::shared_ptr<ResponseStream> stream;
    bool pins = true;       // counted in the object's ObjectInstance::stub_bodies
    bool attached = false;  // a request body or an RPC sink: a call took it
  };
  struct Timer {
    uint64_t id;
    AppIsolate* app;
    uint64_t slot;  // the object that created it, or 0
    bool repeat;
    std::chrono::milliseconds delay;
    v8::Global<v8::Function> callback;
    std::unique_ptr<boost::asio::steady_timer> timer;
  };

  // --- Dispatch (thread_engine.cc) ---
  AppIsolate* AppFor(const std::shared_ptr<const AppCode>& code);
  // The isolate of the address's app, or nullptr with `class_exists` telling whether the class is
  // deployed (nullptr with class_exists true: the isolate could not start).
  AppIsolate* AppForClass(const ObjectAddress& address, bool* class_exists);
  // The live instance of an object, created (not yet constructed) when missing. nullptr if the
  // object is placed on another thread (see ObjectPlacement::Pin): it must not be created here.
  ObjectInstance* EnsureInstance(ObjectAddress address, AppIsolate* app);
  ObjectInstance* FindBySlot(uint64_t slot);
  ObjectInstance* FindByKey(const std::string& object_key);
  // An event that a router placed on this thread (ObjectPlacement::Route) for `key` arrived.
  void NoteArrived(const std::string& key);
  // Forgets the object's placement on this thread if nothing of it remains here (no instance, no
  // WebSocket, no database whose last flush failed), so that its next event may go to another
  // thread.
  void ReleasePlacementIfGone(const std::string& key);
  // Queues `event` for the object, creating the instance (its constructor runs first) if needed.
  // Returns false if the class no longer exists (the event's waiter, if any, got a 404).
  bool DispatchEvent(ObjectAddress address, ObjectEvent event);
  // Fails `event` if its object's construction failed too recently to try again.
  bool RefuseDuringBackoff(const ObjectAddress& address, ObjectEvent& event);
  void Pump(uint64_t slot);
  void SchedulePump(uint64_t slot);
  // Whether a turn for `app` may start now (see LongTurnLimit); if not, the caller keeps the
  // work queued and retries after kLongTurnRetry.
  bool MayStartTurn(const AppIsolate* app) const;
  // Whether `app` is still this thread's isolate of its app (not reset or replaced since): a
  // promise of an isolate that is not is never settled.
  bool IsCurrentIsolate(const AppIsolate* app) const;
  // Runs `retry` on this loop 10 ms from now: settling a caller's promise (a call's answer, a
  // fetch's outcome) waits so while its app may not start a turn.
  void RetrySettleSoon(std::function<void()> retry);
  // Whether `app` had a long turn recently while other apps share the server (see
  // LongTurnLimit::Heavy).
  bool HeavyApp(const AppIsolate* app) const;
  // Pumps `slot` again, and resolves its sync waiters, once the app's long turns elsewhere may
  // have ended.
  void DeferPump(uint64_t slot);
  // Pumps `slot` again after the work queued on this thread now (see owed_yield_tag_).
  void YieldPump(uint64_t slot);
  void Construct(ObjectInstance* instance);
  // Registers an event being delivered (for its outcome and the meters); returns its id.
  uint64_t BeginEvent(ObjectInstance* instance, ResponseCallback done);
  void Deliver(ObjectInstance* instance, HttpEvent event);
  // OnEventSettled() for the object in `slot`, if it is still live (a turn may have reset it).
  void SettleBySlot(uint64_t slot, uint64_t event_id, bool fulfilled, v8::Local<v8::Value> value);

  // --- Hung Worker requests (thread_engine_hung_requests.cc) ---
  // After an outermost turn run for the object in `slot`: when it is the Worker's instance and
  // has a request whose promise is unsettled, posts CancelHungRequests(slot) (once at a time).
  void NoteTurnEnded(uint64_t slot);
  // Answers the unsettled requests of the Worker's instance in `slot` with workerd's 500 for a
  // hung Worker when AppIdle says nothing could settle them any more; otherwise does nothing
  // (the next turn of the Worker checks again).
  void CancelHungRequests(uint64_t slot);
  // Whether nothing on this thread could still run code of `app` that settles a promise of
  // `worker` (its instance): no timer, call, fetch, socket or body of the app's, no event queued
  // or in flight at another of its objects. Conservative: anything that might is counted.
  bool AppIdle(const AppIsolate* app, ObjectInstance* worker);
  // The instances of `app`'s Worker on this thread whose requests are judged together: `worker`,
  // and the one its service binding calls to itself reach.
  std::vector<ObjectInstance*> WorkerInstances(const AppIsolate* app, ObjectInstance* worker);
  // Objects of each app that may hold an event, a body or a socket (maybe_busy_): AppIdle visits
  // only these, and drops those it finds idle.
  void NoteObjectBusy(const ObjectInstance* instance) override;
  // How many of `app`'s calls on this thread wait on requests that `workers` run now: calls the
  // Worker made to itself. O(requests in flight at workers).
  size_t CallsToItself(const AppIsolate* app, const std::vector<ObjectInstance*>& workers) const;
  // The wall-time meter's start of an event delivered now (0 when the object is not metered).
  uint64_t EventStart(const ObjectInstance* instance) const;

  // Runs `body` as one JavaScript turn on `app`: scopes, CPU watchdog, microtask checkpoint,
  // then the end-of-turn commit. Returns false if the app was reset during the turn (its
  // isolate may be gone: the caller must not use `app` or its objects' pointers again).
  bool RunTurn(AppIsolate* app, FunctionRef<void()> body);
  void ReportUnhandledRejections(AppIsolate* app);

  // --- The live log (thread_engine_tail.cc) ---
  // Records the line of an event that ended with `status` (0 for WebSocket events) in its app's
  // log; `error` says why it failed when the object was reset under it.
  void TailEvent(ObjectInstance* instance, const ObjectInstance::InFlightEvent& event,
                 bool fulfilled, bool alarm, int status, std::string_view error = {});
  // Records an uncaught exception (`text` is what the server log says) of `instance` (null: of no
  // object) in the log of `app`.
  void TailException(AppIsolate* app, ObjectInstance* instance, const std::string& text);

  // --- Resets (thread_engine.cc) ---
  void BreakInstance(ObjectInstance* instance, ResetReason reason, const std::string& message = {});
  void ResetApp(AppIsolate* app, ResetReason reason);
  void DestroyLater(std::unique_ptr<ObjectInstance> instance);
  // Frees the graveyard and the doomed apps in a task posted after the current one, once.
  void PostCleanup();
  // Records a failed construction of `instance` and fails `waiting` (its queued events).
  void FailConstruction(ObjectInstance* instance, const std::string& message,
                        std::list<ObjectEvent> waiting);

  // --- Alarms (thread_engine_alarms.cc) ---
  // FireAlarm() once the event's arrival is noted.
  void FireAlarmHere(ObjectAddress address, long long scheduled_ms, int retry_count);
  void DeliverAlarm(ObjectInstance* instance, AlarmEvent event);
  void OnAlarmDone(const ObjectAddress& address, long long scheduled_ms, int retry_count, bool ok,
                   const std::string& error);
  // The object's alarm as committed: from ObjectAlarm while its connection is closed and the
  // value is known, else read from the database (opening it). Throws StorageError.
  std::optional<long long> StoredAlarm(ObjectInstance* instance);
  // The outcome of a successful alarm handler, to be sent once its writes are durable.
  HttpResponseData FinishAlarmHandler(ObjectInstance* instance);
  // The object's database file was just replaced (an import) by one that stores `alarm`: the
  // alarm index and the scheduler learn it (none: the old file's alarm is forgotten), so it fires
  // at its time, at once when already past, without waiting for the object to set one. The index
  // change is flushed before this returns. Returns "" or why the index could not be written (the
  // new file is in place either way). On the object's thread.
  std::string AdoptReplacedAlarm(const ObjectAddress& address, std::optional<long long> alarm);

  // --- The storage browser (thread_engine_storage_commands.cc) ---
  // Runs an operator's storage command on the object, between its turns; the answer leaves once
  // the command's writes are durable.
  void DeliverStorageCommand(ObjectInstance* instance, StorageCommandEvent event);
  // A snapshot or replacement of the object's database file (StorageCommand::on_file), between
  // turns, without running the object's code (thread_engine_database_files.cc).
  void DeliverDatabaseFileCommand(ObjectInstance* instance, StorageCommandEvent event);

  // --- Calls between objects (thread_engine_calls.cc) ---
  void DeliverRpc(ObjectInstance* instance, RpcEvent event);
  // The callback that takes call `call_id`'s answer on the callee's thread (`loop`) and posts it
  // to this engine's thread (`home`), where CompleteCall settles it.
  static ResponseCallback Answerer(EnginePool* pool, size_t home, size_t loop, uint64_t call_id);
  // Hands call `call_id` (made on loop `home`) to its callee's loop; `answered` (default:
  // Answerer) gets the answer there. Any thread.
  static void SendLocalCall(EnginePool* pool, size_t home, uint64_t call_id, bool foreign,
                            OutgoingCall call, ResponseCallback answered);
  // --- Cluster mode (thread_engine_peer_calls.cc) ---
  // Sends call `call_id` where the cluster serves its callee: to its loop here, or to the node
  // that owns it (RuntimeShared::peer_call). Asks the cluster's directory without blocking. On
  // loop `home`'s thread.
  static void RouteClusterCall(EnginePool* pool, size_t home, uint64_t call_id, OutgoingCall call);
  // Sends call `call_id`, a call on what the Worker's instance on node `node` (another node)
  // exported, to that node; fails it retryably if the node is not live. On loop `home`'s thread.
  static void RouteWorkerCall(EnginePool* pool, size_t home, uint64_t call_id, OutgoingCall call,
                              const std::string& node);
  // The answer to an RPC event whose handler settled with `value`: the structured-clone bytes
  // (an ArrayBuffer) of the result or of the thrown value (see js/runtime/deliver.js).
  // `foreign_caller`: the call came from another app, which may not receive references.
  HttpResponseData RpcAnswer(AppIsolate* app, bool fulfilled, v8::Local<v8::Value> value,
                             bool foreign_caller);
  // Forgets the calls `app` made (before its isolate is destroyed): they are never settled.
  void DropOutgoingCalls(AppIsolate* app);

  // --- Storage and the output gate (thread_engine_storage.cc) ---
  void CommitDirty();
  void RequestFlush(ObjectInstance* instance);
  // Adds `instance`'s commits so far to the batch of the next flush (RequestFlush, once the
  // output gate started a flush and nothing else holds it back).
  void QueueFlush(ObjectInstance* instance);
  void FlushSyncBatch();
  // A new database's image is synced by the flush pool, batched as commits are, before its held
  // log is written out (storage::ObjectDatabase::image_pending).
  void QueueImageSync(ObjectInstance* instance);
  void FlushImageBatch();
  void OnImageSynced(uint64_t slot, bool ok, const std::string& error);
  // One object's entry in a batch for the flush pool: its target, and whose it is.
  struct PendingSync {
    uint64_t slot;
    uint64_t seq;  // the commit a flush covers (0 for an image's sync)
    std::unique_ptr<storage::SyncTarget> target;
  };
  // What is left of a PendingSync once its target went to the pool.
  struct SubmittedSync {
    uint64_t slot;
    uint64_t seq;
  };
  // Takes `batch` to the flush pool in one submission, whose outcomes come back in one handler:
  // `done(SubmittedSync, SyncOutcome)` then runs on this thread for each entry, in order. With
  // work spread over many objects, a submission and a completion per object made each flush wake
  // the pool's thread and then this loop once per object.
  template <typename Done>
  void SubmitSyncs(std::vector<PendingSync> batch, Done done);
  // Writes the alarm index changes of this thread's recent commits in one transaction; runs
  // before any flush that must include them (FlushSyncBatch) and at the latest one loop
  // iteration after the commit.
  void ApplyAlarmIndexChanges();
  void OnSynced(uint64_t slot, uint64_t seq, bool ok, const std::string& error);

  // --- Cluster mode (thread_engine_cluster.cc) ---
  // Whether an event for `address` may go to its instance now: this node owns the object under
  // its current lease generation. Otherwise the event waits in activating_ (or fails when the
  // node is not serving) and false is returned.
  bool ClusterAdmit(const ObjectAddress& address, ObjectEvent& event);
  // The activation of object `key` finished: its waiting events go on, or fail.
  void OnActivated(const std::string& key, const ObjectAddress& address,
                   const cluster::Activation& result);
  // The flush RequestFlush decided on, in cluster mode: the captured commits go to PostgreSQL.
  void ClusterFlush(ObjectInstance* instance);
  void OnClusterFlushed(uint64_t slot, uint64_t seq, int outcome, long long log_seq,
                        const std::string& chain, long long row_bytes);
  // ---
  // Whether an alarm may run `address` here now (cluster mode: only an object this node holds).
  bool ClusterHolds(const ObjectAddress& address) const;
  // --- Cluster mode alarms (thread_engine_cluster_alarms.cc) ---
  // Fires the alarm of an object this node does not hold. The directory says first where the
  // object is served: another node (its live owner, or the node the sweep hands it to) fires it
  // there, and it is forgotten here without an activation. Otherwise ClusterActivateForAlarm.
  void ClusterFireAlarm(ObjectAddress address, long long scheduled_ms, int retry_count);
  // The alarm event activates the object (takes it and restores it from the log) like any
  // event, then runs as on the local path. An object another node took meanwhile has its alarm
  // fired there: it is forgotten here.
  void ClusterActivateForAlarm(ObjectAddress address, long long scheduled_ms, int retry_count);
  // Makes this node's schedule and alarm index say `alarm` for the object (nullopt: none).
  void ClusterRecordAlarm(const ObjectAddress& address, std::optional<long long> alarm);
  // The object `key` was just activated here: its alarm, as restored from the log, joins this
  // node's schedule and index (the node that set it may have been another), with the retries it
  // has had there (`retry_count`, from PostgreSQL's `alarms`).
  void ClusterAdoptAlarm(const std::string& key, int retry_count);
  // Queues a change of this node's alarm index, written within one loop iteration; `slot` is the
  // instance reset if the write fails (0: none).
  void QueueAlarmIndexChange(storage::AlarmChange change, uint64_t slot);
  // Opens an instance's database through the WAL capture (cluster mode).
  storage::OpenSettings ClusterOpenSettings(ObjectInstance* instance);
  // Forgets the ownership of `instance`'s object unless what its local database holds is exactly
  // the log (nothing pending, no failure): a later activation then restores it from the log.
  void ForgetClusterObject(ObjectInstance* instance, ResetReason reason);
  // Sends `response` once the writes made before it are durable.
  void Emit(ObjectInstance* instance, HttpResponseData&& response, ResponseCallback done);
  void ReleaseGated(ObjectInstance* instance);
  // Resolves the object's storage.sync() promises whose commits are durable, in a turn (deferred
  // while the app may not start one).
  void ResolveSyncWaiters(ObjectInstance* instance);
  void CloseDatabase(ObjectInstance* instance);
  // Closes an idle connection (unused for a while, or the coldest when too many are open) of an
  // object that stays live: through shared_.database_closer when there is one, which empties its
  // WAL first so that reopening it is cheap, else as CloseDatabase.
  void RetireDatabase(ObjectInstance* instance);
  // Keeps the descriptors of the thread's connections within its share (two per connection of
  // max_open_databases_per_thread): first parks the database file of the coldest connection
  // holding both of its files, keeping its log open; when only `keep` holds both, parks the
  // coldest log-only connection whole (closing the coldest parked one when the parked list is
  // full). A connection that cannot be parked (parking off, or not through the parkable VFS) is
  // closed. Connections a transaction or cursor holds, and `keep`'s, are never touched.
  void LimitOpenDatabases(ObjectInstance* keep);

  // --- WebSockets (thread_engine_web_sockets.cc) ---
  void DeliverSocketEvent(ObjectInstance* instance, SocketEvent event);
  void PerformSocketOutput(const OutputGate::SocketOutput& output);
  // Arms the object's hibernatable event timeout (ctx.setHibernatableWebSocketEventTimeout), if
  // it has one, for the socket event `event_id` just delivered: should the event still be running
  // when it expires, the object is reset and its sockets are closed with 1011 and
  // kEventTimeoutMessage. Settling the event disarms it.
  void StartEventTimeout(ObjectInstance* instance, uint64_t event_id,
                         const std::string& object_key);
  // Closes (with `code`) and forgets every socket of the objects `matches` selects by key.
  void CloseSockets(FunctionRef<bool(const std::string&)> matches, int code,
                    const std::string& reason);

  // --- Streamed response bodies (thread_engine_response_streams.cc) ---
  // The consumer of stream `id` drained it or cancelled it: the object's code hears of it
  // through the runtime's responseStreamSignal(id, cancelled), in a turn.
  void OnResponseStreamWake(uint64_t id);
  // Gives chunk or end `output` (OutputGate::SocketOutput::response_stream) to its stream; after
  // the end, the stream is forgotten.
  void PerformStreamOutput(const OutputGate::SocketOutput& output);
  // The stream `id` no longer needs its object: forgotten here and in its instance.
  void ForgetResponseStream(uint64_t id);
  // `instance` is being reset (`message`: why): its streams fail (their connections break, a
  // stub's caller reads the reset's error).
  void FailResponseStreams(ObjectInstance* instance, const std::string& message);

  // --- Streamed bodies of a stub's fetch() answers (thread_engine_stub_bodies.cc) ---
  // The answer to call `call` has a streamed body: registers it for the caller (`app`, its object
  // `slot`) and returns its id for js/runtime/stub_bodies.js.
  // `pins`: the open body keeps the object from eviction (an answer's body, not a request's).
  // The channels of an RPC message received in `app` for `slot`: each readable one adopted as a
  // stub body, each writable one as a request body this side produces. Returns their ids, in order.
  struct AdoptedChannel {
    uint64_t id;
    bool writable;  // a request body this side produces (else a stub body it reads)
  };
  std::vector<AdoptedChannel> AdoptRpcChannels(AppIsolate* app, uint64_t slot,
                                               const RpcStreams& streams);
  // Ends adopted channels that no JavaScript took (a call that could not be delivered).
  void DropRpcChannels(const std::vector<AdoptedChannel>& channels);
  uint64_t AdoptStubBody(AppIsolate* app, uint64_t slot, std::shared_ptr<ResponseStream> stream,
                         bool pins = true);
  // Body `id` has something to take: the caller's code hears of it (stubBodySignal), in a turn.
  void OnStubBodyWake(uint64_t id);
  // Cancels (the producers stop) and forgets the bodies `matches` selects.
  void CancelStubBodies(FunctionRef<bool(const StubBody&)> matches);
  void ForgetStubBody(uint64_t id);
  // The request whose body is stub body `id` (0: none) has been answered: what the callee has not
  // read of it is cancelled, so that its caller stops sending (the body cannot be read any more).
  void DropRequestBody(uint64_t id);
  // The callee read, or cancelled, request body `id`: its caller's code hears of it
  // (requestBodySignal(id, cancelled)), in a turn.
  void OnRequestBodyWake(uint64_t id);
  // The request bodies `matches` selects fail with `failure` (their producers are gone).
  void FailRequestBodies(FunctionRef<bool(const StubBody&)> matches,
                         const ResponseStream::Failure& failure);

  // --- Timers and eviction (thread_engine_timers.cc) ---
  void ArmTimer(Timer* timer);
  void FireTimer(uint64_t id);
  void DropTimers(FunctionRef<bool(const Timer&)> matches);
  void EvictIdle();
  ObjectActivity ActivityOf(const ObjectInstance& instance, const std::string& key,
                            std::chrono::steady_clock::time_point now, long long now_ms);
  void CloseIdleDatabases(std::chrono::steady_clock::time_point now);
  void DisposeIdleApps(std::chrono::steady_clock::time_point now);
  void ReleaseMemory(std::chrono::steady_clock::time_point now);

  // Everything below is used on the engine's thread only.
  boost::asio::io_context& io_;
  RuntimeShared& shared_;
  js::Watchdog::Slot* watchdog_slot_;
  int long_turn_slot_ = -1;    // this thread's slot in shared_.long_turns
  int placement_thread_ = -1;  // this thread's index in shared_.placement
  EvictionPolicy eviction_;

  // Apps and objects.
  std::map<std::string, std::unique_ptr<AppIsolate>> apps_;
  std::vector<std::unique_ptr<AppIsolate>> doomed_apps_;  // freed by PostCleanup()'s task
  std::unordered_map<std::string, std::unique_ptr<ObjectInstance>> objects_;  // by object key
  std::unordered_map<uint64_t, ObjectInstance*> by_slot_;
  std::vector<std::unique_ptr<ObjectInstance>> graveyard_;  // reset, freed by PostCleanup()
  bool cleanup_posted_ = false;
  ConstructionBackoff construction_backoff_;
  // When each app's isolate last had a live object or timer on this thread. An isolate idle
  // for the eviction period is disposed (it costs megabytes); the next event creates it again.
  std::map<std::string, std::chrono::steady_clock::time_point> app_busy_at_;

  // Turns.
  uint64_t next_slot_ = 1;
  uint64_t next_event_id_ = 1;
  uint64_t current_slot_ = 0;  // the object whose turn runs (0: none)
  int turn_depth_ = 0;
  int64_t turn_began_ns_ = 0;  // the outermost turn's start, steady clock
  // Promises rejected without a handler in this turn, not handled since: reported at its end.
  // `heard` when the app had rejection listeners at the time (the listeners get them, and
  // nothing is logged), as workerd tracks a rejection only then.
  struct RejectedPromise {
    AppIsolate* app;
    v8::Global<v8::Promise> promise;
    bool heard;
  };
  std::vector<RejectedPromise> rejected_promises_;
  // Long turns (see LongTurnLimit): pumps held back while the app's long turns hold their share.
  std::set<uint64_t> deferred_pumps_;
  boost::asio::steady_timer deferred_pump_timer_;
  bool deferred_pump_armed_ = false;
  // After a long turn of an app (tag) on this thread, that app's next turns here go behind the
  // work already queued on the thread, once: a tenant whose events each run long cannot keep
  // other apps' objects on this thread waiting for more than one of its turns. 0: none owed.
  uint64_t owed_yield_tag_ = 0;
  bool yield_marker_posted_ = false;
  // RunSoon's queue, and whether a handler to drain it is posted.
  std::deque<UniqueTask> soon_;
  bool soon_posted_ = false;
  void DrainSoon();
  // Since when a heavy app's turn has waited for this thread's flushes; 0: none waiting.
  int64_t heavy_waiting_since_ns_ = 0;

  // Storage: commits at the end of turns, flushed in batches (group commit).
  std::set<uint64_t> dirty_;  // slots whose open transaction commits at the end of the turn
  // Connections holding both descriptors (or that may since their last use), those holding only
  // their log's, and parked ones (see OpenDatabaseList); an instance is in one of them at most.
  OpenDatabaseList open_databases_;
  OpenDatabaseList log_only_databases_;
  OpenDatabaseList parked_databases_;
  // The commits to flush, and the images to sync of the databases opened new, in this loop
  // iteration.
  std::vector<PendingSync> sync_batch_;
  std::vector<PendingSync> image_batch_;
  size_t syncs_in_flight_ = 0;
  // Databases whose last flush failed. The commits it carried are in the WAL, neither confirmed
  // durable nor removed: their outcome is unknown. Until a flush of the whole WAL succeeds, the
  // object reopening such a database counts its existing content as one more commit not yet
  // durable, so nothing built on top of it is acknowledged before it is durable.
  std::set<std::string> unconfirmed_paths_;
  // Cluster mode: the objects this thread holds (by key), and the events of objects being
  // activated (taken and restored on the cluster's thread).
  struct ClusterObject {
    long long epoch = 0;
    long long seq = 0;         // the last row in the log
    std::string chain;         // its checksum
    int generation = 0;        // the lease generation it was taken under
    long long tail_bytes = 0;  // the log's bytes after its latest snapshot
  };
  std::unordered_map<std::string, ClusterObject> cluster_objects_;
  std::unordered_map<std::string, std::vector<ObjectEvent>> activating_;
  // Alarm index changes committed but not yet written to the index, with their objects' slots.
  std::vector<storage::AlarmChange> alarm_index_changes_;
  std::vector<uint64_t> alarm_index_change_slots_;
  bool alarm_index_apply_posted_ = false;

  // Calls this thread's objects made to other objects, awaiting their answers, by call id.
  struct PendingCall {
    AppIsolate* app;
    uint64_t slot;  // the calling object, or 0
    v8::Global<v8::Promise::Resolver> resolver;
    bool rpc;  // a JavaScript RPC call (its answer is an RPC message), not a stub.fetch()
  };
  struct AppOfPendingCall {
    const AppIsolate* operator()(const PendingCall& call) const { return call.app; }
  };
  AppCountedMap<std::unordered_map<uint64_t, PendingCall>, AppOfPendingCall> outgoing_calls_;
  // By app: the bytes of its RPC calls made on this thread and not yet delivered (rpc_charge.h).
  std::unordered_map<std::string, std::shared_ptr<std::atomic<size_t>>> rpc_in_flight_;
  // By app: the bytes of its stubs' fetch() requests made on this thread whose handlers have not
  // settled (rpc_charge.h).
  std::unordered_map<std::string, std::shared_ptr<std::atomic<size_t>>> fetch_in_flight_;
  uint64_t next_call_id_ = 1;
  // WebSockets of callees that came back through stub.fetch() and that a Response here may pass on
  // to the client (ForwardedSockets).
  ForwardedSockets forwarded_sockets_;
  // Tells the socket `socket` (of an object on another loop, or this one) that nobody will connect.
  void AbandonSocket(const ForwardedSocket& socket);

  // fetch() to the outside world (thread_engine_fetch.cc): requests of this thread's apps by
  // fetch id, and the client they leave through, made on first use.
  struct PendingFetch {
    AppIsolate* app = nullptr;
    uint64_t slot = 0;  // the calling object, or 0
    v8::Global<v8::Promise::Resolver> resolver;
    uint64_t exchange = 0;  // the client's id once the request has left; 0 while the gate holds it
    // The request body, when it is streamed (written by writeFetchBody).
    std::shared_ptr<outbound::UploadBody> upload;
    v8::Global<v8::Promise::Resolver> writer;  // a writeFetchBody() waiting for room
    // After the head: the body is read from the exchange (readFetchBody).
    bool streaming = false;
    v8::Global<v8::Promise::Resolver> reader;  // a readFetchBody() waiting for bytes
    // The exchange's end, once read from the client while bytes were still to be given.
    bool body_ended = false;
    bool body_failed = false;
    outbound::ExchangeError body_error;
  };
  struct FetchOutcome {
    bool failed = false;
    outbound::ExchangeResponse response;
    int error_kind = 0;  // outbound::ExchangeError::Kind
    std::string error;
    bool streamed = false;  // the body is read from the client (not in response.body)
  };
  std::unordered_map<uint64_t, PendingFetch> outbound_fetches_;
  // Streamed response bodies being produced, by id: the object (slot) producing each.
  struct OpenStream {
    uint64_t slot = 0;
    std::shared_ptr<ResponseStream> stream;
    int64_t length = -1;              // known in advance (the response's Content-Length), else -1
    ResponseStream::Failure failure;  // set by a failed end, given to the stream when performed
    uint64_t request_body = 0;        // the event's streamed request body, dropped when this ends
  };
  std::unordered_map<uint64_t, OpenStream> response_streams_;
  uint64_t next_response_stream_id_ = 1;
  // Streamed bodies of answers to this thread's stub fetch() calls, read by the callers' code, by
  // id: the consumer side of a callee's ResponseStream.
  struct AppOfStubBody {
    const AppIsolate* operator()(const StubBody& body) const { return body.app; }
  };
  AppCountedMap<std::unordered_map<uint64_t, StubBody>, AppOfStubBody> stub_bodies_;
  uint64_t next_stub_body_id_ = 1;
  // Request bodies this thread's callers produce for their stubs' fetch() calls, by id: the
  // producer side (the callee, maybe on another thread, consumes them as stub bodies).
  AppCountedMap<std::unordered_map<uint64_t, StubBody>, AppOfStubBody> request_bodies_;
  uint64_t next_request_body_id_ = 1;
  // How many of outbound_fetches_ each app has (RuntimeOptions::max_outbound_per_app). Kept
  // beside the map by AddFetch and ForgetFetch, so the limit check does not scan it.
  std::unordered_map<const AppIsolate*, size_t> outbound_in_flight_;
  // Each app's response bytes in flight on this thread
  // (RuntimeOptions::max_outbound_bytes_per_app).
  std::unordered_map<std::string, std::shared_ptr<outbound::ByteBudget>> outbound_budgets_;
  uint64_t next_fetch_id_ = 1;
  std::unique_ptr<outbound::HttpClient> http_client_;
  void StartFetch(uint64_t id, outbound::ExchangeRequest request);
  // Hands a request for one of the server's own URLs to RuntimeShared::local_fetch; false when
  // it is not one (or there is no network front), and the request goes out through http_client_.
  bool StartLocalFetch(uint64_t id, outbound::ExchangeRequest& request);
  void CompleteFetch(uint64_t id, FetchOutcome outcome);
  // The exchange of fetch `id` has body bytes (or its end) for a waiting readFetchBody().
  void OnFetchBodyWake(uint64_t id);
  // The streamed request body of fetch `id` has room again (or is no longer wanted).
  void OnFetchUploadRoom(uint64_t id);
  // Takes fetch `id`'s promise `waiting` (its reader or its writer) and settles it with `settle`
  // in a turn of the fetch's app, as the calling object; once the app may start a turn (`retry`,
  // the caller, runs again soon otherwise). Nothing when the fetch or that promise is gone.
  void SettleFetchPromise(
      uint64_t id, v8::Global<v8::Promise::Resolver> PendingFetch::*waiting,
      void (ThreadEngine::*retry)(uint64_t),
      const std::function<void(std::unordered_map<uint64_t, PendingFetch>::iterator,
                               v8::Local<v8::Promise::Resolver>)>& settle);
  // Settles `fetch`'s waiting reader (in the current turn) from its exchange; returns whether
  // the fetch is over (the caller then forgets it).
  bool SettleFetchRead(uint64_t id, PendingFetch& fetch, v8::Local<v8::Promise::Resolver> reader);
  // Removes one entry of outbound_fetches_ and counts it out of its app's fetches in flight.
  // Returns the iterator after it.
  std::unordered_map<uint64_t, PendingFetch>::iterator ForgetFetch(
      std::unordered_map<uint64_t, PendingFetch>::iterator it);
  // Abandons the app's fetches (its isolate is being dropped).
  void DropOutboundFetches(AppIsolate* app);
  // Abandons the fetches of the object in `slot` (it is reset or evicted): their bodies stop.
  void DropSlotFetches(uint64_t slot);

  // WebSockets to the outside world (thread_engine_outbound_sockets.cc), by socket id (the
  // registry's record id). An entry lives from ConnectWebSocket until the connection ends; its
  // destructor drops the connection without callbacks.
  struct OutboundSocket {
    OutboundSocket() = default;
    OutboundSocket(OutboundSocket&&) = default;
    OutboundSocket& operator=(OutboundSocket&&) = default;
    ~OutboundSocket();
    AppIsolate* app = nullptr;
    uint64_t slot = 0;                                  // the object that opened it
    v8::Global<v8::Promise::Resolver> resolver;         // until the handshake's outcome is settled
    std::shared_ptr<outbound::WebSocketClient> client;  // null while the output gate holds it
  };
  std::unordered_map<uint64_t, OutboundSocket> outbound_sockets_;
  // How many of outbound_sockets_ each app has (at most RuntimeOptions::max_outbound_per_app).
  std::unordered_map<const AppIsolate*, size_t> outbound_socket_count_;
  void StartWebSocket(uint64_t id, outbound::WebSocketRequest request);
  void OnWebSocketHandshake(uint64_t id, outbound::WebSocketAnswer* answer,
                            outbound::ExchangeError* error);
  // Settles socket `id`'s promise with the handshake's outcome, in a turn of its app.
  void SettleWebSocket(uint64_t id, std::shared_ptr<outbound::WebSocketAnswer> answer,
                       std::shared_ptr<outbound::ExchangeError> error);
  void ForgetOutboundSocket(uint64_t id);
  // Abandons the app's outbound sockets (its isolate is being dropped).
  void DropOutboundSockets(AppIsolate* app);

  // Timers.
  struct AppOfTimer {
    const AppIsolate* operator()(const std::unique_ptr<Timer>& timer) const { return timer->app; }
  };
  AppCountedMap<std::map<uint64_t, std::unique_ptr<Timer>>, AppOfTimer> timers_;
  uint64_t next_timer_id_ = 1;

  // By app: the slots of its objects that were given an event, a body or a socket since AppIdle
  // last found them idle (NoteObjectBusy). A superset of its busy objects; AppIdle drops the idle
  // ones it visits, so each visit is paid for by the event that added the object.
  std::unordered_map<const AppIsolate*, std::unordered_set<uint64_t>> maybe_busy_;

  // WebSockets.
  WebSocketRegistry sockets_;
  // The last string sent on a WebSocket in this turn and its UTF-8 (see PayloadOf).
  v8::Global<v8::String> last_sent_string_;
  SharedPayload last_sent_payload_;

  // Eviction and memory.
  boost::asio::steady_timer eviction_timer_;
  bool eviction_armed_ = false;
  bool release_memory_ = false;   // objects were evicted since the last release
  bool trim_allocator_ = false;   // many database connections closed since the last release
  size_t closed_since_trim_ = 0;  // database connections closed since the last trim request
  // Requests and alarms that arrived since the last eviction sweep: a thread that keeps taking
  // them is busy, and releasing memory waits (see ReleaseMemory).
  size_t arrivals_since_sweep_ = 0;
  std::chrono::steady_clock::time_point last_memory_release_;
  // No live object can be idle for long enough to be evicted before this time: the earliest
  // moment the last walk over objects_ found for one of them (see EvictIdle). Activity only
  // moves an object's moment later, so EvictIdle skips the walk until then; a new object, whose
  // last activity may still be unset, resets it to walk at the next sweep (EnsureInstance).
  std::chrono::steady_clock::time_point next_eviction_walk_;

  // Usage metering (see ReadUsage).
  UsageMeter usage_;
  bool metering_;
  long long thread_cpu_ns_at_read_ = 0;
  LoopLagMeter lag_;  // the eviction timer's lateness
};

}  // namespace dorm::runtime
