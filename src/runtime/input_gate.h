// An object's input gate: the events waiting for the object, and blockConcurrencyWhile().
//
// An object runs one event at a time up to its first await; after that, further events may
// interleave with it (Cloudflare's input gate opens while the handler awaits I/O, so here it is
// open whenever no JavaScript runs). blockConcurrencyWhile(fn) closes the gate until fn's promise
// settles: no new event is delivered meanwhile, and calls nest. If fn throws (or rejects), the
// object is reset: its queued events go to a fresh instance, or fail when the reset is a failed
// construction (see ObjectInstance::construction_started).
//
// Pure bookkeeping: no V8, no I/O. Threading: owned by one ObjectInstance, used on its thread.
#pragma once

#include <cstddef>
#include <list>

#include "runtime/object_event.h"

namespace dorm::runtime {

class InputGate {
 public:
  // blockConcurrencyWhile() nesting past this depth throws kTooDeepMessage (recursion without a
  // limit would grow the native stack of promises without bound).
  static constexpr int kMaxDepth = 64;
  static constexpr const char* kTooDeepMessage =
      "blockConcurrencyWhile() calls are nested too deeply.";

  // Queues an event behind those already waiting.
  void Enqueue(ObjectEvent event);
  // Whether the next event may be delivered now: one is waiting and the gate is open.
  bool ReadyToDeliver() const { return depth_ == 0 && !queue_.empty(); }
  // Removes the next event. Requires !queue_empty() (the gate need not be open: a reset takes
  // events regardless).
  ObjectEvent TakeNext();
  // The next event, left in place. Requires !empty().
  const ObjectEvent& PeekNext() const { return queue_.front(); }
  // Every waiting event, in order; the queue is left empty. For resets.
  std::list<ObjectEvent> TakeAll();

  // blockConcurrencyWhile() begins: closes the gate (one more level). Returns false, changing
  // nothing, at kMaxDepth.
  bool Lock();
  // A blockConcurrencyWhile() callback settled successfully: one level less. Returns true when
  // that opened the gate with events waiting (the caller then delivers them). Unbalanced calls
  // (nothing locked) are ignored and return false.
  bool Unlock();

  bool locked() const { return depth_ > 0; }
  int depth() const { return depth_; }
  size_t waiting() const { return queue_.size(); }
  bool empty() const { return queue_.empty(); }

 private:
  // A list, not a deque: libstdc++'s deque allocates its map and a first block even when empty
  // (about 370 bytes here), which every idle object in memory would hold; events are few.
  std::list<ObjectEvent> queue_;
  int depth_ = 0;
};

}  // namespace dorm::runtime
