// ThreadEngine's timers (setTimeout/setInterval), eviction of idle objects and isolates, closing
// idle database connections, and shutdown.

#include <algorithm>

#include "js/strings.h"
#include "runtime/crash_attribution.h"
#include "runtime/thread_engine.h"
#include "storage/sqlite_arena.h"
#include "util/log.h"
#include "util/process_allocator.h"
#include "util/wall_clock.h"

namespace dorm::runtime {

namespace {
// How often a timer held back by the long-turn limit is tried again.
constexpr std::chrono::milliseconds kTimerRetry{10};
// Released memory goes back to the system at most this often.
constexpr std::chrono::seconds kMemoryReleasePeriod{2};
// Closed connections after which the allocator is trimmed (about 2 MiB of their memory).
constexpr size_t kConnectionsClosedPerTrim = 64;
// A sweep period with more arrivals than this is a busy one: memory is released after it.
constexpr size_t kBusyArrivalsPerSweep = 32;
}  // namespace

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
  timers_.emplace(id, std::move(timer));
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
    timer->timer->expires_after(kTimerRetry);
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
      if (ObjectInstance* instance = FindBySlot(slot)) where = LogTag(instance->address) + " ";
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
      Log(LogLevel::kWarn, LogTag(instance->address) +
                               " timers used more than the CPU limit since the last event; " +
                               kCpuLimitMessage);
      BreakInstance(instance, ResetReason::kCpuLimit);
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

void ThreadEngine::DropTimers(FunctionRef<bool(const Timer&)> matches) {
  for (auto it = timers_.begin(); it != timers_.end();) {
    it = matches(*it->second) ? timers_.erase(it) : std::next(it);
  }
}

ObjectActivity ThreadEngine::ActivityOf(const ObjectInstance& instance, const std::string& key,
                                        std::chrono::steady_clock::time_point now,
                                        long long now_ms) {
  ObjectActivity activity;
  activity.idle_for = now - instance.last_active;
  activity.has_web_sockets = sockets_.HasSockets(key);
  activity.web_sockets_pin = activity.has_web_sockets && sockets_.PinsObject(key);
  activity.alarm_due_soon = instance.alarm.DueSoon(now_ms);
  activity.work_in_progress = !instance.in_flight.empty() || !instance.response_streams.empty() ||
                              instance.stub_bodies > 0 || !instance.input.empty() ||
                              instance.input.locked() || !instance.output.Quiet() ||
                              instance.txn_depth > 0 || instance.uncommitted_writes();
  return activity;
}

void ThreadEngine::EvictIdle() {
  const auto now = std::chrono::steady_clock::now();
  const long long now_ms = WallClockMs();
  // This timer fires every sweep period: how late it fires is how long events wait.
  if (eviction_armed_) lag_.Record(eviction_timer_.expiry(), now);
  eviction_armed_ = true;
  std::vector<ObjectInstance*> idle;
  // An object active within the shorter of the two idle periods stays whatever else holds
  // (EvictionPolicy::Judge), so the rest of its activity (a lookup of its sockets by key) is not
  // taken: with 10,000 objects on a thread, sweeping them all four times a second showed in the
  // profile of an alarm burst.
  const auto least_idle = std::min<std::chrono::steady_clock::duration>(
      shared_.options.idle_evict, shared_.options.hibernate_after);
  // The walk itself is skipped while no object can have been idle for that long: with 10,000
  // objects each used every second or two (writes spread over them, a burst of alarms), walking
  // them all four times a second found none to evict and was 2% of the thread's time. A bound
  // that comes out too late only evicts later, which is always allowed; too early, never.
  if (now >= next_eviction_walk_) {
    auto next_walk = std::chrono::steady_clock::time_point::max();
    for (auto& [key, instance] : objects_) {
      if (now - instance->last_active < least_idle) {
        next_walk = std::min(next_walk, instance->last_active + least_idle);
        continue;
      }
      switch (eviction_.Judge(ActivityOf(*instance, key, now, now_ms))) {
        case EvictionPolicy::Verdict::kEvict:
          idle.push_back(instance.get());
          break;
        case EvictionPolicy::Verdict::kRecentlyActive:
          // Past the shorter period but without sockets: evicted at the longer one, or, once an
          // event gives it sockets, at the shorter one after that event (not before now's).
          next_walk = std::min(
              {next_walk, instance->last_active + shared_.options.idle_evict, now + least_idle});
          break;
        default:
          next_walk = now;  // kept for what it is doing now: judged again at the next sweep
      }
    }
    next_eviction_walk_ = next_walk;
  }
  const bool busy = arrivals_since_sweep_ > kBusyArrivalsPerSweep;
  arrivals_since_sweep_ = 0;
  if (!busy) ReleaseMemory(now);
  if (!idle.empty()) release_memory_ = true;
  for (ObjectInstance* instance : idle) {
    std::string key = placement_thread_ >= 0 ? ObjectKey(instance->address) : std::string();
    BreakInstance(instance, ResetReason::kEvicted);
    ReleasePlacementIfGone(key);
  }
  DisposeIdleApps(now);
  CloseIdleDatabases(now);
  for (const ForwardedSocket& socket : forwarded_sockets_.TakeExpired(now)) AbandonSocket(socket);
  eviction_timer_.expires_after(eviction_.SweepPeriod());
  eviction_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) EvictIdle();
  });
}

