// ThreadEngine's alarm half: firing an object's alarm handler, and what its outcome does to the
// stored alarm (the rules are ObjectAlarm's).
#include "js/strings.h"
#include "runtime/alarm_scheduler.h"
#include "runtime/object_id.h"
#include "runtime/thread_engine.h"
#include "storage/alarm_index.h"
#include "util/log.h"
#include "util/wall_clock.h"

namespace dorm::runtime {

namespace {
const char kAlarmMovedMessage[] =
    "Durable Object is being moved to another thread; retry the request.";
}  // namespace

void ThreadEngine::FireAlarm(ObjectAddress address, long long scheduled_ms, int retry_count) {
  CompleteAddress(address);
  std::string key = placement_thread_ >= 0 ? ObjectKey(address) : std::string();
  NoteArrived(key);
  ++arrivals_since_sweep_;
  FireAlarmHere(std::move(address), scheduled_ms, retry_count);
  ReleasePlacementIfGone(key);
}

void ThreadEngine::WarmForAlarm(ObjectAddress address) {
  CompleteAddress(address);
  std::string key = placement_thread_ >= 0 ? ObjectKey(address) : std::string();
  NoteArrived(key);
  // Below the limits, so that warming never closes other objects' connections to make room; and
  // below three quarters of them, so that requests meanwhile find room without closing warmed
  // ones. Past the limit of connections holding descriptors, warming parks the coldest (they
  // cost the fire two opens of files, not a whole open), so it goes on up to the parked limit. A
  // burst of alarms larger than that opens the rest as they fire (each open then costs the burst
  // about twice what a warmed fire does), so the share is not smaller (it was half, which left
  // three quarters of a 10,000-alarm burst to open as it fired on this machine's limit).
  // A thread keeps up to twice max_open connections with their logs open (database files
  // parked), plus the parked ones.
  const size_t max_kept = 2 * shared_.options.max_open_databases_per_thread +
                          shared_.options.max_parked_databases_per_thread;
  if (!shared_.cluster &&
      open_databases_.size() + log_only_databases_.size() + parked_databases_.size() <
          max_kept - max_kept / 4) {
    bool class_exists = true;
    AppIsolate* app = AppForClass(address, &class_exists);
    ObjectInstance* instance = app ? EnsureInstance(address, app) : nullptr;
    if (instance && !instance->db && !instance->db_absent) {
      if (instance->last_active == std::chrono::steady_clock::time_point{}) {
        instance->last_active = std::chrono::steady_clock::now();
      }
      try {
        // The alarm as stored keeps the connection open until the fire (ObjectAlarm::DueSoon).
        if (storage::ObjectDatabase* db = Database(instance, false)) {
          instance->alarm.Loaded(db->GetAlarm());
        }
      } catch (const storage::StorageError&) {
        // The fire opens it again and reports the error.
      }
    }
  }
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
  // Cluster mode: an object this node does not hold is activated by the alarm's event.
  if (shared_.cluster && !ClusterHolds(address)) {
    ClusterFireAlarm(std::move(address), scheduled_ms, retry_count);
    return;
  }
  ObjectInstance* instance = EnsureInstance(address, app);
  if (!instance) {
    // The scheduler retries it, and routes the retry to the object's thread.
    OnAlarmDone(address, scheduled_ms, retry_count, false, kAlarmMovedMessage);
    return;
  }
  instance->last_active = std::chrono::steady_clock::now();
  AlarmEvent event;
  event.retry_count = retry_count;
  event.done = [this, address, scheduled_ms, retry_count](HttpResponseData response) {
    OnAlarmDone(address, scheduled_ms, retry_count, response.status < 400, response.body);
  };
  instance->input.Enqueue(std::move(event));
  NoteObjectBusy(instance);
  Pump(instance->slot);
}

void ThreadEngine::NoteAlarmChanged(ObjectInstance* instance) {
  instance->alarm.NoteChanged();
  MarkWritten(instance);
}

void ThreadEngine::DeliverAlarm(ObjectInstance* instance, AlarmEvent event) {
  // The object's database is the truth: the alarm may have been deleted or moved since (as of
  // its last commit, which StoredAlarm knows without reading it again when it can).
  std::optional<long long> stored;
  try {
    stored = StoredAlarm(instance);
  } catch (const storage::StorageError& e) {
    event.done(HttpResponseData::JsonError(500, e.what()));
    return;
  }
  if (!ObjectAlarm::ShouldRun(stored, WallClockMs())) {
    if (shared_.cluster) {
      // The index entry that fired may be one this node kept for an object another node has
      // changed since: the database's alarm replaces it.
      ClusterRecordAlarm(instance->address, stored);
    } else if (shared_.alarm_scheduler) {
      shared_.alarm_scheduler->Set(instance->address, stored);
    }
    return;
  }
  AppIsolate* app = instance->app;
  const uint64_t slot = instance->slot;
  const uint64_t event_id = BeginEvent(instance, std::move(event.done));
  instance->in_flight[event_id].tail_kind = TailKind::kAlarm;
  if (instance->usage) ++instance->usage->alarms;
  const long long scheduled = *stored;
  instance->alarm.Begin(scheduled, event_id);
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    v8::Local<v8::Context> context = app->context();
    v8::TryCatch try_catch(isolate);
    current_slot_ = slot;
    // CreateDataProperty, not Set: Set would call setters user code may have put on
    // Object.prototype, and could fail.
    v8::Local<v8::Object> info = v8::Object::New(isolate);
    if (info->CreateDataProperty(context, js::FromUtf8(isolate, "retryCount"),
                                 v8::Integer::New(isolate, event.retry_count))
            .IsNothing() ||
        info->CreateDataProperty(context, js::FromUtf8(isolate, "isRetry"),
                                 v8::Boolean::New(isolate, event.retry_count > 0))
            .IsNothing() ||
        info->CreateDataProperty(context, js::FromUtf8(isolate, "scheduledTime"),
                                 v8::Number::New(isolate, static_cast<double>(scheduled)))
            .IsNothing()) {
      if (!try_catch.HasTerminated()) SettleBySlot(slot, event_id, false, try_catch.Exception());
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
      SettleBySlot(slot, event_id, false, try_catch.Exception());
    }
  });
}

