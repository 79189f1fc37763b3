// Requests to the Worker whose code can never answer them (thread_engine.h): as on workerd, they
// are answered with a 500 once nothing is left that could settle their response promise.
//
// workerd cancels a Worker request whose promise is unsettled when its I/O context has no pending
// events (no timers, fetches, subrequests, stream reads, sockets). Dorm runs every Worker request
// of a thread in one instance, in the isolate its app's objects on that thread share, and cannot
// tell which request a timer or fetch belongs to: it waits until the whole app on this thread is
// idle (below). A request is therefore never canceled while pending work of the app could still
// settle it, but may be canceled later than on workerd (when another request's work ends).
// Objects' requests are never canceled: workerd keeps an object's unanswered request waiting too,
// since its next event may settle the promise.
//
// A Worker calling itself through a service binding runs the inner request in another of its
// instances (or the same one): the call is no pending work then, as the request it waits on is
// judged with the others. While such a call waits, only the newest request is canceled at a time,
// so that the innermost goes first and its caller's fetch() rejects, as on workerd.

#include <v8.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "js/strings.h"
#include "runtime/class_catalog.h"
#include "runtime/object_address.h"
#include "runtime/object_instance.h"
#include "runtime/thread_engine.h"

namespace dorm::runtime {

namespace {

// workerd's message for a request it canceled (io-context.c++).
constexpr char kHungMessage[] =
    "The Workers runtime canceled this request because it detected that your Worker's code had "
    "hung and would never generate a response. Refer to: "
    "https://developers.cloudflare.com/workers/observability/errors/";

// Whether `instance` has an HTTP request whose handler's promise is unsettled.
bool HasPendingRequest(const ObjectInstance& instance) {
  for (const auto& [id, event] : instance.in_flight) {
    if (event.done && !event.rpc) return true;
  }
  return false;
}

}  // namespace

void ThreadEngine::NoteTurnEnded(uint64_t slot) {
  ObjectInstance* instance = FindBySlot(slot);
  if (!instance || instance->hung_check_posted ||
      instance->address.class_name != kWorkerClassName || !HasPendingRequest(*instance)) {
    return;
  }
  // After the turn's own follow-ups already queued on the loop (answers taken from other threads).
  instance->hung_check_posted = true;
  boost::asio::post(io_, [this, slot] { CancelHungRequests(slot); });
}

std::vector<ObjectInstance*> ThreadEngine::WorkerInstances(const AppIsolate* app,
                                                           ObjectInstance* worker) {
  std::vector<ObjectInstance*> workers{worker};
  // A client's requests reach the instance of their thread (DispatchWorkerFetch), service binding
  // calls the one named "service" (namespace_natives.cc). In a cluster, names carry the node: only
  // `worker` counts there.
  if (shared_.cluster) return workers;
  for (std::string name : {"thread-" + std::to_string(placement_thread_), std::string("service")}) {
    ObjectAddress address;
    address.app = app->app();
    address.class_name = kWorkerClassName;
    address.instance_name = std::move(name);
    CompleteAddress(address);
    ObjectInstance* other = FindByKey(ObjectKey(address));
    if (other && other->app == app &&
        std::find(workers.begin(), workers.end(), other) == workers.end()) {
      workers.push_back(other);
    }
  }
  return workers;
}

bool ThreadEngine::AppIdle(const AppIsolate* app, ObjectInstance* worker) {
  // O(1) but for the objects noted busy since the last check (each visited once per noting): this
  // runs after every turn of a Worker with a pending request, and a walk of the thread's objects,
  // timers, calls and bodies made each such turn cost O(everything on the thread).
  const std::vector<ObjectInstance*> workers = WorkerInstances(app, worker);
  for (const ObjectInstance* w : workers) {
    if (!w->input.empty() || w->input.locked() || !w->response_streams.empty() ||
        w->stub_bodies > 0 || sockets_.HasSockets(ObjectKey(w->address))) {
      return false;
    }
  }
  if (auto it = outbound_in_flight_.find(app); it != outbound_in_flight_.end() && it->second > 0) {
    return false;
  }
  if (auto it = outbound_socket_count_.find(app);
      it != outbound_socket_count_.end() && it->second > 0) {
    return false;
  }
  if (timers_.CountFor(app) > 0 || stub_bodies_.CountFor(app) > 0 ||
      request_bodies_.CountFor(app) > 0) {
    return false;
  }
  // A call the Worker made to itself (a service binding to its own app) that one of its instances
  // here now runs is no work of its own: it is one of the requests being judged.
  if (const size_t calls = outgoing_calls_.CountFor(app);
      calls > 0 && calls > CallsToItself(app, workers)) {
    return false;
  }
  // The app's objects here share the isolate: while one of them has an event in flight, queued or
  // on a WebSocket, its code may still settle the Worker's promise.
  auto noted = maybe_busy_.find(app);
  if (noted == maybe_busy_.end()) return true;
  std::unordered_set<uint64_t>& slots = noted->second;
  for (auto it = slots.begin(); it != slots.end();) {
    ObjectInstance* instance = FindBySlot(*it);
    if (!instance || instance->app != app) {
      it = slots.erase(it);
      continue;
    }
    // The Worker's instances stay noted: they are judged above, not here.
    if (std::find(workers.begin(), workers.end(), instance) != workers.end()) {
      ++it;
      continue;
    }
    if (!instance->in_flight.empty() || !instance->input.empty() ||
        !instance->response_streams.empty() || instance->stub_bodies > 0 ||
        sockets_.HasSockets(ObjectKey(instance->address))) {
      return false;
    }
    it = slots.erase(it);
  }
  if (slots.empty()) maybe_busy_.erase(noted);
  return true;
}

size_t ThreadEngine::CallsToItself(const AppIsolate* app,
                                   const std::vector<ObjectInstance*>& workers) const {
  size_t count = 0;
  for (const ObjectInstance* w : workers) {
    for (const auto& [id, event] : w->in_flight) {
      if (event.local_call == 0) continue;
      auto call = outgoing_calls_.find(event.local_call);
      if (call != outgoing_calls_.end() && call->second.app == app) ++count;
    }
  }
  return count;
}

void ThreadEngine::NoteObjectBusy(const ObjectInstance* instance) {
  if (instance->app) maybe_busy_[instance->app].insert(instance->slot);
}

void ThreadEngine::CancelHungRequests(uint64_t slot) {
  ObjectInstance* instance = FindBySlot(slot);
  if (!instance) return;
  instance->hung_check_posted = false;
  AppIsolate* app = instance->app;
  // While the app's long turns hold their share of the threads, its next turn checks again.
  if (!HasPendingRequest(*instance) || !MayStartTurn(app) || !AppIdle(app, instance)) return;
  // (slot, event id) of the requests to cancel. While the Worker waits on itself, only the newest
  // request of its instances here, as workerd cancels the innermost: its caller's fetch() rejects,
  // and that caller may still answer (its turn then checks again). Otherwise all of `instance`'s.
  std::vector<std::pair<uint64_t, uint64_t>> hung;
  const std::vector<ObjectInstance*> workers = WorkerInstances(app, instance);
  if (CallsToItself(app, workers) > 0) {
    std::pair<uint64_t, uint64_t> newest{0, 0};
    for (const ObjectInstance* w : workers) {
      for (const auto& [id, event] : w->in_flight) {
        if (event.done && !event.rpc && id > newest.second) newest = {w->slot, id};
      }
    }
    if (newest.second != 0) hung.push_back(newest);
  } else {
    for (const auto& [id, event] : instance->in_flight) {
      if (event.done && !event.rpc) hung.emplace_back(slot, id);
    }
  }
  RunTurn(app, [&] {
    v8::Isolate* isolate = app->isolate();
    current_slot_ = slot;
    v8::Local<v8::Value> error = v8::Exception::Error(js::FromUtf8(isolate, kHungMessage));
    for (const auto& [at, id] : hung) {
      current_slot_ = at;
      SettleBySlot(at, id, false, error);
    }
  });
}

}  // namespace dorm::runtime
