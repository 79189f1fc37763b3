#include "runtime/object_alarm.h"

namespace dorm::runtime {

ObjectAlarm::Decision ObjectAlarm::Decide(bool ok, int retry_count,
                                          std::chrono::milliseconds base) {
  Decision decision;
  if (ok) return decision;
  if (retry_count < 0) retry_count = 0;
  if (retry_count >= kMaxRetries) {
    decision.gave_up = true;
    return decision;
  }
  decision.retry = true;
  decision.delay = base * (1LL << retry_count);
  decision.retry_count = retry_count + 1;
  return decision;
}

bool ObjectAlarm::ShouldRun(std::optional<long long> stored, long long now_ms) {
  return stored && *stored <= now_ms + kEarlyFireToleranceMs;
}

void ObjectAlarm::Begin(long long scheduled_ms, uint64_t event_id) {
  running_ = scheduled_ms;
  event_id_ = event_id;
  changed_during_run_ = false;
}

std::optional<long long> ObjectAlarm::Visible(std::optional<long long> stored) const {
  if (stored && running_ && *stored == *running_ && !changed_during_run_) return std::nullopt;
  return stored;
}

bool ObjectAlarm::DeleteOnSuccess(std::optional<long long> stored) const {
  return running_ && !changed_during_run_ && stored == running_;
}

ObjectAlarm::Finished ObjectAlarm::Finish(long long fallback_ms) {
  Finished finished{running_.value_or(fallback_ms), changed_during_run_};
  running_.reset();
  changed_during_run_ = false;
  return finished;
}

void ObjectAlarm::NoteChanged() {
  changed_in_transaction_ = true;
  if (running_) changed_during_run_ = true;
}

bool ObjectAlarm::TakeChanged() {
  const bool changed = changed_in_transaction_;
  changed_in_transaction_ = false;
  return changed;
}

void ObjectAlarm::Committed(std::optional<long long> alarm) {
  stored_ = alarm;
  stored_known_ = true;
  index_flush_due_ = true;
}

bool ObjectAlarm::TakeIndexFlush() {
  const bool due = index_flush_due_;
  index_flush_due_ = false;
  return due;
}

bool ObjectAlarm::DueSoon(long long now_ms) const {
  return stored_ && *stored_ - now_ms < kKeepWarmMs && now_ms - *stored_ < kKeepWarmMs;
}

}  // namespace dorm::runtime