HttpResponseData ThreadEngine::FinishAlarmHandler(ObjectInstance* instance) {
  // There is no Response to send, only the outcome. Unless the handler (or a request meanwhile)
  // set a new alarm, the alarm is deleted in the same transaction as the handler's last writes,
  // so one commit makes both durable.
  HttpResponseData response;
  response.status = 200;
  try {
    storage::ObjectDatabase* db = Database(instance, false);
    // Unless something set or deleted the alarm since the handler began (each such change is
    // noted), the database still holds the alarm the handler ran for: no need to read it back.
    // Cluster mode reads it, as a node's copy of a database is restored from elsewhere.
    std::optional<long long> stored;
    if (db) {
      stored = !shared_.cluster && instance->alarm.UnchangedSinceBegin()
                   ? instance->alarm.running_alarm()
                   : db->GetAlarm();
    }
    if (db && instance->alarm.DeleteOnSuccess(stored)) {
      db->SetAlarm(std::nullopt);
      instance->alarm.NoteDeletedByHandler();
      MarkWritten(instance);
    }
  } catch (const storage::StorageError& e) {
    response = HttpResponseData::JsonError(500, e.what());
  }
  return response;
}

std::optional<long long> ThreadEngine::StoredAlarm(ObjectInstance* instance) {
  // The outcome of a fire arrives once its commit is flushed, which in a burst can be after the
  // connection idled out: reopening it only to read what the last commit already recorded cost
  // as much as the rest of the fire. With the connection open and no transaction in it, the last
  // commit is what it holds too (each fire read it back twice, the first read compiling the
  // statement on a connection opened for the fire). Cluster mode reads it while it is open.
  if (instance->alarm.stored_known() &&
      (!instance->db ||
       (!shared_.cluster && instance->txn_depth == 0 && !instance->db->in_transaction()))) {
    return instance->alarm.stored();
  }
  storage::ObjectDatabase* db = Database(instance, false);
  return db ? db->GetAlarm() : std::nullopt;
}

