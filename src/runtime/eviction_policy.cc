#include "runtime/eviction_policy.h"

#include <algorithm>

namespace dorm::runtime {

EvictionPolicy::Verdict EvictionPolicy::Judge(const ObjectActivity& object) const {
  // Hibernatable sockets let an object leave sooner: they stay open without it.
  const bool idle_enough = object.idle_for >= idle_evict_ ||
                           (object.idle_for >= hibernate_after_ && object.has_web_sockets);
  if (!idle_enough) return Verdict::kRecentlyActive;
  if (object.web_sockets_pin) return Verdict::kPinnedBySocket;
  if (object.alarm_due_soon) return Verdict::kAlarmDueSoon;
  if (object.work_in_progress) return Verdict::kBusy;
  return Verdict::kEvict;
}

bool EvictionPolicy::CanCloseConnection(const ConnectionActivity& connection) const {
  const auto keep =
      connection.reopened ? database_idle_close_ * kReopenedKeepFactor : database_idle_close_;
  return connection.unused_for >= keep && !connection.busy && !connection.alarm_due_soon;
}

std::chrono::steady_clock::duration EvictionPolicy::SweepPeriod() const {
  return std::min<std::chrono::steady_clock::duration>(
      std::chrono::milliseconds(250), idle_evict_ / 2 + std::chrono::milliseconds(100));
}

}  // namespace dorm::runtime