void ThreadEngine::ReleaseMemory(std::chrono::steady_clock::time_point now) {
  // Evicted instances are freed by a task posted after the sweep that evicted them; the memory
  // they held (and that of the sockets' JavaScript objects) goes back to the system one sweep
  // later, at most every two seconds: a full GC returns V8's pages, ReturnFreeMemoryToSystem the
  // allocator's (an arena gone quiet keeps its free pages until then).
  // Hibernated objects are meant to cost only their connections, and that is what an operator
  // sees in the RSS.
  // Closed database connections free only allocator memory (page caches, WAL indexes, schemas),
  // so they ask for a trim without a garbage collection.
  // Not while the thread is busy (EvictIdle): a trim returns every free page, each returned page
  // costs a TLB flush on every core, and a busy thread faults them straight back in (opening a
  // database alone allocates and zeroes its 32 KiB WAL index). During a burst of alarms on
  // objects whose connections had closed, trimming every 2 s took a quarter of the thread's time.
  if (!(release_memory_ || trim_allocator_) || now - last_memory_release_ <= kMemoryReleasePeriod)
    return;
  if (release_memory_) {
    for (auto& [name, app] : apps_) {
      CrashAttribution::Scope running(name);
      v8::Isolate::Scope isolate_scope(app->isolate());
      app->isolate()->LowMemoryNotification();
    }
  }
  release_memory_ = false;
  trim_allocator_ = false;
  last_memory_release_ = now;
  storage::FlushSqliteThreadCache();
  util::ReturnFreeMemoryToSystem();
}

void ThreadEngine::CloseIdleDatabases(std::chrono::steady_clock::time_point now) {
  // Connections unused for a while are closed (coldest last in the list); their objects stay.
  // Those of objects whose alarm is due soon stay open, so that a burst of alarms does not wait
  // for each object's database to be opened again. A connection with open SQL cursors stays:
  // closing would cancel them.
  const long long now_ms = WallClockMs();
  std::vector<ObjectInstance*> to_close;
  auto visit = [&](ObjectInstance* coldest) {
    ConnectionActivity connection{now - coldest->last_storage_use,
                                  coldest->db->in_transaction() || coldest->txn_depth > 0 ||
                                      coldest->db->has_clients() || coldest->db->image_pending(),
                                  coldest->alarm.DueSoon(now_ms), coldest->database_opens > 1};
    // Warmer ones follow; past this, reopened connections are kept longer, so the walk goes on
    // past them.
    if (connection.unused_for < shared_.options.database_idle_close) return false;
    if (eviction_.CanCloseConnection(connection)) to_close.push_back(coldest);
    return true;
  };
  // Parked and log-only connections hold fewer descriptors but all of their memory, so they close
  // alike. They
  // were parked coldest first, so that list too is (nearly) in order of last use; one parked out
  // of order (it was busy when colder ones were parked) closes at a later sweep.
  open_databases_.ForEachColdestFirst(visit);
  log_only_databases_.ForEachColdestFirst(visit);
  parked_databases_.ForEachColdestFirst(visit);
  for (ObjectInstance* instance : to_close) RetireDatabase(instance);
  // An open connection holds tens of KiB (its WAL index alone is 32 KiB in exclusive mode); after
  // a burst of new objects, thousands close together, and the allocator keeps their memory
  // unless trimmed.
  closed_since_trim_ += to_close.size();
  if (closed_since_trim_ >= kConnectionsClosedPerTrim) {
    closed_since_trim_ = 0;
    trim_allocator_ = true;
  }
}

void ThreadEngine::DisposeIdleApps(std::chrono::steady_clock::time_point now) {
  if (apps_.empty() || turn_depth_ > 0) return;
  // The apps nothing uses, found by crossing off each user's app: the walk stops once none is
  // left (with thousands of live objects on the thread, walking them all at every sweep showed
  // in the profile of an alarm burst).
  std::set<const AppIsolate*> unused;
  for (const auto& [name, app] : apps_) unused.insert(app.get());
  auto cross_off = [&](const AppIsolate* app) {
    unused.erase(app);
    return unused.empty();
  };
  [&] {
    for (const auto& [key, instance] : objects_)
      if (cross_off(instance->app)) return;
    for (const auto& [id, timer] : timers_)
      if (cross_off(timer->app)) return;
    for (const auto& [id, call] : outgoing_calls_)
      if (cross_off(call.app)) return;
    for (const auto& [app, count] : outbound_in_flight_)
      if (cross_off(app)) return;
  }();
  std::vector<std::string> idle;
  for (const auto& [name, app] : apps_) {
    auto [it, inserted] = app_busy_at_.try_emplace(name, now);
    if (unused.count(app.get()) == 0) {
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

size_t ThreadEngine::OutstandingWork() const {
  size_t n = syncs_in_flight_ + sync_batch_.size();
  for (const auto& [key, waiting] : activating_) n += waiting.size();  // cluster mode
  for (const auto& [key, instance] : objects_) {
    n += instance->in_flight.size() + instance->input.waiting() + instance->output.held_count();
  }
  return n;
}

void ThreadEngine::CloseAll() {
  std::vector<ObjectInstance*> all;
  for (auto& [key, instance] : objects_) all.push_back(instance.get());
  for (ObjectInstance* instance : all) BreakInstance(instance, ResetReason::kShutdown);
  if (shared_.on_final_usage) shared_.on_final_usage(ReadUsage());
  // A cluster node that stops hands its objects to other nodes: 1012 (service restart) tells
  // hibernated sockets' clients to reconnect, which reaches the object's new owner.
  CloseSockets([](const std::string&) { return true; },
               shared_.cluster ? 1012 : RuleOf(ResetReason::kShutdown).web_socket_close_code,
               kShutdownMessage);
  graveyard_.clear();
  eviction_timer_.cancel();
  timers_.clear();
}

}  // namespace dorm::runtime