void ThreadEngine::OnAlarmDone(const ObjectAddress& address, long long scheduled_ms,
                               int retry_count, bool ok, const std::string& error) {
  AlarmScheduler* scheduler = shared_.alarm_scheduler;
  ObjectInstance* instance = FindByKey(ObjectKey(address));
  // `scheduled_ms` is when the scheduler fired (a retry's time); the alarm itself is the value
  // that was stored when its handler started.
  bool changed = false;
  if (instance) {
    ObjectAlarm::Finished finished = instance->alarm.Finish(scheduled_ms);
    scheduled_ms = finished.alarm_ms;
    changed = finished.changed;
  }
  const ObjectAlarm::Decision decision =
      ObjectAlarm::Decide(ok, retry_count, shared_.options.alarm_retry_base);
  if (decision.retry) {
    Log(LogLevel::kWarn, LogTag(address) + " alarm failed (retry " +
                             std::to_string(decision.retry_count) + " in " +
                             std::to_string(decision.delay.count()) + " ms): " + error);
    if (scheduler)
      scheduler->Retry(address, WallClockMs() + decision.delay.count(), decision.retry_count);
    if (shared_.cluster && shared_.cluster_alarm_retry && instance) {
      shared_.cluster_alarm_retry(ObjectKey(address), scheduled_ms, decision.retry_count);
    }
    return;
  }
  if (decision.gave_up) {
    Log(LogLevel::kError, LogTag(address) + " alarm failed " +
                              std::to_string(ObjectAlarm::kMaxRetries + 1) +
                              " times; dropped: " + error);
  }
  if (changed) {
    // Set or deleted meanwhile: that commit told the scheduler; make sure it knows the latest.
    if (!scheduler || !instance) return;
    try {
      scheduler->Set(address, StoredAlarm(instance));
    } catch (const storage::StorageError&) {
    }
    return;
  }
  // Done (or given up): the alarm is deleted unless the handler (or a request meanwhile) set a
  // new one. Its own commit tells the scheduler.
  if (!instance) {
    bool class_exists = true;
    AppIsolate* app = AppForClass(address, &class_exists);
    if (!app) return;
    if (shared_.cluster && !ClusterHolds(address)) return;  // its owner settles it
    instance = EnsureInstance(address, app);
    if (!instance) return;
  }
  try {
    std::optional<long long> stored = StoredAlarm(instance);
    storage::ObjectDatabase* db = nullptr;
    if (stored && *stored == scheduled_ms && (db = Database(instance, false)) != nullptr) {
      db->SetAlarm(std::nullopt);
      NoteAlarmChanged(instance);
      CommitDirty();
      return;
    }
    if (scheduler) scheduler->Set(address, stored);
  } catch (const storage::StorageError& e) {
    Log(LogLevel::kError, std::string("cannot delete a fired alarm: ") + e.what());
    BreakInstance(instance, ResetReason::kStorageFailure);
  }
}

std::string ThreadEngine::AdoptReplacedAlarm(const ObjectAddress& given,
                                             std::optional<long long> alarm) {
  ObjectAddress address = given;
  CompleteAddress(address);
  if (shared_.alarm_index) {
    try {
      shared_.alarm_index->Apply({storage::AlarmChange{
          storage::AlarmEntry{address.app, address.class_name, address.instance_name,
                              alarm.value_or(0), address.object_id},
          !alarm}});
      // The new file is already durable; so must be the index entry that wakes it, or a restart
      // would forget the alarm until the object set one.
      storage::SyncTarget sync;
      sync.data_paths.push_back(shared_.alarm_index->LogPath());
      std::string error;
      if (!sync.Run(&error)) return "cannot flush the alarm index: " + error;
    } catch (const storage::StorageError& e) {
      return std::string("cannot write the alarm index: ") + e.what();
    }
  }
  if (shared_.alarm_scheduler) shared_.alarm_scheduler->Set(address, alarm);
  return std::string();
}

}  // namespace dorm::runtime
