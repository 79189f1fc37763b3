// ThreadEngine's resets: an object instance (or every object of an app) is dropped, for one of
// the reasons of ResetReason; its callers, sockets, timers and queued events are dealt with as
// the reason's rule says.
#include <boost/asio/post.hpp>

#include "runtime/thread_engine.h"
#include "util/log.h"

namespace dorm::runtime {

void ThreadEngine::FailConstruction(ObjectInstance* instance, const std::string& message,
                                    std::list<ObjectEvent> waiting) {
  auto delay = construction_backoff_.RecordFailure(ObjectKey(instance->address), message,
                                                   std::chrono::steady_clock::now());
  Log(LogLevel::kWarn, LogTag(instance->address) +
                           " construction failed; events fail for the next " +
                           std::to_string(delay.count()) + " ms: " + message);
  // Socket events have nobody waiting for an answer; alarms retry on their own schedule.
  for (auto& event : waiting) FailEvent(event, HttpResponseData::JsonError(500, message));
}

void ThreadEngine::BreakInstance(ObjectInstance* instance, ResetReason reason,
                                 const std::string& detail) {
  auto it = objects_.find(ObjectKey(instance->address));
  if (it == objects_.end() || it->second.get() != instance) return;
  const ResetRule& rule = RuleOf(reason);
  const std::string message = ResetMessage(reason, detail);
  if (shared_.cluster) ForgetClusterObject(instance, reason);
  std::unique_ptr<ObjectInstance> owned = std::move(it->second);
  objects_.erase(it);
  by_slot_.erase(instance->slot);
  dirty_.erase(instance->slot);
  if (instance->db) instance->db->Rollback();
  if (reason == ResetReason::kEvicted || reason == ResetReason::kShutdown) {
    // A clean end: a long log is checkpointed on the way out, as for idle connections, so that
    // the object's next activation (after a restart, too) does not read it back.
    RetireDatabase(instance);
  } else {
    CloseDatabase(instance);
  }
  auto reset_answer = [&message, &rule] {
    HttpResponseData answer = HttpResponseData::JsonError(500, message);
    answer.object_reset = true;
    answer.reset_retryable = rule.retryable;
    answer.reset_overloaded = rule.overloaded;
    return answer;
  };
  for (auto& [id, event] : instance->in_flight) {
    // The event's line says it failed, and why.
    TailEvent(instance, event, false, id == instance->alarm.event_id(), 500, message);
    if (event.done) event.done(reset_answer());
  }
  instance->in_flight.clear();
  if (instance->usage) {
    --instance->usage->instances;
    instance->usage = nullptr;
  }
  // Outputs waiting for a commit that will never be durable are dropped with it; responses fail,
  // and so do bodies still streaming (their connections break, as workerd's do).
  for (auto& held : instance->output.TakeForReset()) {
    held.done(reset_answer());
  }
  FailResponseStreams(instance, message);
  // Bodies this object was reading from its stubs' answers: their producers stop.
  const uint64_t broken_slot = instance->slot;
  CancelStubBodies([broken_slot](const StubBody& body) { return body.slot == broken_slot; });
  // Request bodies it was sending through its stubs fail: their callees read the reset.
  FailRequestBodies([broken_slot](const StubBody& body) { return body.slot == broken_slot; },
                    ResponseStream::Failure{"Error", message, true});
  instance->sync_resolvers.clear();
  if (rule.web_socket_close_code != 0) {
    // A reset disconnects the object's WebSockets; eviction (hibernation) keeps them open.
    const std::string& key = ObjectKey(instance->address);
    CloseSockets([&](const std::string& k) { return k == key; }, rule.web_socket_close_code,
                 message);
  }
  // Requests not yet delivered go to a fresh instance, unless this instance's construction is
  // what failed.
  std::list<ObjectEvent> queued = instance->input.TakeAll();
  if (instance->construction_started && !instance->delivered_any && rule.fails_construction) {
    FailConstruction(instance, message, std::move(queued));
    queued.clear();
  }
  const uint64_t slot = instance->slot;
  DropTimers([slot](const Timer& timer) { return timer.slot == slot; });
  // Its fetches end, and their connections close: bodies nobody will read.
  DropSlotFetches(slot);
  ObjectAddress address = instance->address;
  DestroyLater(std::move(owned));
  for (auto& event : queued) {
    // Events of sockets the reset closed have nobody left to hear them.
    const uint64_t socket_id = SocketIdOf(event);
    if (socket_id != 0 && !sockets_.Find(socket_id)) continue;
    boost::asio::post(io_,
                      [this, address, event = std::make_shared<ObjectEvent>(std::move(event))] {
                        DispatchEvent(address, std::move(*event));
                      });
  }
}

void ThreadEngine::ResetApp(AppIsolate* app, ResetReason reason) {
  std::vector<ObjectInstance*> victims;
  for (auto& [key, instance] : objects_) {
    if (instance->app == app) victims.push_back(instance.get());
  }
  for (ObjectInstance* instance : victims) BreakInstance(instance, reason);
  // Hibernating objects of the app have no instance, but their sockets close all the same.
  if (sockets_.size() > 0) {
    std::string prefix = AppKeyPrefix(app->app());
    CloseSockets([&](const std::string& key) { return key.compare(0, prefix.size(), prefix) == 0; },
                 RuleOf(reason).web_socket_close_code, RuleOf(reason).message);
  }
  DropTimers([app](const Timer& timer) { return timer.app == app; });
  // The isolate is discarded: a termination can leave module state half-updated, and new code
  // needs a fresh one.
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
      // Calls the doomed isolates made hold their promises: let go before the isolates go.
      for (const auto& app : doomed_apps_) {
        DropOutgoingCalls(app.get());
        const AppIsolate* doomed = app.get();
        CancelStubBodies([doomed](const StubBody& body) { return body.app == doomed; });
        FailRequestBodies([doomed](const StubBody& body) { return body.app == doomed; },
                          ResponseStream::Failure{});
        DropOutboundFetches(app.get());
        DropOutboundSockets(app.get());
        maybe_busy_.erase(app.get());
      }
      rejected_promises_.clear();
      doomed_apps_.clear();
    }
  });
}

}  // namespace dorm::runtime
