#include "runtime/thread_engine.h"

#include <malloc.h>
#include <strings.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstring>
#include <filesystem>

#include "js/strings.h"
#include "runtime/alarm_scheduler.h"
#include "runtime/crash_attribution.h"
#include "runtime/env_object.h"
#include "runtime/object_id.h"
#include "storage/sql_interrupt.h"
#include "util/cycle_clock.h"
#include "util/log.h"

namespace dorm::runtime {

const char kCpuLimitMessage[] = "Durable Object exceeded its CPU time limit and was reset.";
const char kMemoryLimitMessage[] =
    "Durable Object's isolate exceeded its memory limit and was reset.";
const char kCodeUpdatedMessage[] = "Durable Object reset because its code was updated.";
namespace {
const char kStorageFailureMessage[] =
    "Internal error in Durable Object storage write caused object to be reset.";

const char kEvictedMessage[] = "evicted";
const char kShutdownMessage[] = "The server is shutting down.";
// An event that reached a thread the object is no longer placed on (see ObjectPlacement); the
// routers never send one there, so this is a safeguard, not an expected answer.
const char kObjectMovedMessage[] =
    "Durable Object is being moved to another thread; retry the request.";

thread_local ThreadEngine* t_current_engine = nullptr;

// How often work held back by the long-turn limit is tried again.
constexpr std::chrono::milliseconds kLongTurnRetry{10};
// How long a heavy app's turn waits at most for the thread's flushes in progress.
constexpr std::chrono::nanoseconds kHeavyFlushWait = std::chrono::milliseconds(200);
}  // namespace

std::string ClassStoragePath(const std::string& data_dir, const std::string& app,
                             const std::string& class_name) {
  return data_dir + "/objects/" + app + "/" + class_name;
}

std::string ObjectDatabasePath(const std::string& data_dir, const ObjectAddress& a) {
  // Two hex digits of fan-out keep folders small with millions of objects.
  return ClassStoragePath(data_dir, a.app, a.class_name) + "/" + a.object_id.substr(0, 2) + "/" +
         a.object_id + ".sqlite";
}

ThreadEngine::ThreadEngine(boost::asio::io_context& io, RuntimeShared& shared, int placement_thread)
    : io_(io),
      shared_(shared),
      watchdog_slot_(shared.watchdog->RegisterCurrentThread()),
      long_turn_slot_(shared.long_turns ? shared.long_turns->Register() : -1),
      placement_thread_(shared.placement ? placement_thread : -1),
      deferred_pump_timer_(io),
      eviction_timer_(io),
      metering_(shared.options.usage_meters) {
  t_current_engine = this;
  // SQL run by this thread's objects stops when the watchdog terminates their turn.
  storage::SetThreadInterruptFlag(watchdog_slot_->terminating_flag());
  lag_window_start_ = std::chrono::steady_clock::now();
  EvictIdle();
}

ThreadEngine::~ThreadEngine() {
  eviction_timer_.cancel();
  deferred_pump_timer_.cancel();
  timers_.clear();
  for (auto& [key, instance] : objects_) {
    instance->js_object.Reset();
    for (auto& [seq, resolver] : instance->sync_waiters) resolver.Reset();
  }
  objects_.clear();
  by_slot_.clear();
  graveyard_.clear();
  rejected_promises_.clear();
  apps_.clear();
  doomed_apps_.clear();
  if (t_current_engine == this) {
    t_current_engine = nullptr;
    storage::SetThreadInterruptFlag(nullptr);
  }
}

ThreadEngine* ThreadEngine::Current() { return t_current_engine; }

// ---------------------------------------------------------------------------------------------
// Turns

template <typename Body>
bool ThreadEngine::RunTurn(AppIsolate* app, Body&& body) {
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
    if (!isolate->IsExecutionTerminating()) ReportUnhandledRejections(app);
    cpu_exceeded = watchdog_slot_->Exit();
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
  if (cpu_exceeded || app->out_of_memory() || isolate->IsExecutionTerminating()) {
    isolate->CancelTerminateExecution();
    bool oom = app->out_of_memory();
    Log(LogLevel::kWarn,
        "app '" + app->app() + "': " + (oom ? std::string(kMemoryLimitMessage) : kCpuLimitMessage));
    // The isolate is discarded in both cases: a termination can leave module state half-updated,
    // and Cloudflare's reset also starts the objects from fresh globals.
    ResetApp(app, oom ? kMemoryLimitMessage : kCpuLimitMessage, true);
    alive = false;
  }
  CommitDirty();
  return alive;
}

void ThreadEngine::OnPromiseReject(v8::PromiseRejectMessage message) {
  ThreadEngine* self = Current();
  if (!self) return;
  v8::Local<v8::Promise> promise = message.GetPromise();
  v8::Isolate* isolate = promise->GetIsolate();
  auto* app = static_cast<AppIsolate*>(isolate->GetData(0));
  if (message.GetEvent() == v8::kPromiseRejectWithNoHandler) {
    self->rejected_promises_.emplace_back(app, v8::Global<v8::Promise>(isolate, promise));
  } else if (message.GetEvent() == v8::kPromiseHandlerAddedAfterReject) {
    auto& list = self->rejected_promises_;
    for (auto it = list.begin(); it != list.end(); ++it) {
      if (it->second.Get(isolate) == promise) {
        list.erase(it);
        break;
      }
    }
  }
}

void ThreadEngine::ReportUnhandledRejections(AppIsolate* app) {
  if (rejected_promises_.empty()) return;
  v8::Isolate* isolate = app->isolate();
  auto list = std::move(rejected_promises_);
  rejected_promises_.clear();
  for (auto& [owner, promise] : list) {
    if (owner != app) continue;
    v8::Local<v8::Promise> p = promise.Get(isolate);
    std::string where;
    if (auto* instance = FindBySlot(current_slot_)) {
      where = "[" + instance->address.class_name + "/" + instance->address.instance_name + "] ";
    }
    Log(LogLevel::kError,
        where + "Uncaught (in promise) " + js::ExceptionStack(isolate, p->Result()));
  }
}

// ---------------------------------------------------------------------------------------------
// Dispatch

AppIsolate* ThreadEngine::AppFor(const std::shared_ptr<const AppCode>& code) {
  auto it = apps_.find(code->app);
  if (it != apps_.end() && it->second->generation() == code->generation) return it->second.get();
  if (it != apps_.end()) ResetApp(it->second.get(), kCodeUpdatedMessage, true);
  auto app = std::make_unique<AppIsolate>(this, code, shared_.options.heap_limit_bytes);
  AppIsolate* raw = app.get();
  apps_[code->app] = std::move(app);
  return raw;
}

void ThreadEngine::RefreshApp(const std::string& app) {
  auto it = apps_.find(app);
  if (it == apps_.end()) return;
  auto code = shared_.catalog.Get(app);
  if (code && code->generation == it->second->generation()) return;
  ResetApp(it->second.get(), kCodeUpdatedMessage, true);
}

void ThreadEngine::DispatchFetch(ObjectAddress address, HttpRequestData request,
                                 ResponseCallback done) {
  std::string key = placement_thread_ >= 0 ? ObjectKey(address) : std::string();
  NoteArrived(key);
  FetchEvent event;
  event.request = std::move(request);
  event.done = std::move(done);
  DispatchEvent(std::move(address), std::move(event));
  // Refused (class gone, construction backing off): nothing of the object may be left here.
  ReleasePlacementIfGone(key);
}

void ThreadEngine::NoteArrived(const std::string& key) {
  if (placement_thread_ >= 0) shared_.placement->Arrived(key);
}

void ThreadEngine::ReleasePlacementIfGone(const std::string& key) {
  if (placement_thread_ < 0) return;
  if (objects_.count(key) != 0 || sockets_.HasSockets(key)) return;
  if (!unconfirmed_paths_.empty()) {
    // The database of an object whose last flush failed stays with this thread, which knows it.
    std::optional<ObjectAddress> parsed = ParseObjectKey(key);
    if (!parsed) return;
    ObjectAddress& address = *parsed;
    address.object_id =
        ObjectIdFromName(NamespaceKey(address.app, address.class_name), address.instance_name);
    if (unconfirmed_paths_.count(ObjectDatabasePath(shared_.options.data_dir, address)) != 0) {
      return;
    }
  }
  shared_.placement->Release(key, static_cast<size_t>(placement_thread_));
}

bool ThreadEngine::DispatchEvent(ObjectAddress address, FetchEvent event) {
  bool class_exists = true;
  AppIsolate* app = AppForClass(address, &class_exists);
  if (!app) {
    if (event.done) {
      event.done(class_exists ? HttpResponseData::JsonError(
                                    500, "internal error: cannot start the JavaScript runtime")
                              : HttpResponseData::JsonError(
                                    404, "No Durable Object class named '" + address.class_name +
                                             "' in app '" + address.app + "'."));
    }
    return class_exists;
  }
  if (RefuseDuringBackoff(address, event)) return true;
  ObjectInstance* instance = EnsureInstance(std::move(address), app);
  if (!instance) {
    if (event.done) event.done(HttpResponseData::JsonError(503, kObjectMovedMessage));
    return true;
  }
  instance->last_active = std::chrono::steady_clock::now();
  instance->queued.push_back(std::move(event));
  Pump(instance->slot);
  return true;
}

bool ThreadEngine::RefuseDuringBackoff(const ObjectAddress& address, FetchEvent& event) {
  if (construction_failures_.empty()) return false;
  const std::string key = ObjectKey(address);
  if (objects_.count(key) != 0) return false;  // an instance exists: it decides
  auto it = construction_failures_.find(key);
  if (it == construction_failures_.end()) return false;
  if (std::chrono::steady_clock::now() >= it->second.retry_at) return false;
  if (event.done) event.done(HttpResponseData::JsonError(500, it->second.message));
  return true;
}

void ThreadEngine::FailConstruction(ObjectInstance* instance, const std::string& message,
                                    std::deque<FetchEvent> waiting) {
  constexpr size_t kMaxRemembered = 10000;
  constexpr auto kFirstDelay = std::chrono::milliseconds(100);
  constexpr auto kMaxDelay = std::chrono::seconds(10);
  if (construction_failures_.size() >= kMaxRemembered) construction_failures_.clear();
  ConstructionFailure& failure = construction_failures_[ObjectKey(instance->address)];
  failure.failures = std::min(failure.failures + 1, 30);
  auto delay = kFirstDelay * (1LL << std::min(failure.failures - 1, 10));
  if (delay > kMaxDelay) delay = kMaxDelay;
  failure.retry_at = std::chrono::steady_clock::now() + delay;
  failure.message = message;
  Log(LogLevel::kWarn,
      "[" + instance->address.app + "/" + instance->address.class_name + "/" +
          instance->address.instance_name + "] construction failed; events fail for the next " +
          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()) +
          " ms: " + message);
  for (auto& event : waiting) {
    // Socket events have nobody waiting for an answer; alarms retry on their own schedule.
    if (event.done) event.done(HttpResponseData::JsonError(500, message));
  }
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

ObjectInstance* ThreadEngine::EnsureInstance(ObjectAddress address, AppIsolate* app) {
  std::string key = ObjectKey(address);
  auto it = objects_.find(key);
  if (it != objects_.end()) return it->second.get();
  if (placement_thread_ >= 0 &&
      !shared_.placement->Pin(key, static_cast<size_t>(placement_thread_))) {
    Log(LogLevel::kError, "[" + address.app + "/" + address.class_name + "/" +
                              address.instance_name +
                              "] not created: the object lives on another thread");
    return nullptr;
  }
  auto created = std::make_unique<ObjectInstance>();
  created->slot = next_slot_++;
  if (address.object_id.empty()) {
    address.object_id =
        ObjectIdFromName(NamespaceKey(address.app, address.class_name), address.instance_name);
  }
  created->db_path = ObjectDatabasePath(shared_.options.data_dir, address);
  created->address = std::move(address);
  created->app = app;
  created->generation = app->generation();
  if (metering_) {
    created->usage = usage_.Acquire(key);
    ++created->usage->instances;
  }
  ObjectInstance* instance = created.get();
  by_slot_[instance->slot] = instance;
  objects_[key] = std::move(created);
  return instance;
}

// ---------------------------------------------------------------------------------------------
// Alarms

namespace {
long long ThreadCpuNanos() {
  timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return 0;
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

long long NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
constexpr int kMaxAlarmRetries = 6;
// An object whose alarm is due within this long (or was due no longer ago) keeps its instance
// and database connection.
constexpr long long kAlarmKeepWarmMs = 10000;
}  // namespace

void ThreadEngine::FireAlarm(ObjectAddress address, long long scheduled_ms, int retry_count) {
  std::string key = placement_thread_ >= 0 ? ObjectKey(address) : std::string();
  NoteArrived(key);
  FireAlarmHere(std::move(address), scheduled_ms, retry_count);
  ReleasePlacementIfGone(key);
}

void ThreadEngine::FireAlarmHere(ObjectAddress address, long long scheduled_ms, int retry_count) {
  bool class_exists = true;
  AppIsolate* app = AppForClass(address, &class_exists);
  if (!app) {
    if (class_exists) {
      OnAlarmDone(address, scheduled_ms, retry_count, false, "cannot start the JavaScript runtime");
    } else if (shared_.alarm_scheduler) {
      // The class is gone; so are its objects' storage and alarms.
      shared_.alarm_scheduler->Set(address, std::nullopt);
    }
    return;
  }
  ObjectInstance* instance = EnsureInstance(address, app);
  if (!instance) {
    // The scheduler retries it, and routes the retry to the object's thread.
    OnAlarmDone(address, scheduled_ms, retry_count, false, kObjectMovedMessage);
    return;
  }
  instance->last_active = std::chrono::steady_clock::now();
  FetchEvent event;
  event.alarm = true;
  event.alarm_retry = retry_count;
  event.done = [this, address, scheduled_ms, retry_count](HttpResponseData response) {
    OnAlarmDone(address, scheduled_ms, retry_count, response.status < 400, response.body);
  };
  instance->queued.push_back(std::move(event));
  Pump(instance->slot);
}

bool ThreadEngine::AlarmDueSoon(const ObjectInstance* instance, long long now_ms) {
  // An alarm long past due (a handler being retried) pins nothing: a retry can load the object.
  return instance->stored_alarm && *instance->stored_alarm - now_ms < kAlarmKeepWarmMs &&
         now_ms - *instance->stored_alarm < kAlarmKeepWarmMs;
}

void ThreadEngine::TouchAlarm(ObjectInstance* instance) {
  instance->alarm_touched = true;
  if (instance->running_alarm) instance->alarm_set_during_run = true;
  MarkWritten(instance);
}

void ThreadEngine::OnAlarmDone(const ObjectAddress& address, long long scheduled_ms,
                               int retry_count, bool ok, const std::string& error) {
  AlarmScheduler* scheduler = shared_.alarm_scheduler;
  auto it = objects_.find(ObjectKey(address));
  ObjectInstance* instance = it == objects_.end() ? nullptr : it->second.get();
  bool changed = false;
  // `scheduled_ms` is when the scheduler fired (a retry's time); the alarm itself is the value
  // that was stored when its handler started.
  if (instance && instance->running_alarm) scheduled_ms = *instance->running_alarm;
  if (instance) {
    changed = instance->alarm_set_during_run;
    instance->running_alarm.reset();
    instance->alarm_set_during_run = false;
  }
  if (!ok && retry_count < kMaxAlarmRetries) {
    long long delay = shared_.options.alarm_retry_base.count() << retry_count;
    Log(LogLevel::kWarn, "[" + address.app + "/" + address.class_name + "/" +
                             address.instance_name + "] alarm failed (retry " +
                             std::to_string(retry_count + 1) + " in " + std::to_string(delay) +
                             " ms): " + error);
    if (scheduler) scheduler->Retry(address, NowMs() + delay, retry_count + 1);
    return;
  }
  if (!ok) {
    Log(LogLevel::kError, "[" + address.app + "/" + address.class_name + "/" +
                              address.instance_name + "] alarm failed " +
                              std::to_string(kMaxAlarmRetries + 1) + " times; dropped: " + error);
  }
  // Done (or given up): the alarm is deleted unless the handler (or a request meanwhile) set a
  // new one. Its own commit tells the scheduler.
  if (!changed) {
    if (!instance) {
      bool class_exists = true;
      AppIsolate* app = AppForClass(address, &class_exists);
      if (!app) return;
      instance = EnsureInstance(address, app);
      if (!instance) return;
    }
    try {
      storage::ObjectDatabase* db = Database(instance, false);
      std::optional<long long> stored = db ? db->GetAlarm() : std::nullopt;
      if (stored && *stored == scheduled_ms) {
        db->SetAlarm(std::nullopt);
        TouchAlarm(instance);
        CommitDirty();
        return;
      }
      if (scheduler) scheduler->Set(address, stored);
    } catch (const storage::StorageError& e) {
      Log(LogLevel::kError, std::string("cannot delete a fired alarm: ") + e.what());
      BreakInstance(instance, kStorageFailureMessage);
    }
  } else if (scheduler && instance) {
    try {
      storage::ObjectDatabase* db = Database(instance, false);
      scheduler->Set(address, db ? db->GetAlarm() : std::nullopt);
    } catch (const storage::StorageError&) {
    }
  }
}

void ThreadEngine::DeliverAlarm(ObjectInstance* instance, FetchEvent event) {
  // The object's database is the truth: the alarm may have been deleted or moved since.
  std::optional<long long> stored;
  try {
    storage::ObjectDatabase* db = Database(instance, false);
    stored = db ? db->GetAlarm() : std::nullopt;
  } catch (const storage::StorageError& e) {
    event.done(HttpResponseData::JsonError(500, e.what()));
    return;
  }
  if (!stored || *stored > NowMs() + 5) {
    if (shared_.alarm_scheduler) shared_.alarm_scheduler->Set(instance->address, stored);
    return;
  }
  AppIsolate* app = instance->app;
  uint64_t slot = instance->slot;
  uint64_t event_id = next_event_id_++;
  instance->in_flight.emplace(
      event_id, ObjectInstance::InFlightEvent{std::move(event.done), EventStart(instance)});
  if (instance->usage) ++instance->usage->alarms;
  instance->timer_cpu_ns = 0;
  if (!instance->delivered_any) {
    instance->delivered_any = true;
    if (!construction_failures_.empty()) construction_failures_.erase(ObjectKey(instance->address));
  }
  instance->running_alarm = *stored;
  instance->alarm_event_id = event_id;
  instance->alarm_set_during_run = false;
  long long scheduled = *stored;
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::Local<v8::Context> context = app->context();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    // CreateDataProperty, not Set: Set would call setters user code may have put on
    // Object.prototype, and could fail.
    v8::Local<v8::Object> info = v8::Object::New(isolate);
    if (info->CreateDataProperty(context, js::FromUtf8(isolate, "retryCount"),
                                 v8::Integer::New(isolate, event.alarm_retry))
            .IsNothing() ||
        info->CreateDataProperty(context, js::FromUtf8(isolate, "isRetry"),
                                 v8::Boolean::New(isolate, event.alarm_retry > 0))
            .IsNothing() ||
        info->CreateDataProperty(context, js::FromUtf8(isolate, "scheduledTime"),
                                 v8::Number::New(isolate, static_cast<double>(scheduled)))
            .IsNothing()) {
      if (!try_catch.HasTerminated()) OnEventSettled(slot, event_id, false, try_catch.Exception());
      return;
    }
    v8::Local<v8::Value> args[] = {instance->js_object.Get(isolate), info,
                                   v8::Number::New(isolate, static_cast<double>(slot)),
                                   v8::Number::New(isolate, static_cast<double>(event_id))};
    v8::Local<v8::Value> ignored;
    if (!app->RuntimeFunction("deliverAlarm")
             ->Call(context, v8::Undefined(isolate), 4, args)
             .ToLocal(&ignored) &&
        !try_catch.HasTerminated()) {
      OnEventSettled(slot, event_id, false, try_catch.Exception());
    }
  });
}

