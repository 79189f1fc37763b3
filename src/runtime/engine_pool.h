// The event loops of the runtime process, each a thread with its own io_context and the
// ThreadEngine that owns the objects placed on it, and the one way to reach those objects: an
// event for an object (an HTTP request, an alarm) is handed to the pool, which places the object
// on a loop if it is not placed (runtime::ObjectPlacement: its home loop unless that one is busy
// with a long turn) and delivers the event on the loop it lives on. Code changes reach every
// engine through the pool too. The network front runs its connections on the pool's loops, so
// that a request is read, and a WebSocket served, where its object lives.
//
// Threading: Start(), Drain(), CloseAll() and Stop() are called from one controlling thread, which
// is not a loop. Other methods say which threads may call them. Callbacks handed to the pool run
// on a loop.
//
// Ownership: the pool owns its loops, their threads and engines; `shared` is the caller's and
// must outlive the pool.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/http_message.h"
#include "runtime/object_address.h"
#include "runtime/object_event.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace dorm::runtime {

class ModuleValidator;
class ThreadEngine;
struct RuntimeShared;

class EnginePool {
 public:
  // Makes `loops` (> 0) event loops. No thread runs until Start().
  EnginePool(RuntimeShared& shared, size_t loops);
  // Stop()s.
  ~EnginePool();
  EnginePool(const EnginePool&) = delete;
  EnginePool& operator=(const EnginePool&) = delete;

  // Starts each loop's thread, which creates its engine; returns once every engine exists. Call
  // once, before handing the pool any event.
  void Start();

  size_t size() const { return loops_.size(); }
  RuntimeShared& shared() const { return shared_; }

  // --- The loops, for the network front. ---
  // The io_context of loop `loop` (< size()). Any thread; valid for the pool's life.
  boost::asio::io_context& io(size_t loop) const;
  // Whether the calling thread is loop `loop`'s.
  bool OnLoop(size_t loop) const;
  // The engine of loop `loop`, for handlers running on that loop (e.g. WebSocket events); null
  // before Start() and once the loop has stopped. Only on loop `loop`'s thread.
  ThreadEngine* engine(size_t loop) const;
  // The first loop from `first` on (in order, wrapping around) that is not busy with a long turn
  // (runtime::LongTurnLimit::Busy), or `first` if every loop is: where to run new work that is
  // not tied to an object, such as a new connection. Any thread.
  size_t LoopNotBusyFrom(size_t first) const;
  // The decision of LoopNotBusyFrom(), given which of `loops` loops are busy.
  static size_t FirstNotBusy(size_t first, size_t loops, const std::function<bool(size_t)>& busy);

  // --- Events for objects. ---
  // The loop that `address` lives on, placing the object if it is not placed. The caller must
  // hand that loop exactly one event for the object (DispatchFetch), which counts as on its way
  // until the engine takes it: until then the object cannot move. Any thread, after Start().
  size_t RouteObject(const ObjectAddress& address);
  // Delivers a request to the object's fetch() on `loop`, which RouteObject() gave for it: at
  // once when called on that loop (`done` may then run before this returns), otherwise through
  // the loop's queue. `done` runs on `loop` once the response may be sent. Any thread.
  void DispatchFetch(size_t loop, ObjectAddress address, HttpRequestData request,
                     ResponseCallback done);
  // Delivers a request to the Worker of `app` (see kWorkerClassName) on `loop`, where it runs:
  // a Worker is stateless, so the loop that read the request serves it. As DispatchFetch
  // otherwise. Any thread.
  void DispatchWorkerFetch(size_t loop, std::string app, HttpRequestData request,
                           ResponseCallback done);
  // Posts `event` (an HTTP or RPC event made by an object's call to another, see OutgoingCall) to
  // the object's loop, which RouteObject() gave for it. Always through the loop's queue, even from
  // that loop, so that it never runs inside the caller's turn; events posted from one thread
  // arrive in the order they were posted. The event's callback runs on `loop`. Any thread.
  void DispatchCall(size_t loop, ObjectAddress address, ObjectEvent event);
  // Cluster mode: makes sure this node holds the object (HttpEvent::ownership_probe) before the
  // network front reads a request's body. As DispatchFetch otherwise. Any thread.
  void ProbeOwnership(size_t loop, ObjectAddress address, ResponseCallback done);
  // Routes an operator's storage command to the object (placing it, and constructing it, if it
  // is not live) and runs it there as one of its events (StorageCommandEvent). `done` runs on the
  // object's loop with the JSON answer. Any thread, after Start().
  void RunStorageCommand(const ObjectAddress& address, StorageCommand command,
                         ResponseCallback done);
  // Routes an alarm (the scheduler's alarm for `scheduled_ms`, or retry number `retry_count`) to
  // the object's loop and returns at once. Any thread, after Start().
  void FireAlarm(const ObjectAddress& address, long long scheduled_ms, int retry_count);
  // Routes a hint that the object's alarm is due soon (AlarmScheduler::WarmFunction) to its loop
  // and returns at once. Any thread, after Start().
  void WarmAlarm(const ObjectAddress& address);
  // Drops, on every engine, the app's isolate and objects if its code changed (or it was
  // deleted), and waits until all have. Not on a loop thread.
  void RefreshApp(const std::string& app);
  // Runs `fn(engine)` on every loop and waits for all. Before Start(), and once the loops have
  // stopped, returns without running it on them. Not on a loop thread.
  void RunOnEveryEngine(const std::function<void(ThreadEngine&)>& fn);

  // --- Deploy checks. ---
  // A validator for modules about to be deployed (see ModuleValidator), with the CPU and heap
  // limits of the pool's engines. It belongs to the calling thread, which must not be a loop.
  std::unique_ptr<ModuleValidator> NewModuleValidator() const;

  // --- Shutdown, in this order. ---
  // Waits until no engine has work outstanding (events, outputs, flushes) and every request
  // dispatched has been answered, or until `deadline`.
  void Drain(std::chrono::steady_clock::time_point deadline);
  // Closes every object on every engine (requests still in flight fail, WebSockets are sent a
  // Close with 1001) and hands each engine's final usage reading to shared.on_final_usage.
  void CloseAll();
  // Stops the loops (work still queued on them is dropped) and joins their threads, which
  // destroy their engines. Idempotent.
  void Stop();

 private:
  struct Loop;

  // Counts a request as in flight until `done` runs, and has `deliver(engine, answered)` hand it
  // to loop `loop`'s engine: at once when called on that loop, otherwise through its queue. A
  // template (defined in engine_pool.cc, its only user) so that the request path allocates no
  // std::function.
  template <typename Deliver>
  void RunCounted(size_t loop, ResponseCallback done, Deliver deliver);

  RuntimeShared& shared_;
  std::vector<std::unique_ptr<Loop>> loops_;
  // Requests dispatched and not yet answered.
  std::atomic<long> requests_in_flight_{0};
  std::atomic<bool> started_{false};
  // Set once the loop threads are joined: nothing posted to them runs any more.
  std::atomic<bool> stopped_{false};
};

}  // namespace dorm::runtime
