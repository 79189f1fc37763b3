// ThreadEngine's core: turns, dispatch, delivery of HTTP events, event outcomes and resets. The
// other concerns are in the files named in thread_engine.h.
#include "runtime/thread_engine.h"

#include <strings.h>

#include <boost/asio/post.hpp>

#include "cluster/cluster_node.h"
#include "js/platform.h"
#include "js/strings.h"
#include "outbound/http_client.h"
#include "runtime/crash_attribution.h"
#include "runtime/env_object.h"
#include "runtime/js_request.h"
#include "runtime/js_response.h"
#include "runtime/object_id.h"
#include "storage/sql_interrupt.h"
#include "storage/sqlite_arena.h"
#include "util/cycle_clock.h"
#include "util/log.h"

namespace dorm::runtime {

namespace {
// An event that reached a thread the object is no longer placed on (see ObjectPlacement); the
// routers never send one there, so this is a safeguard, not an expected answer.
const char kObjectMovedMessage[] =
    "Durable Object is being moved to another thread; retry the request.";

// How often work held back by the long-turn limit is tried again.
constexpr std::chrono::milliseconds kLongTurnRetry{10};
// How long a heavy app's turn waits at most for the thread's flushes in progress.
constexpr std::chrono::nanoseconds kHeavyFlushWait = std::chrono::milliseconds(200);
// V8 foreground tasks run at the end of one outermost turn.
constexpr int kForegroundTasksPerTurn = 8;

// A handle is a positive integral number; anything else (including objects whose valueOf()
// user code controls) names nothing.
uint64_t HandleNumber(v8::Local<v8::Value> handle) {
  if (handle.IsEmpty() || !handle->IsNumber()) return 0;
  double n = handle.As<v8::Number>()->Value();
  if (!(n >= 1 && n <= 9007199254740991.0) || n != static_cast<double>(static_cast<uint64_t>(n))) {
    return 0;
  }
  return static_cast<uint64_t>(n);
}

const char kOtherObjectMessage[] =
    "Cannot perform I/O on behalf of a different Durable Object. I/O objects (such as streams, "
    "request/response bodies, and others) created in the context of one Durable Object cannot be "
    "accessed from a different Durable Object's handler.";
}  // namespace

ThreadEngine::ThreadEngine(boost::asio::io_context& io, RuntimeShared& shared, int placement_thread)
    : io_(io),
      shared_(shared),
      watchdog_slot_(shared.watchdog->RegisterCurrentThread()),
      long_turn_slot_(shared.long_turns ? shared.long_turns->Register() : -1),
      placement_thread_(shared.placement ? placement_thread : -1),
      eviction_(shared.options.idle_evict, shared.options.hibernate_after,
                shared.options.database_idle_close),
      deferred_pump_timer_(io),
      eviction_timer_(io),
      metering_(shared.options.usage_meters),
      lag_(std::chrono::steady_clock::now()) {
  // SQL run by this thread's objects stops when the watchdog terminates their turn.
  storage::SetThreadInterruptFlag(watchdog_slot_->terminating_flag());
  // This thread opens and closes its objects' databases: SQLite's blocks get a cache of their own.
  storage::UseSqliteThreadCache();
  EvictIdle();
}

ThreadEngine::~ThreadEngine() {
  eviction_timer_.cancel();
  deferred_pump_timer_.cancel();
  timers_.clear();
  outgoing_calls_.clear();
  outbound_fetches_.clear();
  outbound_in_flight_.clear();
  http_client_.reset();
  outbound_sockets_.clear();
  outbound_socket_count_.clear();
  for (auto& [key, instance] : objects_) {
    instance->js_object.Reset();
    instance->sync_resolvers.clear();
  }
  objects_.clear();
  by_slot_.clear();
  graveyard_.clear();
  rejected_promises_.clear();
  apps_.clear();
  doomed_apps_.clear();
  storage::SetThreadInterruptFlag(nullptr);
}

// ---------------------------------------------------------------------------------------------
// Turns

bool ThreadEngine::RunTurn(AppIsolate* app, FunctionRef<void()> body) {
  v8::Isolate* isolate = app->isolate();
  bool cpu_exceeded = false;
  ++turn_depth_;
  // Only the outermost turn is metered; nested ones are part of it.
  const bool metered = metering_ && turn_depth_ == 1;
  if (turn_depth_ == 1 && shared_.long_turns) {
    turn_began_ns_ = LongTurnLimit::NowNs();
    shared_.long_turns->Begin(long_turn_slot_, LongTurnLimit::AppTag(app->app()), turn_began_ns_);
  }
  const uint64_t turn_started = metered ? CycleClock::Now() : 0;
  {
    CrashAttribution::Scope running(app->app());
    v8::Isolate::Scope isolate_scope(isolate);
    v8::HandleScope handle_scope(isolate);
    v8::Context::Scope context_scope(app->context());
    watchdog_slot_->Enter(isolate);
    body();
    if (!isolate->IsExecutionTerminating()) isolate->PerformMicrotaskCheckpoint();
    // V8's own tasks for the isolate (FinalizationRegistry callbacks, garbage collection steps)
    // run at the end of its outermost turns, under the same watchdog; a few per turn, so that
    // they never hold the thread long.
    if (turn_depth_ == 1 && !isolate->IsExecutionTerminating()) {
      v8::TryCatch task_errors(isolate);  // V8 has reported them to the message listeners
      if (js::RunForegroundTasks(isolate, kForegroundTasksPerTurn) > 0 &&
          !isolate->IsExecutionTerminating()) {
        isolate->PerformMicrotaskCheckpoint();
      }
    }
    if (!isolate->IsExecutionTerminating()) ReportUnhandledRejections(app);
    cpu_exceeded = watchdog_slot_->Exit();
    app->DropStagedMessages();
  }
  --turn_depth_;
  if (turn_depth_ == 0 && shared_.long_turns) {
    const int64_t now_ns = LongTurnLimit::NowNs();
    if (shared_.long_turns->IsLong(turn_began_ns_, now_ns) && shared_.catalog.AppCount() > 1) {
      owed_yield_tag_ = LongTurnLimit::AppTag(app->app());
    }
    shared_.long_turns->End(long_turn_slot_, now_ns);
  }
  if (metered) {
    // Charged to the object the turn ran for (before a reset below can forget it).
    ObjectInstance* charged = FindBySlot(current_slot_);
    if (charged && charged->usage) usage_.AddCpu(charged->usage, CycleClock::Now() - turn_started);
  }
  if (turn_depth_ == 0 && last_sent_payload_) {
    last_sent_string_.Reset();
    last_sent_payload_.reset();
  }
  bool alive = true;
  app->SettleMemoryRefusal();
  if (cpu_exceeded || app->out_of_memory() || isolate->IsExecutionTerminating()) {
    isolate->CancelTerminateExecution();
    const ResetReason reason =
        app->out_of_memory() ? ResetReason::kMemoryLimit : ResetReason::kCpuLimit;
    Log(LogLevel::kWarn, "app '" + app->app() + "': " + RuleOf(reason).message);
    // The isolate is discarded in both cases: a termination can leave module state half-updated,
    // and Cloudflare's reset also starts the objects from fresh globals.
    ResetApp(app, reason);
    alive = false;
  }
  CommitDirty();
  if (alive && turn_depth_ == 0) NoteTurnEnded(current_slot_);
  return alive;
}

namespace {

// How many times one report dispatches rejection events and runs the microtasks they queued
// (which may reject more promises) before leaving the rest to the next turn's report.
constexpr int kRejectionReportRounds = 4;

// Whether the app's global scope has `unhandledrejection` or `rejectionhandled` listeners. Runs
// the prelude's check (JavaScript that user code cannot reach); false while terminating.
bool HasRejectionListeners(AppIsolate* app) {
  if (app->isolate()->IsExecutionTerminating()) return false;
  v8::HandleScope handles(app->isolate());
  v8::Local<v8::Function> has = app->Internal("hasRejectionListeners");
  if (has.IsEmpty()) return false;
  v8::TryCatch try_catch(app->isolate());
  v8::Local<v8::Value> result;
  return has->Call(app->context(), v8::Undefined(app->isolate()), 0, nullptr).ToLocal(&result) &&
         result->IsTrue();
}

// Dispatches a PromiseRejectionEvent of `type` on the app's global scope. The listeners run
// under the turn's CPU limit; their exceptions are reported as uncaught by the prelude.
void DispatchRejectionEvent(AppIsolate* app, const char* type, v8::Local<v8::Promise> promise,
                            v8::Local<v8::Value> reason) {
  v8::Isolate* isolate = app->isolate();
  if (isolate->IsExecutionTerminating()) return;
  v8::HandleScope handles(isolate);
  v8::Local<v8::Function> dispatch = app->Internal("dispatchRejection");
  if (dispatch.IsEmpty()) return;
  v8::TryCatch try_catch(isolate);
  v8::Local<v8::Value> args[] = {js::FromUtf8(isolate, type), promise, reason};
  v8::Local<v8::Value> ignored;
  if (!dispatch->Call(app->context(), v8::Undefined(isolate), 3, args).ToLocal(&ignored)) return;
}

}  // namespace

// As workerd from compatibility date 2026-03-03 (unhandled_rejection_after_microtask_checkpoint):
// a rejection is tracked for the listeners only if the app has rejection listeners when it
// happens; it is reported once the turn's microtasks have run, unless a handler came first; a
// reported promise that gets a handler dispatches `rejectionhandled` at once, inside the call that
// added the handler, if listeners exist then. V8 calls this inside a turn, with the app's context
// entered; the listeners run there (no native of Dorm attaches handlers from C++, so they run
// inside JavaScript's own call of then()).
void ThreadEngine::OnPromiseReject(AppIsolate* app, v8::PromiseRejectMessage& message) {
  v8::Local<v8::Promise> promise = message.GetPromise();
  v8::Isolate* isolate = app->isolate();
  // Listeners run only inside a turn (its scopes and CPU limit); a promise a native settles
  // outside one (none does today) is taken as heard by nobody, and so is one rejected by a
  // module's top level, as in workerd.
  const bool in_turn = turn_depth_ > 0 && !app->evaluating_module();
  if (message.GetEvent() == v8::kPromiseRejectWithNoHandler) {
    const bool heard = in_turn && HasRejectionListeners(app);
    rejected_promises_.push_back({app, v8::Global<v8::Promise>(isolate, promise), heard});
  } else if (message.GetEvent() == v8::kPromiseHandlerAddedAfterReject) {
    for (auto it = rejected_promises_.begin(); it != rejected_promises_.end(); ++it) {
      if (it->promise.Get(isolate) == promise) {
        rejected_promises_.erase(it);
        return;
      }
    }
    // Reported already: the listeners hear that it is handled now.
    if (app->TakeReportedRejection(promise) && in_turn && HasRejectionListeners(app)) {
      DispatchRejectionEvent(app, "rejectionhandled", promise, v8::Undefined(isolate));
    }
  }
}

void ThreadEngine::ReportUnhandledRejections(AppIsolate* app) {
  v8::Isolate* isolate = app->isolate();
  // A listener the watchdog terminated may leave V8 no longer terminating once its call returns:
  // the watchdog's own flag says the turn is over all the same.
  const std::atomic<bool>* terminated = watchdog_slot_->terminating_flag();
  auto stopped = [&] { return isolate->IsExecutionTerminating() || terminated->load(); };
  for (int round = 0; round < kRejectionReportRounds; ++round) {
    if (rejected_promises_.empty()) return;
    auto list = std::move(rejected_promises_);
    rejected_promises_.clear();
    bool dispatched = false;
    for (RejectedPromise& entry : list) {
      if (entry.app != app) continue;
      v8::Local<v8::Promise> p = entry.promise.Get(isolate);
      if (!entry.heard) {
        // No listener took it. workerd logs nothing (it shows such rejections only to an
        // attached inspector); Dorm's log and `dorm tail` stand in for that.
        std::string where;
        ObjectInstance* instance = FindBySlot(current_slot_);
        if (instance) where = LogTag(instance->address) + " ";
        std::string stack = js::ExceptionStack(isolate, p->Result());
        app->WriteServerLog(LogLevel::kError, where + "Uncaught (in promise) " + stack);
        TailException(app, instance, "Uncaught (in promise) " + stack);
        continue;
      }
      app->RememberReportedRejection(p);
      DispatchRejectionEvent(app, "unhandledrejection", p, p->Result());
      dispatched = true;
      if (stopped()) return;
    }
    if (!dispatched) return;
    isolate->PerformMicrotaskCheckpoint();
    if (stopped()) return;
  }
}

// ---------------------------------------------------------------------------------------------
// Dispatch

AppIsolate* ThreadEngine::AppFor(const std::shared_ptr<const AppCode>& code) {
  auto it = apps_.find(code->app);
  if (it != apps_.end() && it->second->generation() == code->generation) return it->second.get();
  if (it != apps_.end()) ResetApp(it->second.get(), ResetReason::kCodeUpdated);
  auto app = std::make_unique<AppIsolate>(this, code, shared_.options.heap_limit_bytes);
  app->set_log(shared_.app_logs.For(code->app));
  AppIsolate* raw = app.get();
  apps_[code->app] = std::move(app);
  return raw;
}

AppIsolate* ThreadEngine::AppForClass(const ObjectAddress& address, bool* class_exists) {
  auto code = shared_.catalog.Get(address.app);
  *class_exists = code && code->Find(address.class_name);
  if (!*class_exists) return nullptr;
  try {
    return AppFor(code);
  } catch (const std::exception& e) {
    Log(LogLevel::kError, std::string("cannot start isolate: ") + e.what());
    return nullptr;
  }
}

void ThreadEngine::RefreshApp(const std::string& app) {
  auto it = apps_.find(app);
  if (it == apps_.end()) return;
  auto code = shared_.catalog.Get(app);
  if (code && code->generation == it->second->generation()) return;
  ResetApp(it->second.get(), ResetReason::kCodeUpdated);
}

void ThreadEngine::DispatchFetch(ObjectAddress address, HttpRequestData request,
                                 ResponseCallback done) {
  // The network front writes a streamed body as it comes.
  DispatchCall(std::move(address), HttpEvent{std::move(request), std::move(done), true});
}

void ThreadEngine::DispatchCall(ObjectAddress address, ObjectEvent event) {
  CompleteAddress(address);
  std::string key = placement_thread_ >= 0 ? ObjectKey(address) : std::string();
  NoteArrived(key);
  ++arrivals_since_sweep_;
  DispatchEvent(std::move(address), std::move(event));
  // Refused (class gone, construction backing off): nothing of the object may be left here.
  ReleasePlacementIfGone(key);
}

void ThreadEngine::DispatchWorkerFetch(std::string app, HttpRequestData request,
                                       ResponseCallback done) {
  ObjectAddress address;
  address.app = std::move(app);
  address.class_name = kWorkerClassName;
  // One instance per thread: the name only has to differ from the other threads'.
  address.instance_name = "thread-" + std::to_string(placement_thread_);
  // In a cluster it also names this node: what it exports is reached from other nodes by it.
  if (shared_.cluster) {
    address.instance_name = WorkerInstanceOnNode(address.instance_name, shared_.cluster->node());
  }
  CompleteAddress(address);
  std::string key = placement_thread_ >= 0 ? ObjectKey(address) : std::string();
  DispatchEvent(std::move(address), HttpEvent{std::move(request), std::move(done), true});
  ReleasePlacementIfGone(key);
}

void ThreadEngine::NoteArrived(const std::string& key) {
  if (placement_thread_ >= 0) shared_.placement->Arrived(key);
}

void ThreadEngine::ReleasePlacementIfGone(const std::string& key) {
  if (placement_thread_ < 0) return;
  if (objects_.count(key) != 0 || sockets_.HasSockets(key)) return;
  if (!activating_.empty() && activating_.count(key) != 0) return;
  if (!unconfirmed_paths_.empty()) {
    // The database of an object whose last flush failed stays with this thread, which knows it.
    std::optional<ObjectAddress> parsed = ParseObjectKey(key);
    if (!parsed) return;
    const ObjectAddress& address = *parsed;
    if (unconfirmed_paths_.count(ObjectDatabasePath(shared_.options.data_dir, address)) != 0) {
      return;
    }
  }
  shared_.placement->Release(key, static_cast<size_t>(placement_thread_));
}

bool ThreadEngine::DispatchEvent(ObjectAddress address, ObjectEvent event) {
  bool class_exists = true;
  AppIsolate* app = AppForClass(address, &class_exists);
  if (!app) {
    FailEvent(event, class_exists
                         ? HttpResponseData::JsonError(
                               500, "internal error: cannot start the JavaScript runtime")
                         : HttpResponseData::JsonError(404, "No Durable Object class named '" +
                                                                address.class_name + "' in app '" +
                                                                address.app + "'."));
    return class_exists;
  }
  if (RefuseDuringBackoff(address, event)) return true;
  if (shared_.cluster && !ClusterAdmit(address, event)) return true;
  if (auto* http = std::get_if<HttpEvent>(&event); http && http->ownership_probe) {
    FailEvent(event, HttpResponseData{});  // held here now: the request itself may come
    return true;
  }
  ObjectInstance* instance = EnsureInstance(std::move(address), app);
  if (!instance) {
    FailEvent(event, HttpResponseData::JsonError(503, kObjectMovedMessage));
    return true;
  }
  instance->last_active = std::chrono::steady_clock::now();
  instance->input.Enqueue(std::move(event));
  NoteObjectBusy(instance);
  Pump(instance->slot);
  return true;
}

bool ThreadEngine::RefuseDuringBackoff(const ObjectAddress& address, ObjectEvent& event) {
  if (construction_backoff_.empty()) return false;
  const std::string key = ObjectKey(address);
  if (objects_.count(key) != 0) return false;  // an instance exists: it decides
  const std::string* message = construction_backoff_.Refusal(key, std::chrono::steady_clock::now());
  if (!message) return false;
  FailEvent(event, HttpResponseData::JsonError(500, *message));
  return true;
}

ObjectInstance* ThreadEngine::EnsureInstance(ObjectAddress address, AppIsolate* app) {
  CompleteAddress(address);
  std::string key = ObjectKey(address);
  auto it = objects_.find(key);
  if (it != objects_.end()) return it->second.get();
  if (placement_thread_ >= 0 &&
      !shared_.placement->Pin(key, static_cast<size_t>(placement_thread_))) {
    Log(LogLevel::kError, LogTag(address) + " not created: the object lives on another thread");
    return nullptr;
  }
  auto created = std::make_unique<ObjectInstance>();
  created->slot = next_slot_++;
  created->db_path = ObjectDatabasePath(shared_.options.data_dir, address);
  created->address = std::move(address);
  created->app = app;
  created->generation = app->generation();
  if (metering_) {
    created->usage = usage_.Acquire(key, InstanceLabel(created->address));
    ++created->usage->instances;
  }
  ObjectInstance* instance = created.get();
  by_slot_[instance->slot] = instance;
  objects_[key] = std::move(created);
  next_eviction_walk_ = {};  // its last activity is not set yet (see EvictIdle)
  return instance;
}

ObjectInstance* ThreadEngine::FindBySlot(uint64_t slot) {
  auto it = by_slot_.find(slot);
  return it == by_slot_.end() ? nullptr : it->second;
}

ObjectInstance* ThreadEngine::FindByKey(const std::string& object_key) {
  auto it = objects_.find(object_key);
  return it == objects_.end() ? nullptr : it->second.get();
}

ObjectInstance* ThreadEngine::ResolveObjectHandle(AppIsolate* caller, v8::Local<v8::Value> handle) {
  v8::Isolate* isolate = caller->isolate();
  const uint64_t slot = HandleNumber(handle);
  ObjectInstance* instance = slot == 0 ? nullptr : FindBySlot(slot);
  if (!instance || instance->app != caller) {
    // Another app's object is reported exactly like one that no longer exists: nothing about
    // other apps can be learned from the answer.
    js::ThrowError(isolate, "Durable Object storage is no longer accessible.");
    return nullptr;
  }
  if (slot != current_slot_) {
    js::ThrowError(isolate, kOtherObjectMessage);
    return nullptr;
  }
  return instance;
}

WebSocketRecord* ThreadEngine::ResolveSocketHandle(AppIsolate* caller,
                                                   v8::Local<v8::Value> handle) {
  const uint64_t id = HandleNumber(handle);
  WebSocketRecord* record = id == 0 ? nullptr : sockets_.Find(id);
  if (!record || record->app() != caller->app()) return nullptr;
  return record;
}

ObjectInstance* ThreadEngine::FindObjectOfApp(AppIsolate* caller, uint64_t slot) {
  ObjectInstance* instance = FindBySlot(slot);
  return instance && instance->app == caller ? instance : nullptr;
}

namespace {
// How much of RunSoon's queue one handler runs before the thread's other work gets its turn.
constexpr int kSoonBudget = 64;
constexpr std::chrono::microseconds kSoonSlice{1000};
}  // namespace

void ThreadEngine::RunSoon(UniqueTask task) {
  soon_.push_back(std::move(task));
  if (soon_posted_) return;
  soon_posted_ = true;
  boost::asio::post(io_, [this] { DrainSoon(); });
}

void ThreadEngine::DrainSoon() {
  soon_posted_ = false;
  const auto until = std::chrono::steady_clock::now() + kSoonSlice;
  for (int ran = 0; !soon_.empty(); ++ran) {
    if (ran == kSoonBudget || std::chrono::steady_clock::now() > until) {
      soon_posted_ = true;
      boost::asio::post(io_, [this] { DrainSoon(); });
      return;
    }
    UniqueTask task = std::move(soon_.front());
    soon_.pop_front();
    task();
  }
}

void ThreadEngine::SchedulePump(uint64_t slot) {
  boost::asio::post(io_, [this, slot] { Pump(slot); });
}

bool ThreadEngine::MayStartTurn(const AppIsolate* app) const {
  // With a single app there is no other tenant to keep a thread for.
  if (!shared_.long_turns || shared_.catalog.AppCount() <= 1) return true;
  const uint64_t tag = LongTurnLimit::AppTag(app->app());
  const int64_t now_ns = LongTurnLimit::NowNs();
  if (shared_.long_turns->MayStart(long_turn_slot_, tag, now_ns)) return true;
  // Every caller keeps the work queued and retries: this thread now waits its turn for the app.
  shared_.long_turns->NoteRefused(long_turn_slot_, tag, now_ns);
  return false;
}

bool ThreadEngine::HeavyApp(const AppIsolate* app) const {
  return shared_.long_turns && shared_.catalog.AppCount() > 1 &&
         shared_.long_turns->Heavy(LongTurnLimit::AppTag(app->app()), LongTurnLimit::NowNs());
}

void ThreadEngine::DeferPump(uint64_t slot) {
  deferred_pumps_.insert(slot);
  if (deferred_pump_armed_) return;
  deferred_pump_armed_ = true;
  deferred_pump_timer_.expires_after(kLongTurnRetry);
  deferred_pump_timer_.async_wait([this](const boost::system::error_code& ec) {
    deferred_pump_armed_ = false;
    if (ec) return;
    std::set<uint64_t> slots;
    slots.swap(deferred_pumps_);
    for (uint64_t deferred : slots) {
      if (ObjectInstance* instance = FindBySlot(deferred)) ResolveSyncWaiters(instance);
      Pump(deferred);
    }
  });
}

void ThreadEngine::YieldPump(uint64_t slot) {
  // The marker goes first: the pumps yielded before it runs are behind it, and run after it has
  // cleared the debt; what was queued before the first yield runs before all of them.
  if (!yield_marker_posted_) {
    yield_marker_posted_ = true;
    boost::asio::post(io_, [this] {
      yield_marker_posted_ = false;
      owed_yield_tag_ = 0;
    });
  }
  SchedulePump(slot);
}

void ThreadEngine::Pump(uint64_t slot) {
  // Never deliver from inside a turn: the event would run nested in another's JavaScript.
  if (turn_depth_ > 0) {
    SchedulePump(slot);
    return;
  }
  for (;;) {
    ObjectInstance* instance = FindBySlot(slot);
    if (!instance || !instance->input.ReadyToDeliver()) return;
    // While the app's long turns hold their share of the threads, its events wait here and this
    // thread serves the other apps.
    if (!MayStartTurn(instance->app)) {
      DeferPump(slot);
      return;
    }
    if (owed_yield_tag_ != 0 && owed_yield_tag_ == LongTurnLimit::AppTag(instance->app->app())) {
      YieldPump(slot);
      return;
    }
    // A turn of an app whose turns run long waits for this thread's flushes in progress: their
    // completions release other objects' answers, which would otherwise wait for it. (For
    // kHeavyFlushWait at most, so that a thread always flushing cannot starve the app.)
    if ((syncs_in_flight_ > 0 || !sync_batch_.empty()) && HeavyApp(instance->app)) {
      const int64_t now_ns = LongTurnLimit::NowNs();
      if (heavy_waiting_since_ns_ == 0) heavy_waiting_since_ns_ = now_ns;
      if (now_ns - heavy_waiting_since_ns_ < kHeavyFlushWait.count()) {
        DeferPump(slot);
        return;
      }
    }
    heavy_waiting_since_ns_ = 0;
    if (!instance->constructed) {
      // Export, import and backup work on the database file: they need no constructed object,
      // and must not run its constructor (or its code at all).
      if (const auto* command = std::get_if<StorageCommandEvent>(&instance->input.PeekNext());
          command && command->command.on_file()) {
        ObjectEvent event = instance->input.TakeNext();
        DeliverDatabaseFileCommand(instance, std::move(std::get<StorageCommandEvent>(event)));
        continue;
      }
      Construct(instance);
      continue;
    }
    ObjectEvent event = instance->input.TakeNext();
    if (auto* alarm = std::get_if<AlarmEvent>(&event)) {
      DeliverAlarm(instance, std::move(*alarm));
    } else if (auto* socket = std::get_if<SocketEvent>(&event)) {
      DeliverSocketEvent(instance, std::move(*socket));
    } else if (auto* rpc = std::get_if<RpcEvent>(&event)) {
      DeliverRpc(instance, std::move(*rpc));
    } else if (auto* command = std::get_if<StorageCommandEvent>(&event)) {
      if (command->command.on_file()) {
        DeliverDatabaseFileCommand(instance, std::move(*command));
      } else {
        DeliverStorageCommand(instance, std::move(*command));
      }
    } else {
      Deliver(instance, std::move(std::get<HttpEvent>(event)));
    }
  }
}

void ThreadEngine::Construct(ObjectInstance* instance) {
  AppIsolate* app = instance->app;
  uint64_t slot = instance->slot;
  instance->construction_started = true;
  std::string failure;
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::Local<v8::Context> context = app->context();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    std::string error;
    v8::Local<v8::Function> ctor = app->ClassConstructor(instance->address.class_name, &error);
    if (ctor.IsEmpty()) {
      failure = error.empty() ? js::ExceptionMessage(isolate, try_catch.Exception()) : error;
      return;
    }
    v8::Local<v8::Function> create_state = app->create_state();
    // As workerd emulates production: ctx.id.name only for a name of at most 1024 bytes.
    const std::string& name = instance->address.instance_name;
    const DeployedClass* deployed = app->code()->Find(instance->address.class_name);
    v8::Local<v8::Value> state_args[] = {
        v8::Number::New(isolate, static_cast<double>(slot)),
        js::FromUtf8(isolate, instance->address.object_id),
        name.empty() || name.size() > 1024 ? v8::Undefined(isolate).As<v8::Value>()
                                           : js::FromUtf8(isolate, name).As<v8::Value>(),
        v8::Boolean::New(isolate, !deployed || deployed->sql_enabled),
        NewExportsObject(app, deployed ? deployed->module_name : std::string())};
    v8::Local<v8::Value> state;
    if (!create_state->Call(context, v8::Undefined(isolate), 5, state_args).ToLocal(&state)) {
      failure = js::ExceptionMessage(isolate, try_catch.Exception());
      return;
    }
    v8::Local<v8::Object> env = NewEnvObject(app);
    v8::Local<v8::Value> args[] = {state, env};
    v8::Local<v8::Object> object;
    if (!ctor->NewInstance(context, 2, args).ToLocal(&object)) {
      if (try_catch.HasTerminated()) return;
      failure = js::ExceptionMessage(isolate, try_catch.Exception());
      Log(LogLevel::kError, LogTag(instance->address) + " constructor threw: " +
                                js::ExceptionStack(isolate, try_catch.Exception()));
      return;
    }
    instance->js_object.Reset(isolate, object);
    instance->js_state.Reset(isolate, state.As<v8::Object>());
    instance->constructed = true;
  });
  ObjectInstance* still = FindBySlot(slot);
  if (still && !still->constructed) {
    // The constructor failed: its callers get the error; a later request tries again. The events
    // waiting for it fail here: handing them to a fresh instance would construct it again at once,
    // endlessly.
    BreakInstance(still, ResetReason::kConstructorFailed, failure);
  }
}