namespace {
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
  if (!record || record->address.app != caller->app()) return nullptr;
  return record;
}

ObjectInstance* ThreadEngine::FindBySlot(uint64_t slot) {
  auto it = by_slot_.find(slot);
  return it == by_slot_.end() ? nullptr : it->second;
}

void ThreadEngine::SchedulePump(uint64_t slot) {
  boost::asio::post(io_, [this, slot] { Pump(slot); });
}

bool ThreadEngine::MayStartTurn(const AppIsolate* app) const {
  // With a single app there is no other tenant to keep a thread for.
  return !shared_.long_turns || shared_.catalog.AppCount() <= 1 ||
         shared_.long_turns->MayStart(long_turn_slot_, LongTurnLimit::AppTag(app->app()),
                                      LongTurnLimit::NowNs());
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
    if (!instance || instance->gate_depth > 0 || instance->queued.empty()) return;
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
      Construct(instance);
      continue;
    }
    FetchEvent event = std::move(instance->queued.front());
    instance->queued.pop_front();
    if (event.alarm) {
      DeliverAlarm(instance, std::move(event));
    } else if (event.socket) {
      DeliverSocketEvent(instance, std::move(event));
    } else {
      Deliver(instance, std::move(event));
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
    v8::Local<v8::Value> state_args[] = {v8::Number::New(isolate, static_cast<double>(slot)),
                                         js::FromUtf8(isolate, instance->address.object_id),
                                         js::FromUtf8(isolate, instance->address.instance_name)};
    v8::Local<v8::Value> state;
    if (!create_state->Call(context, v8::Undefined(isolate), 3, state_args).ToLocal(&state)) {
      failure = js::ExceptionMessage(isolate, try_catch.Exception());
      return;
    }
    v8::Local<v8::Object> env = NewEnvObject(isolate, context, app->code()->env);
    v8::Local<v8::Value> args[] = {state, env};
    v8::Local<v8::Object> object;
    if (!ctor->NewInstance(context, 2, args).ToLocal(&object)) {
      if (try_catch.HasTerminated()) return;
      failure = js::ExceptionMessage(isolate, try_catch.Exception());
      Log(LogLevel::kError,
          "[" + instance->address.class_name + "/" + instance->address.instance_name +
              "] constructor threw: " + js::ExceptionStack(isolate, try_catch.Exception()));
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
    if (failure.empty()) failure = "Durable Object constructor failed.";
    BreakInstance(still, failure);
  }
}

