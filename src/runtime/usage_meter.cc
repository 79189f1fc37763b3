#include "runtime/usage_meter.h"

#include "util/cycle_clock.h"

namespace dorm::runtime {

ObjectUsage* UsageMeter::Acquire(const std::string& object_key, const std::string& instance_name) {
  ObjectUsage* usage = &entries_[object_key];
  usage->instance_name = instance_name;
  return usage;
}

void UsageMeter::Read(double cpu_scale, std::vector<ObjectUsageDelta>* out) {
  double nanos_per_tick = CycleClock::NanosPerTick();
  for (auto it = entries_.begin(); it != entries_.end();) {
    ObjectUsage& u = it->second;
    if (!u.empty()) {
      ObjectUsageDelta d;
      const std::string& key = it->first;
      size_t a = key.find('\n');
      size_t b = key.find('\n', a + 1);
      d.app = key.substr(0, a);
      d.class_name = key.substr(a + 1, b - a - 1);
      d.instance_name = u.instance_name;
      d.object_id = key.substr(b + 1);
      d.http_requests = u.http_requests;
      d.websocket_messages = u.websocket_messages;
      d.alarms = u.alarms;
      d.cpu_ns =
          static_cast<uint64_t>(static_cast<double>(u.cpu_ticks) * nanos_per_tick * cpu_scale);
      d.wall_ns = static_cast<uint64_t>(static_cast<double>(u.wall_ticks) * nanos_per_tick);
      d.outbound_requests = u.outbound_requests;
      d.outbound_bytes = u.outbound_bytes;
      d.storage_bytes = u.storage_bytes;
      d.storage_changed = u.storage_changed;
      out->push_back(std::move(d));
      u.http_requests = u.websocket_messages = u.alarms = u.cpu_ticks = u.wall_ticks = 0;
      u.outbound_requests = u.outbound_bytes = 0;
      u.storage_bytes = -1;
      u.storage_changed = false;
    }
    if (u.instances == 0 && !u.storage_stale) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
  cpu_ticks_since_read_ = 0;
}

}  // namespace dorm::runtime