uint64_t ThreadEngine::BeginEvent(ObjectInstance* instance, ResponseCallback done) {
  const uint64_t event_id = next_event_id_++;
  const uint64_t started = EventStart(instance);
  auto& in_flight = instance->in_flight[event_id];
  in_flight.done = std::move(done);
  in_flight.started = started;
  in_flight.tail_start = started != 0 ? started : CycleClock::Now();
  instance->timer_cpu_ns = 0;
  NoteObjectBusy(instance);
  if (!instance->delivered_any) {
    instance->delivered_any = true;
    construction_backoff_.Clear(ObjectKey(instance->address));
  }
  instance->last_active = std::chrono::steady_clock::now();
  return event_id;
}

void ThreadEngine::Deliver(ObjectInstance* instance, HttpEvent event) {
  AppIsolate* app = instance->app;
  uint64_t slot = instance->slot;
  uint64_t event_id = BeginEvent(instance, std::move(event.done));
  const bool stream_body = event.stream_body;
  {
    ObjectInstance::InFlightEvent& in_flight = instance->in_flight[event_id];
    in_flight.stream_body = stream_body;
    in_flight.charge = std::move(event.charge);
    in_flight.local_call = event.local_call;
    in_flight.tail_method = event.request.method;
    in_flight.tail_path = TailPathOf(event.request.url);
  }
  if (instance->usage) ++instance->usage->http_requests;
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::Local<v8::Context> context = app->context();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    auto fail = [&] {
      if (try_catch.HasTerminated()) return;
      SettleBySlot(slot, event_id, false,
                   js::FromUtf8(isolate, js::ExceptionMessage(isolate, try_catch.Exception())));
    };
    v8::Local<v8::Value> request;
    v8::Local<v8::Value> request_stream;
    if (event.request.body_stream) {
      // A body the caller still sends (a stub's fetch()): read as it comes, like an answer's.
      // It does not keep this object in memory; the object's reset cancels it.
      const uint64_t body_id =
          AdoptStubBody(app, slot, std::move(event.request.body_stream), /*pins=*/false);
      instance->in_flight[event_id].request_body = body_id;
      v8::Local<v8::Function> make = app->RuntimeFunction("stubBodyStream");
      v8::Local<v8::Value> id_arg = v8::Number::New(isolate, static_cast<double>(body_id));
      if (make.IsEmpty() ||
          !make->Call(context, v8::Undefined(isolate), 1, &id_arg).ToLocal(&request_stream)) {
        if (auto adopted = stub_bodies_.find(body_id); adopted != stub_bodies_.end()) {
          adopted->second.stream->Cancel();
        }
        ForgetStubBody(body_id);
        fail();
        return;
      }
    }
    if (!NewJsRequest(app, std::move(event.request), request_stream).ToLocal(&request)) {
      fail();
      return;
    }
    v8::Local<v8::Value> args[] = {instance->js_object.Get(isolate), request,
                                   v8::Number::New(isolate, static_cast<double>(slot)),
                                   v8::Number::New(isolate, static_cast<double>(event_id)),
                                   v8::Boolean::New(isolate, stream_body)};
    v8::Local<v8::Value> ignored;
    if (!app->deliver_fetch()->Call(context, v8::Undefined(isolate), 5, args).ToLocal(&ignored)) {
      fail();
    }
  });
}

