// ThreadEngine's alarms in cluster mode. Each commit that sets or deletes an alarm carries it to
// PostgreSQL's `alarms` with its log row (thread_engine_cluster.cc); this node's own schedule
// and alarm index hold the alarms of the objects it holds or held. Here: an alarm that fires for
// an object the node does not hold activates it, as a request would (so a node that inherits an
// orphaned alarm, or whose index still names an object it released, runs it exactly as on the
// local path: the object's database says whether it is still due, and failures are retried);
// an object activated here brings its alarm into this node's schedule.
#include <algorithm>
#include <boost/asio/post.hpp>

#include "runtime/alarm_scheduler.h"
#include "runtime/object_id.h"
#include "runtime/thread_engine.h"
#include "util/log.h"

namespace dorm::runtime {

void ThreadEngine::ClusterFireAlarm(ObjectAddress address, long long scheduled_ms,
                                    int retry_count) {
  // Where is the object served? One lookup, batched with the others queued and cached (the
  // directory's): an object that moved to another live node (taken while this node's lease had
  // lapsed, or after it restarted) is left to that node, which fires the alarm from its own
  // schedule, or, if nobody holds it, from the sweep of `alarms` (ClusterHousekeeping), without
  // an activation attempt here. Only an object served here (held, or to be taken by this node)
  // is activated.
  ObjectAddress complete = address;
  CompleteAddress(complete);
  shared_.cluster->directory().Locate(
      ObjectKey(complete), [this, address = std::move(address), scheduled_ms,
                            retry_count](cluster::Placement placement) mutable {
        boost::asio::post(io_, [this, address = std::move(address), scheduled_ms, retry_count,
                                placement = std::move(placement)]() mutable {
          if (placement.kind == cluster::Placement::Kind::kRemote) {
            Log(LogLevel::kInfo, LogTag(address) + " alarm left to node " + placement.node +
                                     ", which serves the object");
            ClusterRecordAlarm(address, std::nullopt);
            return;
          }
          ClusterActivateForAlarm(std::move(address), scheduled_ms, retry_count);
        });
      });
}

void ThreadEngine::ClusterActivateForAlarm(ObjectAddress address, long long scheduled_ms,
                                           int retry_count) {
  AlarmEvent event;
  event.retry_count = retry_count;
  event.done = [this, address, scheduled_ms, retry_count](HttpResponseData response) {
    if (response.owned_elsewhere) {
      // A live node holds it and fires its alarm from its own schedule.
      ClusterRecordAlarm(address, std::nullopt);
      return;
    }
    OnAlarmDone(address, scheduled_ms, retry_count, response.status < 400, response.body);
  };
  // Activates the object first (ClusterAdmit); the event then runs DeliverAlarm.
  DispatchEvent(std::move(address), std::move(event));
}

void ThreadEngine::ClusterRecordAlarm(const ObjectAddress& address,
                                      std::optional<long long> alarm) {
  if (shared_.alarm_scheduler) shared_.alarm_scheduler->Set(address, alarm);
  if (shared_.alarm_index) {
    QueueAlarmIndexChange(
        storage::AlarmChange{
            storage::AlarmEntry{address.app, address.class_name, address.instance_name,
                                alarm.value_or(0), address.object_id},
            !alarm},
        0);
  }
}

void ThreadEngine::ClusterAdoptAlarm(const std::string& key, int retry_count) {
  ObjectInstance* instance = FindByKey(key);
  if (!instance) return;
  std::optional<long long> alarm;
  try {
    storage::ObjectDatabase* db = Database(instance, false);
    if (db) alarm = db->GetAlarm();
  } catch (const storage::StorageError& e) {
    Log(LogLevel::kWarn, LogTag(instance->address) + " cannot read its alarm: " + e.what());
    return;
  }
  if (!alarm) return;
  const ObjectAddress& a = instance->address;
  if (shared_.alarm_index) {
    QueueAlarmIndexChange(
        storage::AlarmChange{
            storage::AlarmEntry{a.app, a.class_name, a.instance_name, *alarm, a.object_id}, false},
        0);
  }
  // Not Set(): when the activation was the alarm's own fire, the fire is still under way.
  if (shared_.alarm_scheduler) {
    shared_.alarm_scheduler->Offer(a, *alarm, std::clamp(retry_count, 0, 1000));
  }
}

void ThreadEngine::QueueAlarmIndexChange(storage::AlarmChange change, uint64_t slot) {
  alarm_index_changes_.push_back(std::move(change));
  alarm_index_change_slots_.push_back(slot);
  if (!alarm_index_apply_posted_) {
    alarm_index_apply_posted_ = true;
    boost::asio::post(io_, [this] { ApplyAlarmIndexChanges(); });
  }
}

}  // namespace dorm::runtime