void ThreadEngine::Deliver(ObjectInstance* instance, FetchEvent event) {
  AppIsolate* app = instance->app;
  uint64_t slot = instance->slot;
  uint64_t event_id = next_event_id_++;
  instance->in_flight.emplace(
      event_id, ObjectInstance::InFlightEvent{std::move(event.done), EventStart(instance)});
  if (instance->usage) ++instance->usage->http_requests;
  instance->timer_cpu_ns = 0;
  if (!instance->delivered_any) {
    instance->delivered_any = true;
    if (!construction_failures_.empty()) construction_failures_.erase(ObjectKey(instance->address));
  }
  instance->last_active = std::chrono::steady_clock::now();
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::Local<v8::Context> context = app->context();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    auto fail = [&](const std::string& message) {
      OnEventSettled(slot, event_id, false, js::FromUtf8(isolate, message));
    };
    // The request as a Request object.
    // Built from its elements: Set() would call setters user code may have put on
    // Array.prototype.
    std::vector<v8::Local<v8::Value>> header_items;
    header_items.reserve(event.request.headers.size() * 2);
    for (const auto& [name, value] : event.request.headers) {
      header_items.push_back(js::FromLatin1(isolate, name));
      header_items.push_back(js::FromLatin1(isolate, value));
    }
    v8::Local<v8::Array> headers =
        v8::Array::New(isolate, header_items.data(), header_items.size());
    v8::Local<v8::Value> body = v8::Null(isolate);
    if (!event.request.body.empty()) {
      // The body's memory is the request's own; it does not count against the isolate's budget.
      auto* bytes = new std::string(std::move(event.request.body));
      auto store = v8::ArrayBuffer::NewBackingStore(
          bytes->data(), bytes->size(),
          [](void*, size_t, void* data) { delete static_cast<std::string*>(data); }, bytes);
      size_t length = store->ByteLength();
      v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, std::move(store));
      body = v8::Uint8Array::New(buffer, 0, length);
    }
    v8::Local<v8::Value> request_args[] = {js::FromUtf8(isolate, event.request.method),
                                           js::FromUtf8(isolate, event.request.url), headers, body};
    v8::Local<v8::Value> request;
    if (!app->new_request()
             ->Call(context, v8::Undefined(isolate), 4, request_args)
             .ToLocal(&request)) {
      if (!try_catch.HasTerminated()) fail(js::ExceptionMessage(isolate, try_catch.Exception()));
      return;
    }
    v8::Local<v8::Value> args[] = {instance->js_object.Get(isolate), request,
                                   v8::Number::New(isolate, static_cast<double>(slot)),
                                   v8::Number::New(isolate, static_cast<double>(event_id))};
    v8::Local<v8::Value> ignored;
    if (!app->deliver_fetch()->Call(context, v8::Undefined(isolate), 4, args).ToLocal(&ignored) &&
        !try_catch.HasTerminated()) {
      fail(js::ExceptionMessage(isolate, try_catch.Exception()));
    }
  });
}