void ThreadEngine::SettleBySlot(uint64_t slot, uint64_t event_id, bool fulfilled,
                                v8::Local<v8::Value> value) {
  if (ObjectInstance* instance = FindBySlot(slot)) {
    OnEventSettled(instance, event_id, fulfilled, value);
  }
}

void ThreadEngine::OnEventSettled(ObjectInstance* instance, uint64_t event_id, bool fulfilled,
                                  v8::Local<v8::Value> value) {
  auto it = instance->in_flight.find(event_id);
  if (it == instance->in_flight.end()) return;
  AppIsolate* app = instance->app;
  v8::Isolate* isolate = app->isolate();
  if (!fulfilled) app->SettleMemoryRefusal();
  if (!fulfilled && (app->out_of_memory() || isolate->IsExecutionTerminating())) {
    // The turn is ending (the memory budget refused a buffer and threw its RangeError, or a limit
    // stopped the code): what was thrown is not the cause, and can no longer be read. The event
    // stays in flight; the reset that ends the turn answers it with the reason.
    return;
  }
  if (!fulfilled && !it->second.rpc) {
    std::string stack = js::ExceptionStack(isolate, value);
    app->WriteServerLog(LogLevel::kError, LogTag(instance->address) + " Uncaught " + stack);
    TailException(app, instance, "Uncaught " + stack);
  }
  const uint64_t started = it->second.started;
  const bool rpc = it->second.rpc;
  const bool foreign = it->second.foreign;
  const uint64_t stream_id = it->second.response_stream;
  const uint64_t request_body = it->second.request_body;
  if (started != 0 && instance->usage) instance->usage->wall_ticks += CycleClock::Now() - started;
  ResponseCallback done = std::move(it->second.done);
  const bool is_alarm = event_id == instance->alarm.event_id();
  // The event's line in the live log, once its status is known.
  ObjectInstance::InFlightEvent ended = std::move(it->second);
  auto tail = [&](int status) { TailEvent(instance, ended, fulfilled, is_alarm, status); };
  instance->in_flight.erase(it);
  instance->event_timeouts.erase(event_id);
  instance->last_active = std::chrono::steady_clock::now();
  if (!done) {  // a WebSocket event: nobody waits for its outcome
    tail(0);
    return;
  }
  HttpResponseData response;
  if (rpc) {
    tail(fulfilled ? 200 : 500);
    // A method's outcome goes back to its caller, thrown or not: it is not uncaught.
    Emit(instance, RpcAnswer(app, fulfilled, value, foreign), std::move(done));
    return;
  }
  if (!fulfilled) {
    response = HttpResponseData::JsonError(500, js::ExceptionMessage(isolate, value));
    response.rpc_outcome = HttpResponseData::RpcOutcome::kThrew;
    response.thrown_name = js::ErrorName(isolate, value);
    if (shared_.on_uncaught_error) {
      shared_.on_uncaught_error(instance->address, js::ExceptionMessage(isolate, value));
    }
  } else if (is_alarm) {
    response = FinishAlarmHandler(instance);
  } else {
    if (!ResponseFromJs(app, instance->js_state.Get(isolate), value, &sockets_, &forwarded_sockets_,
                        instance->address, response)) {
      // The isolate is terminating: the reset that follows answers the caller.
      ended.done = std::move(done);
      ended.started = 0;
      instance->in_flight.emplace(event_id, std::move(ended));
      return;
    }
  }
  bool answered = true;  // the response is whole: the request body can no longer be read
  if (stream_id != 0) {
    auto stream = response_streams_.find(stream_id);
    if (stream != response_streams_.end() && response.web_socket_id == 0 &&
        !response.remote_web_socket && !response.runtime_error && fulfilled) {
      response.body_stream = stream->second.stream;
      // The body may still read the request's (an echo): it goes when the response ends.
      stream->second.request_body = request_body;
      answered = false;
      if (stream->second.length >= 0) {
        // A length known in advance is the body's Content-Length, whatever the headers say.
        std::erase_if(response.headers, [](const auto& field) {
          return field.first.size() == 14 && strcasecmp(field.first.c_str(), "content-length") == 0;
        });
        response.headers.emplace_back("content-length", std::to_string(stream->second.length));
      }
    } else if (stream != response_streams_.end()) {
      // The answer is not the streamed Response (the runtime replaced it): its body goes nowhere.
      stream->second.stream->Cancel();
    }
  }
  if (answered) DropRequestBody(request_body);
  tail(response.status);
  Emit(instance, std::move(response), std::move(done));
}

}  // namespace dorm::runtime
