// ThreadEngine: the lines its objects' events and uncaught exceptions add to their apps' live logs
// (runtime/app_log.h).
#include "runtime/thread_engine.h"
#include "util/cycle_clock.h"

namespace dorm::runtime {

void ThreadEngine::TailEvent(ObjectInstance* instance, const ObjectInstance::InFlightEvent& event,
                             bool fulfilled, bool alarm, int status, std::string_view error) {
  AppLog* log = instance->app ? instance->app->log() : nullptr;
  if (!log) return;
  TailLineView line;
  line.kind = alarm ? TailKind::kAlarm : event.tail_kind;
  line.level = fulfilled ? TailLevel::kLog : TailLevel::kError;
  line.outcome = fulfilled ? TailOutcome::kOk : TailOutcome::kException;
  line.status = line.kind == TailKind::kWebSocketClose ? event.tail_code : status;
  if (alarm && fulfilled && status >= 400) line.outcome = TailOutcome::kException;
  if (event.tail_start != 0) {
    line.duration_ticks = static_cast<int64_t>(CycleClock::Now() - event.tail_start);
  }
  line.method = event.tail_method;
  line.path = event.tail_path;
  line.message = error;
  log->Add(&instance->address, line);
}

void ThreadEngine::TailException(AppIsolate* app, ObjectInstance* instance,
                                 const std::string& text) {
  AppLog* log = app ? app->log() : nullptr;
  if (!log) return;
  TailLineView line;
  line.kind = TailKind::kException;
  line.level = TailLevel::kError;
  line.message = text;
  log->Add(instance ? &instance->address : nullptr, line);
}

}  // namespace dorm::runtime