// Defined here, beside RunTurn, which it needs; the rest of the WebSocket half is in
// thread_engine_web_sockets.cc.
void ThreadEngine::DeliverSocketEvent(ObjectInstance* instance, FetchEvent event) {
  const SocketEvent& socket_event = *event.socket;
  WebSocketRecord* record = sockets_.Find(socket_event.socket_id);
  if (!record) return;  // closed by a reset meanwhile
  AppIsolate* app = instance->app;
  uint64_t slot = instance->slot;
  uint64_t event_id = next_event_id_++;
  instance->in_flight.emplace(
      event_id, ObjectInstance::InFlightEvent{ResponseCallback(), EventStart(instance)});
  instance->timer_cpu_ns = 0;
  if (!instance->delivered_any) {
    instance->delivered_any = true;
    if (!construction_failures_.empty()) construction_failures_.erase(ObjectKey(instance->address));
  }
  // Messages delivered to the object count as requests; auto-responses never get here.
  if (instance->usage && socket_event.kind == SocketEvent::Kind::kMessage) {
    ++instance->usage->websocket_messages;
  }
  instance->last_active = std::chrono::steady_clock::now();
  bool hibernatable = record->mode == WebSocketRecord::Mode::kHibernatable;
  // The connection is gone; the object hears of it now, and then the socket is forgotten. The
  // record stays through the turn so the close handler's wrapper can copy the attachment and tags.
  const bool forget = socket_event.kind == SocketEvent::Kind::kClose;
  const uint64_t socket_id = socket_event.socket_id;
  if (hibernatable) StartEventTimeout(instance, event_id, record->object_key);
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::Local<v8::Context> context = app->context();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    const char* kind = socket_event.kind == SocketEvent::Kind::kMessage ? "message"
                       : socket_event.kind == SocketEvent::Kind::kClose ? "close"
                                                                        : "error";
    v8::Local<v8::Value> data;
    if (socket_event.kind == SocketEvent::Kind::kMessage && !socket_event.text) {
      v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, socket_event.data.size());
      if (!socket_event.data.empty()) {
        std::memcpy(buffer->GetBackingStore()->Data(), socket_event.data.data(),
                    socket_event.data.size());
      }
      data = buffer;
    } else {
      data = js::FromUtf8(isolate, socket_event.data);
    }
    v8::Local<v8::Value> args[] = {
        instance->js_object.Get(isolate),
        instance->js_state.Get(isolate),
        js::FromUtf8(isolate, kind),
        v8::Number::New(isolate, static_cast<double>(socket_event.socket_id)),
        v8::Boolean::New(isolate, hibernatable),
        data,
        v8::Integer::New(isolate, socket_event.code),
        v8::Boolean::New(isolate, socket_event.was_clean),
        v8::Number::New(isolate, static_cast<double>(slot)),
        v8::Number::New(isolate, static_cast<double>(event_id))};
    v8::Local<v8::Value> ignored;
    if (!app->RuntimeFunction("deliverWebSocketEvent")
             ->Call(context, v8::Undefined(isolate), 10, args)
             .ToLocal(&ignored) &&
        !try_catch.HasTerminated()) {
      OnEventSettled(slot, event_id, false, try_catch.Exception());
    }
  });
  // Harmless if a reset during the turn removed it already.
  if (forget) sockets_.Remove(socket_id);
}

