// ThreadEngine's usage half: reading the meters that the event paths count (see
// runtime/usage_meter.h), the live gauges and the thread's health.
#include <time.h>
#include <unistd.h>

#include <unordered_map>

#include "runtime/thread_engine.h"
#include "util/cycle_clock.h"
#include "util/wall_clock.h"

namespace dorm::runtime {

uint64_t ThreadEngine::EventStart(const ObjectInstance* instance) const {
  return instance->usage ? CycleClock::Now() : 0;
}

ThreadUsageReport ThreadEngine::ReadUsage() {
  ThreadUsageReport report;
  // Sockets per object, hibernated objects included.
  std::unordered_map<std::string, LiveObject> sockets_by_object;
  sockets_.ForEach([&](WebSocketRecord* record) {
    if (record->state == WebSocketRecord::State::kClosed) return;
    LiveObject& live = sockets_by_object[record->object_key()];
    if (live.websockets++ == 0) {
      ObjectAddress address = record->address();
      live.app = std::move(address.app);
      live.class_name = std::move(address.class_name);
      live.instance_name = InstanceLabel(address);
      live.object_id = std::move(address.object_id);
    }
  });
  for (auto& [key, instance] : objects_) {
    if (instance->usage && instance->usage->storage_stale && instance->db &&
        !instance->db->in_transaction()) {
      instance->usage->storage_bytes = instance->db->SizeBytes();
      instance->usage->storage_stale = false;
      // Reading the size may have opened a parked connection's files again (if its pages had
      // left the cache): parked connections must hold no descriptors (log-only ones their log's
      // only), or thousands of them read here would take more than the thread's share.
      if (parked_databases_.Holds(instance.get())) {
        instance->db->Park();
      } else if (log_only_databases_.Holds(instance.get())) {
        instance->db->ParkDatabaseFile();
      }
    }
    LiveObject live{instance->address.app,
                    instance->address.class_name,
                    InstanceLabel(instance->address),
                    instance->address.object_id,
                    true,
                    0};
    if (auto it = sockets_by_object.find(key); it != sockets_by_object.end()) {
      live.websockets = it->second.websockets;
      sockets_by_object.erase(it);
    }
    report.live.push_back(std::move(live));
  }
  for (auto& [key, live] : sockets_by_object) report.live.push_back(std::move(live));

  // A turn's ticks are wall time inside it; if the thread was descheduled meanwhile, its CPU
  // time over the period is less than the sum, and every object's share shrinks alike.
  long long cpu_now = ThreadCpuNanos();
  double thread_cpu_ns = static_cast<double>(cpu_now - thread_cpu_ns_at_read_);
  thread_cpu_ns_at_read_ = cpu_now;
  double js_ns = static_cast<double>(usage_.cpu_ticks_since_read()) * CycleClock::NanosPerTick();
  double scale =
      js_ns > thread_cpu_ns && js_ns > 0 && thread_cpu_ns > 0 ? thread_cpu_ns / js_ns : 1.0;
  usage_.Read(scale, &report.objects);

  for (auto& [name, app] : apps_) {
    v8::HeapStatistics stats;
    app->isolate()->GetHeapStatistics(&stats);
    report.heaps.push_back(IsolateHeap{name, stats.used_heap_size(), stats.total_heap_size(),
                                       stats.heap_size_limit()});
  }
  report.event_loop_lag_seconds = std::chrono::duration<double>(lag_.Lag()).count();
  report.thread_id = static_cast<long>(gettid());
  return report;
}

}  // namespace dorm::runtime