void ThreadEngine::OnEventSettled(uint64_t slot, uint64_t event_id, bool fulfilled,
                                  v8::Local<v8::Value> value) {
  ObjectInstance* instance = FindBySlot(slot);
  if (!instance) return;
  auto it = instance->in_flight.find(event_id);
  if (it == instance->in_flight.end()) return;
  if (!fulfilled) {
    Log(LogLevel::kError, "[" + instance->address.app + "/" + instance->address.class_name + "/" +
                              instance->address.instance_name + "] Uncaught " +
                              js::ExceptionStack(instance->app->isolate(), value));
  }
  const uint64_t started = it->second.started;
  if (started != 0 && instance->usage) instance->usage->wall_ticks += CycleClock::Now() - started;
  ResponseCallback done = std::move(it->second.done);
  instance->in_flight.erase(it);
  instance->event_timeouts.erase(event_id);
  instance->last_active = std::chrono::steady_clock::now();
  AppIsolate* app = instance->app;
  v8::Isolate* isolate = app->isolate();
  if (!done) return;  // a WebSocket event: nobody waits for its outcome
  HttpResponseData response;
  if (!fulfilled) {
    response = HttpResponseData::JsonError(500, js::ExceptionMessage(isolate, value));
  } else if (event_id == instance->alarm_event_id) {
    // An alarm handler completed: there is no Response to send, only the outcome. Unless it (or
    // a request meanwhile) set a new alarm, the alarm is deleted in the same transaction as the
    // handler's last writes, so one commit makes both durable.
    response.status = 200;
    if (!instance->alarm_set_during_run && instance->running_alarm) {
      try {
        storage::ObjectDatabase* db = Database(instance, false);
        if (db && db->GetAlarm() == instance->running_alarm) {
          db->SetAlarm(std::nullopt);
          instance->alarm_touched = true;
          MarkWritten(instance);
        }
      } catch (const storage::StorageError& e) {
        response = HttpResponseData::JsonError(500, e.what());
      }
    }
  } else {
    v8::Local<v8::Context> context = app->context();
    v8::TryCatch try_catch(isolate);
    v8::Local<v8::Value> parts_value;
    if (!app->response_parts()
             ->Call(context, v8::Undefined(isolate), 1, &value)
             .ToLocal(&parts_value) ||
        !parts_value->IsObject()) {
      if (try_catch.HasTerminated()) {
        instance->in_flight.emplace(event_id, ObjectInstance::InFlightEvent{std::move(done), 0});
        return;
      }
      std::string message = js::ExceptionMessage(isolate, try_catch.Exception());
      Log(LogLevel::kError, "[" + instance->address.class_name + "/" +
                                instance->address.instance_name + "] " + message);
      response = HttpResponseData::JsonError(500, message);
    } else {
      v8::Local<v8::Object> parts = parts_value.As<v8::Object>();
      // Getters user code put on Object.prototype may run (and throw) here: a failed read
      // gives undefined, which the checks below turn into a 500.
      auto get = [&](AppIsolate::Name name) -> v8::Local<v8::Value> {
        v8::Local<v8::Value> value;
        if (!parts->Get(context, app->name(name)).ToLocal(&value)) return v8::Undefined(isolate);
        return value;
      };
      response.status =
          static_cast<int>(get(AppIsolate::kStatus)->Int32Value(context).FromMaybe(500));
      response.status_text = js::ToUtf8(isolate, get(AppIsolate::kStatusText));
      v8::Local<v8::Value> headers = get(AppIsolate::kHeaders);
      if (headers->IsArray()) {
        auto array = headers.As<v8::Array>();
        for (uint32_t i = 0; i + 1 < array->Length(); i += 2) {
          v8::Local<v8::Value> name, value;
          if (!array->Get(context, i).ToLocal(&name) ||
              !array->Get(context, i + 1).ToLocal(&value) || !name->IsString() ||
              !value->IsString()) {
            continue;
          }
          response.headers.emplace_back(js::ToLatin1(isolate, name), js::ToLatin1(isolate, value));
        }
      }
      v8::Local<v8::Value> web_socket;
      if (!parts->Get(context, js::FromUtf8(isolate, "webSocket")).ToLocal(&web_socket)) {
        web_socket = v8::Undefined(isolate);
      }
      if (web_socket->IsObject()) {
        // The client end of a WebSocketPair: its server end becomes this connection's socket.
        v8::Local<v8::Value> bind_args[] = {web_socket, instance->js_state.Get(isolate)};
        v8::Local<v8::Value> id;
        v8::TryCatch bind_catch(isolate);
        if (app->RuntimeFunction("bindResponseWebSocket")
                ->Call(context, v8::Undefined(isolate), 2, bind_args)
                .ToLocal(&id)) {
          response.web_socket_id = static_cast<uint64_t>(id->NumberValue(context).FromMaybe(0));
        } else if (bind_catch.HasTerminated()) {
          instance->in_flight.emplace(event_id, ObjectInstance::InFlightEvent{std::move(done), 0});
          return;
        } else {
          response.status = 500;
          response.body = js::ExceptionMessage(isolate, bind_catch.Exception());
        }
      }
      v8::Local<v8::Value> body = get(AppIsolate::kBody);
      if (body->IsString()) {
        response.body = js::ToUtf8(isolate, body);
      } else if (body->IsArrayBufferView()) {
        auto view = body.As<v8::ArrayBufferView>();
        response.body.resize(view->ByteLength());
        view->CopyContents(response.body.data(), response.body.size());
      }
      if (response.web_socket_id != 0) {
        if (WebSocketRecord* record = sockets_.Find(response.web_socket_id)) {
          for (const auto& [name, value] : response.headers) {
            if (name.size() == 22 && strcasecmp(name.c_str(), "sec-websocket-protocol") == 0) {
              record->protocol = value;
            }
          }
        }
      }
      if (response.status == 500 && response.web_socket_id == 0 && web_socket->IsObject()) {
        std::string message = response.body;
        Log(LogLevel::kError, "[" + instance->address.class_name + "/" +
                                  instance->address.instance_name + "] " + message);
        response = HttpResponseData::JsonError(500, message);
      } else if (response.status < 100 || response.status > 999) {
        // Response.error() (status 0) is a network error: the client gets a 500.
        response = HttpResponseData::JsonError(
            500, "The Durable Object returned a network error (Response.error()).");
      }
    }
  }
  if (response.status == 500 && !fulfilled && shared_.on_uncaught_error) {
    shared_.on_uncaught_error(instance->address, js::ExceptionMessage(isolate, value));
  }
  Emit(instance, std::move(response), std::move(done));
}

// ---------------------------------------------------------------------------------------------
// Output gate and storage

uint64_t ThreadEngine::RequiredSeq(ObjectInstance* instance) const {
  bool uncommitted = instance->db && instance->db->in_transaction();
  return instance->commit_seq + (uncommitted ? 1 : 0);
}

void ThreadEngine::Emit(ObjectInstance* instance, HttpResponseData response,
                        ResponseCallback done) {
  uint64_t required = RequiredSeq(instance);
  if (instance->durable_seq >= required) {
    done(std::move(response));
    return;
  }
  instance->gated.push_back({required, std::move(response), std::move(done)});
}

void ThreadEngine::ReleaseGated(ObjectInstance* instance) {
  std::vector<ObjectInstance::GatedOutput> ready;
  auto& gated = instance->gated;
  for (auto it = gated.begin(); it != gated.end();) {
    if (it->required_seq <= instance->durable_seq) {
      ready.push_back(std::move(*it));
      it = gated.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& out : ready) out.done(std::move(out.response));
  if (!instance->gated_socket_outputs.empty()) {
    auto& outputs = instance->gated_socket_outputs;
    size_t released = 0;
    // In call order: a later output never overtakes an earlier one on the same socket.
    while (released < outputs.size() && outputs[released].required_seq <= instance->durable_seq) {
      ++released;
    }
    if (released > 0) {
      std::vector<ObjectInstance::GatedSocketOutput> now(
          std::make_move_iterator(outputs.begin()),
          std::make_move_iterator(outputs.begin() + static_cast<long>(released)));
      outputs.erase(outputs.begin(), outputs.begin() + static_cast<long>(released));
      for (const auto& output : now) PerformSocketOutput(output);
    }
  }
  ResolveSyncWaiters(instance);
}

void ThreadEngine::ResolveSyncWaiters(ObjectInstance* instance) {
  const uint64_t durable = instance->durable_seq;
  if (std::none_of(instance->sync_waiters.begin(), instance->sync_waiters.end(),
                   [durable](const auto& waiter) { return waiter.first <= durable; })) {
    return;
  }
  AppIsolate* app = instance->app;
  uint64_t slot = instance->slot;
  // Resolving runs the app's JavaScript (what awaited the flush): a turn like any other.
  if (!MayStartTurn(app)) {
    DeferPump(slot);
    return;
  }
  v8::Isolate* isolate = app->isolate();
  std::vector<v8::Global<v8::Promise::Resolver>> resolved;
  auto& waiters = instance->sync_waiters;
  for (auto it = waiters.begin(); it != waiters.end();) {
    if (it->first <= instance->durable_seq) {
      resolved.push_back(std::move(it->second));
      it = waiters.erase(it);
    } else {
      ++it;
    }
  }
  if (resolved.empty()) return;
  RunTurn(app, [&] {
    current_slot_ = slot;
    for (auto& r : resolved) {
      // Nothing once the isolate is terminating; the reset that follows drops the promise.
      if (r.Get(isolate)->Resolve(app->context(), v8::Undefined(isolate)).IsNothing()) break;
    }
  });
}

storage::ObjectDatabase* ThreadEngine::Database(ObjectInstance* instance, bool create) {
  if (instance->db) {
    TouchOpenList(instance);
    return instance->db.get();
  }
  if (instance->db_absent && !create) return nullptr;
  instance->db = storage::ObjectDatabase::Open(instance->db_path, create, shared_.storage_quota,
                                               instance->address.app);
  if (!instance->db) {
    instance->db_absent = true;
    return nullptr;
  }
  instance->db_absent = false;
  TouchOpenList(instance);
  if (!unconfirmed_paths_.empty() && unconfirmed_paths_.count(instance->db_path) != 0) {
    // A previous instance's flush failed: what the WAL holds is not known to be durable. Count it
    // as one more commit and flush it before any output of this instance is released.
    ++instance->commit_seq;
    ScheduleSync(instance);
  }
  // Keep the number of open connections bounded; close the coldest idle ones.
  while (open_database_count_ > shared_.options.max_open_databases_per_thread) {
    ObjectInstance* coldest = nullptr;
    for (auto it = open_databases_.rbegin(); it != open_databases_.rend(); ++it) {
      ObjectInstance* candidate = *it;
      if (candidate != instance && !candidate->db->in_transaction() && candidate->txn_depth == 0 &&
          !candidate->db->has_clients()) {
        coldest = candidate;
        break;
      }
    }
    if (!coldest) break;
    CloseDatabase(coldest);
  }
  return instance->db.get();
}

void ThreadEngine::TouchOpenList(ObjectInstance* instance) {
  instance->last_storage_use = std::chrono::steady_clock::now();
  if (instance->in_open_list) {
    open_databases_.splice(open_databases_.begin(), open_databases_, instance->open_list_position);
  } else {
    open_databases_.push_front(instance);
    instance->open_list_position = open_databases_.begin();
    instance->in_open_list = true;
    ++open_database_count_;
  }
}

void ThreadEngine::CloseDatabase(ObjectInstance* instance) {
  if (instance->db && instance->usage && instance->usage->storage_stale) {
    // The size is known cheaply only while the connection is open.
    instance->usage->storage_bytes = instance->db->SizeBytes();
    instance->usage->storage_stale = false;
  }
  if (instance->in_open_list) {
    open_databases_.erase(instance->open_list_position);
    instance->in_open_list = false;
    --open_database_count_;
  }
  instance->db.reset();
}

void ThreadEngine::MarkWritten(ObjectInstance* instance) { dirty_.insert(instance->slot); }

void ThreadEngine::CommitDirty() {
  if (dirty_.empty()) return;
  std::vector<uint64_t> slots(dirty_.begin(), dirty_.end());
  dirty_.clear();
  for (uint64_t slot : slots) {
    ObjectInstance* instance = FindBySlot(slot);
    if (!instance || !instance->db) continue;
    if (instance->txn_depth > 0) {
      // An explicit transaction spans turns; it commits when it ends.
      dirty_.insert(slot);
      continue;
    }
    if (!instance->db->in_transaction()) continue;
    try {
      instance->db->Commit();
      ++instance->commit_seq;
      if (instance->usage) instance->usage->storage_stale = true;
      instance->db->MaybeCheckpoint();
      if (instance->alarm_touched) {
        instance->alarm_touched = false;
        std::optional<long long> alarm = instance->db->GetAlarm();
        instance->stored_alarm = alarm;
        if (shared_.alarm_index) {
          const ObjectAddress& a = instance->address;
          alarm_index_changes_.push_back(storage::AlarmChange{
              storage::AlarmEntry{a.app, a.class_name, a.instance_name, alarm.value_or(0)},
              !alarm});
          alarm_index_change_slots_.push_back(instance->slot);
          instance->flush_alarm_index = true;
          if (!alarm_index_apply_posted_) {
            alarm_index_apply_posted_ = true;
            boost::asio::post(io_, [this] { ApplyAlarmIndexChanges(); });
          }
        }
        if (shared_.alarm_scheduler && !instance->running_alarm) {
          shared_.alarm_scheduler->Set(instance->address, alarm);
        }
      }
      ScheduleSync(instance);
    } catch (const storage::StorageError& e) {
      Log(LogLevel::kError, "[" + instance->address.class_name + "/" +
                                instance->address.instance_name +
                                "] storage commit failed: " + e.what());
      BreakInstance(instance, kStorageFailureMessage);
    }
  }
}

void ThreadEngine::ScheduleSync(ObjectInstance* instance) {
  if (instance->sync_in_flight) {
    instance->sync_again = true;
    return;
  }
  instance->sync_in_flight = true;
  bool first = sync_batch_.empty();
  std::unique_ptr<storage::SyncTarget> target = instance->db->MakeSyncTarget();
  if (instance->flush_alarm_index && shared_.alarm_index) {
    instance->flush_alarm_index = false;
    target->data_paths.push_back(shared_.alarm_index->LogPath());
  }
  sync_batch_.push_back(PendingSync{instance->slot, instance->commit_seq, std::move(target)});
  // Commits made while this loop iteration's other handlers run join the same batch.
  if (first) boost::asio::post(io_, [this] { FlushSyncBatch(); });
}

void ThreadEngine::ApplyAlarmIndexChanges() {
  alarm_index_apply_posted_ = false;
  if (alarm_index_changes_.empty()) return;
  std::vector<storage::AlarmChange> changes = std::move(alarm_index_changes_);
  std::vector<uint64_t> slots = std::move(alarm_index_change_slots_);
  alarm_index_changes_.clear();
  alarm_index_change_slots_.clear();
  try {
    shared_.alarm_index->Apply(changes);
  } catch (const storage::StorageError& e) {
    // The commits happened but their alarms are not indexed: as for a failed commit, the objects
    // are reset and their callers never see the writes acknowledged.
    Log(LogLevel::kError, std::string("cannot write the alarm index: ") + e.what());
    for (uint64_t slot : slots) {
      if (ObjectInstance* instance = FindBySlot(slot)) {
        BreakInstance(instance, kStorageFailureMessage);
      }
    }
  }
}

void ThreadEngine::FlushSyncBatch() {
  // The index changes of the commits being flushed must be written before their log is.
  ApplyAlarmIndexChanges();
  auto batch = std::move(sync_batch_);
  sync_batch_.clear();
  for (auto& pending : batch) {
    ++syncs_in_flight_;
    uint64_t slot = pending.slot;
    uint64_t seq = pending.seq;
    shared_.sync_pool->Submit(
        std::move(pending.target), [this, slot, seq](bool ok, const std::string& error) {
          boost::asio::post(io_, [this, slot, seq, ok, error] { OnSynced(slot, seq, ok, error); });
        });
  }
}

void ThreadEngine::OnSynced(uint64_t slot, uint64_t seq, bool ok, const std::string& error) {
  --syncs_in_flight_;
  ObjectInstance* instance = FindBySlot(slot);
  if (!instance) return;
  instance->sync_in_flight = false;
  if (!ok) {
    Log(LogLevel::kError,
        "[" + instance->address.class_name + "/" + instance->address.instance_name +
            "] flush failed; the outcome of its unconfirmed writes is unknown: " + error);
    unconfirmed_paths_.insert(instance->db_path);
    BreakInstance(instance, kStorageFailureMessage);
    return;
  }
  if (!unconfirmed_paths_.empty()) unconfirmed_paths_.erase(instance->db_path);
  if (seq > instance->durable_seq) instance->durable_seq = seq;
  if (instance->sync_again) {
    instance->sync_again = false;
    if (instance->db) {
      ScheduleSync(instance);
    } else {
      // The connection was closed since; closing does not lose the WAL, so flush it by path.
      instance->sync_in_flight = true;
      auto target = std::make_unique<storage::SyncTarget>();
      target->fsync_paths.push_back(instance->db_path + "-wal");
      if (instance->flush_alarm_index && shared_.alarm_index) {
        instance->flush_alarm_index = false;
        target->data_paths.push_back(shared_.alarm_index->LogPath());
      }
      sync_batch_.push_back(PendingSync{slot, instance->commit_seq, std::move(target)});
      if (sync_batch_.size() == 1) boost::asio::post(io_, [this] { FlushSyncBatch(); });
    }
  }
  ReleaseGated(instance);
}

// ---------------------------------------------------------------------------------------------
// Resets

void ThreadEngine::BreakInstance(ObjectInstance* instance, const std::string& message) {
  auto it = objects_.find(ObjectKey(instance->address));
  if (it == objects_.end() || it->second.get() != instance) return;
  std::unique_ptr<ObjectInstance> owned = std::move(it->second);
  objects_.erase(it);
  by_slot_.erase(instance->slot);
  dirty_.erase(instance->slot);
  if (instance->db) instance->db->Rollback();
  CloseDatabase(instance);
  for (auto& [id, event] : instance->in_flight) {
    if (event.done) event.done(HttpResponseData::JsonError(500, message));
  }
  if (instance->usage) {
    --instance->usage->instances;
    instance->usage = nullptr;
  }
  instance->in_flight.clear();
  for (auto& out : instance->gated) out.done(HttpResponseData::JsonError(500, message));
  instance->gated.clear();
  // Outputs waiting for a commit that will never be durable are dropped with it.
  instance->gated_socket_outputs.clear();
  const bool evicted = message == kEvictedMessage;
  if (!evicted) {
    // A reset disconnects the object's WebSockets; eviction (hibernation) keeps them open.
    int code = message == kCodeUpdatedMessage ? 1012 : message == kShutdownMessage ? 1001 : 1011;
    const std::string& key = ObjectKey(instance->address);
    CloseSockets([&](const std::string& k) { return k == key; }, code, message);
  }
  // Requests not yet delivered go to a fresh instance, unless this instance's construction is
  // what failed.
  std::deque<FetchEvent> queued = std::move(instance->queued);
  instance->queued.clear();
  if (instance->construction_started && !instance->delivered_any && !evicted &&
      message != kCodeUpdatedMessage && message != kShutdownMessage) {
    FailConstruction(instance, message, std::move(queued));
    queued.clear();
  }
  for (auto timer_it = timers_.begin(); timer_it != timers_.end();) {
    if (timer_it->second->slot == instance->slot) {
      timer_it = timers_.erase(timer_it);
    } else {
      ++timer_it;
    }
  }
  ObjectAddress address = instance->address;
  DestroyLater(std::move(owned));
  for (auto& event : queued) {
    // Events of sockets the reset closed have nobody left to hear them.
    if (event.socket && !sockets_.Find(event.socket->socket_id)) continue;
    boost::asio::post(io_, [this, address, event = std::make_shared<FetchEvent>(std::move(event))] {
      DispatchEvent(address, std::move(*event));
    });
  }
}

template <typename Predicate>
void ThreadEngine::CloseSockets(Predicate&& matches, int code, const std::string& reason) {
  std::vector<uint64_t> doomed;
  sockets_.ForEach([&](WebSocketRecord* record) {
    if (matches(record->object_key)) doomed.push_back(record->id);
  });
  // A close reason is at most 123 bytes on the wire.
  std::string short_reason = reason.size() > 123 ? reason.substr(0, 123) : reason;
  for (uint64_t id : doomed) {
    WebSocketRecord* record = sockets_.Find(id);
    if (record->transport && record->state != WebSocketRecord::State::kClosed) {
      record->transport->Close(code, short_reason);
    }
    sockets_.Remove(id);
  }
}

void ThreadEngine::ResetApp(AppIsolate* app, const std::string& message, bool dispose_isolate) {
  std::vector<ObjectInstance*> victims;
  for (auto& [key, instance] : objects_) {
    if (instance->app == app) victims.push_back(instance.get());
  }
  for (ObjectInstance* instance : victims) BreakInstance(instance, message);
  // Hibernating objects of the app have no instance, but their sockets close all the same.
  if (sockets_.size() > 0) {
    std::string prefix = AppKeyPrefix(app->app());
    CloseSockets([&](const std::string& key) { return key.compare(0, prefix.size(), prefix) == 0; },
                 message == kCodeUpdatedMessage ? 1012 : 1011, message);
  }
  for (auto it = timers_.begin(); it != timers_.end();) {
    if (it->second->app == app) {
      it = timers_.erase(it);
    } else {
      ++it;
    }
  }
  if (!dispose_isolate) return;
  auto it = apps_.find(app->app());
  if (it != apps_.end() && it->second.get() == app) {
    doomed_apps_.push_back(std::move(it->second));
    apps_.erase(it);
    PostCleanup();
  }
}

void ThreadEngine::DestroyLater(std::unique_ptr<ObjectInstance> instance) {
  graveyard_.push_back(std::move(instance));
  PostCleanup();
}

void ThreadEngine::PostCleanup() {
  if (cleanup_posted_) return;
  cleanup_posted_ = true;
  boost::asio::post(io_, [this] {
    cleanup_posted_ = false;
    graveyard_.clear();
    if (!doomed_apps_.empty()) {
      rejected_promises_.clear();
      doomed_apps_.clear();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Timers and eviction

uint64_t ThreadEngine::AddTimer(AppIsolate* app, v8::Local<v8::Function> callback, double delay_ms,
                                bool repeat) {
  auto timer = std::make_unique<Timer>();
  timer->id = next_timer_id_++;
  timer->app = app;
  timer->slot = current_slot_;
  timer->repeat = repeat;
  if (!(delay_ms >= 0)) delay_ms = 0;
  if (delay_ms > 2147483647.0) delay_ms = 2147483647.0;
  // As in browsers, an interval never spins faster than once a millisecond.
  if (repeat && delay_ms < 1) delay_ms = 1;
  timer->delay = std::chrono::milliseconds(static_cast<long long>(delay_ms));
  timer->callback.Reset(app->isolate(), callback);
  timer->timer = std::make_unique<boost::asio::steady_timer>(io_);
  uint64_t id = timer->id;
  Timer* raw = timer.get();
  timers_[id] = std::move(timer);
  ArmTimer(raw);
  return id;
}

void ThreadEngine::ArmTimer(Timer* timer) {
  timer->timer->expires_after(timer->delay);
  uint64_t id = timer->id;
  timer->timer->async_wait([this, id](const boost::system::error_code& ec) {
    if (!ec) FireTimer(id);
  });
}

void ThreadEngine::FireTimer(uint64_t id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  Timer* timer = it->second.get();
  AppIsolate* app = timer->app;
  uint64_t slot = timer->slot;
  // A timer does not make its object active: an object whose only work is timers is evicted
  // when idle like any other (its timers go with it).
  if (slot != 0 && !FindBySlot(slot)) {
    timers_.erase(it);
    return;
  }
  if (!MayStartTurn(app)) {
    // Fires once the app's long turns elsewhere leave room, like an event.
    timer->timer->expires_after(kLongTurnRetry);
    timer->timer->async_wait([this, id](const boost::system::error_code& ec) {
      if (!ec) FireTimer(id);
    });
    return;
  }
  const long long cpu_before = ThreadCpuNanos();
  bool alive = RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    v8::Local<v8::Function> callback = timer->callback.Get(isolate);
    if (!timer->repeat) {
      // Released before the call so that clearTimeout() inside it is harmless.
      timers_.erase(id);
    }
    v8::Local<v8::Value> ignored;
    if (!callback->Call(app->context(), v8::Undefined(isolate), 0, nullptr).ToLocal(&ignored) &&
        !try_catch.HasTerminated()) {
      std::string where;
      if (ObjectInstance* instance = FindBySlot(slot)) {
        where = "[" + instance->address.class_name + "/" + instance->address.instance_name + "] ";
      }
      Log(LogLevel::kError,
          where + "Uncaught " + js::ExceptionStack(isolate, try_catch.Exception()));
    }
  });
  if (!alive) return;
  if (ObjectInstance* instance = slot != 0 ? FindBySlot(slot) : nullptr) {
    instance->timer_cpu_ns += ThreadCpuNanos() - cpu_before;
    const long long limit_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(shared_.options.cpu_limit).count();
    if (instance->timer_cpu_ns > limit_ns) {
      Log(LogLevel::kWarn, "[" + instance->address.app + "/" + instance->address.class_name + "/" +
                               instance->address.instance_name +
                               "] timers used more than the CPU limit since the last event; " +
                               kCpuLimitMessage);
      BreakInstance(instance, kCpuLimitMessage);
      return;
    }
  }
  auto again = timers_.find(id);
  if (again != timers_.end() && again->second->repeat) ArmTimer(again->second.get());
}

void ThreadEngine::ClearTimer(AppIsolate* app, uint64_t id) {
  auto it = timers_.find(id);
  if (it != timers_.end() && it->second->app == app) timers_.erase(it);
}

void ThreadEngine::DisposeIdleApps(std::chrono::steady_clock::time_point now) {
  if (apps_.empty() || turn_depth_ > 0) return;
  std::set<const AppIsolate*> busy;
  for (const auto& [key, instance] : objects_) busy.insert(instance->app);
  for (const auto& [id, timer] : timers_) busy.insert(timer->app);
  std::vector<std::string> idle;
  for (const auto& [name, app] : apps_) {
    auto [it, inserted] = app_busy_at_.try_emplace(name, now);
    if (busy.count(app.get()) != 0) {
      it->second = now;
    } else if (!inserted && now - it->second >= shared_.options.idle_evict) {
      idle.push_back(name);
    }
  }
  for (const std::string& name : idle) {
    auto it = apps_.find(name);
    doomed_apps_.push_back(std::move(it->second));
    apps_.erase(it);
    app_busy_at_.erase(name);
    release_memory_ = true;
    Log(LogLevel::kDebug, "app '" + name + "': idle isolate disposed");
  }
  // Forget apps whose isolate is gone for another reason (reset, code update).
  for (auto it = app_busy_at_.begin(); it != app_busy_at_.end();) {
    it = apps_.count(it->first) == 0 ? app_busy_at_.erase(it) : std::next(it);
  }
  if (!idle.empty()) PostCleanup();
}

void ThreadEngine::EvictIdle() {
  auto now = std::chrono::steady_clock::now();
  if (eviction_armed_) {
    // This timer fires every quarter second: how late it fires is how long events wait.
    if (now - lag_window_start_ > std::chrono::seconds(5)) {
      lag_max_previous_ = lag_max_current_;
      lag_max_current_ = {};
      lag_window_start_ = now;
    }
    lag_max_current_ = std::max(lag_max_current_, now - eviction_timer_.expiry());
  }
  eviction_armed_ = true;
  std::vector<ObjectInstance*> idle;
  for (auto& [key, instance] : objects_) {
    auto idle_for = now - instance->last_active;
    if (idle_for < shared_.options.idle_evict &&
        (idle_for < shared_.options.hibernate_after || !sockets_.HasSockets(key))) {
      continue;
    }
    // Standard (accept()ed) WebSockets live in the instance's JavaScript: they pin it.
    if (sockets_.PinsObject(key)) continue;
    if (AlarmDueSoon(instance.get(), NowMs())) continue;
    if (!instance->in_flight.empty() || !instance->queued.empty() || !instance->gated.empty() ||
        !instance->gated_socket_outputs.empty() || instance->sync_in_flight ||
        instance->gate_depth > 0 || instance->txn_depth > 0 || !instance->sync_waiters.empty() ||
        (instance->db && instance->db->in_transaction())) {
      continue;
    }
    idle.push_back(instance.get());
  }
  // Evicted instances are freed by a task posted after this sweep; the memory they held (and
  // that of the sockets' JavaScript objects) goes back to the system one sweep later, at most every
  // two seconds: a full GC returns V8's pages, malloc_trim the allocator's. Hibernated objects are
  // meant to cost only their connections, and that is what an operator sees in the RSS.
  if (release_memory_ && now - last_memory_release_ > std::chrono::seconds(2)) {
    release_memory_ = false;
    last_memory_release_ = now;
    for (auto& [name, app] : apps_) {
      CrashAttribution::Scope running(name);
      v8::Isolate::Scope isolate_scope(app->isolate());
      app->isolate()->LowMemoryNotification();
    }
    malloc_trim(0);
  }
  if (!idle.empty()) release_memory_ = true;
  for (ObjectInstance* instance : idle) {
    std::string key = placement_thread_ >= 0 ? ObjectKey(instance->address) : std::string();
    BreakInstance(instance, kEvictedMessage);
    ReleasePlacementIfGone(key);
  }
  DisposeIdleApps(now);
  // Connections unused for a while are closed (coldest last in the list); their objects stay.
  // Those of objects whose alarm is due soon stay open, so that a burst of alarms does not wait
  // for each object's database to be opened again.
  long long now_ms = NowMs();
  std::vector<ObjectInstance*> to_close;
  for (auto it = open_databases_.rbegin(); it != open_databases_.rend(); ++it) {
    ObjectInstance* coldest = *it;
    if (now - coldest->last_storage_use < shared_.options.database_idle_close) break;
    // A connection with open SQL cursors stays: closing would cancel them.
    if (coldest->db->in_transaction() || coldest->txn_depth > 0 || coldest->db->has_clients() ||
        AlarmDueSoon(coldest, now_ms)) {
      continue;
    }
    to_close.push_back(coldest);
  }
  for (ObjectInstance* instance : to_close) CloseDatabase(instance);
  // Frequent enough that idle connections close close to their deadline; each sweep is a walk
  // over this thread's objects, cheap next to the memory it frees.
  auto period = std::min<std::chrono::steady_clock::duration>(
      std::chrono::milliseconds(250),
      shared_.options.idle_evict / 2 + std::chrono::milliseconds(100));
  eviction_timer_.expires_after(period);
  eviction_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) EvictIdle();
  });
}

size_t ThreadEngine::OutstandingWork() const {
  size_t n = syncs_in_flight_ + sync_batch_.size();
  for (const auto& [key, instance] : objects_) {
    n += instance->in_flight.size() + instance->queued.size() + instance->gated.size() +
         instance->gated_socket_outputs.size();
  }
  return n;
}

void ThreadEngine::CloseAll() {
  std::vector<ObjectInstance*> all;
  for (auto& [key, instance] : objects_) all.push_back(instance.get());
  for (ObjectInstance* instance : all) BreakInstance(instance, kShutdownMessage);
  if (shared_.on_final_usage) shared_.on_final_usage(ReadUsage());
  CloseSockets([](const std::string&) { return true; }, 1001, kShutdownMessage);
  graveyard_.clear();
  eviction_timer_.cancel();
  timers_.clear();
}

}  // namespace dorm::runtime
