// Which event-loop thread each object lives on.
//
// An object's events run on one thread at a time, because its instance, its open database (held
// with an exclusive lock) and its WebSockets live there. Each object has a home thread (a stable
// hash of its key), but a thread that is running one tenant's long turn serves nothing else until
// the turn ends, up to the CPU limit. So the object is placed on a thread when it is first needed
// and stays there for as long as anything of it remains on that thread; once nothing does, the
// placement is forgotten and the next event places it again, on its home thread unless that
// thread is busy with a long turn, in which case on the next thread that is not.
//
// The protocol between the routers (any thread that hands an event to an object's thread) and
// the owners (the runtime threads):
// - A router calls Route() and hands the event to the thread it returns. Until the owner calls
//   Arrived() for it, the event counts as on its way, and the placement cannot be forgotten.
// - An owner calls Pin() before it creates an instance of the object. It fails if the object is
//   placed on another thread; the owner must then not create it.
// - An owner calls Release() once nothing of the object remains on its thread: no instance, no
//   open database, no WebSocket, no event queued. The placement is forgotten unless an event is
//   on its way (the owner will then see it arrive and keep the object).
// So there is never more than one thread where an instance of an object may exist.
//
// Thread-safe: every method may be called from any thread. Placements are kept in shards, each
// under its own mutex, so routers on different threads rarely contend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dorm::runtime {

class ObjectPlacement {
 public:
  ObjectPlacement() = default;
  ObjectPlacement(const ObjectPlacement&) = delete;
  ObjectPlacement& operator=(const ObjectPlacement&) = delete;

  // The home thread of `key` among `threads` (> 0): where it is placed unless that thread is busy.
  static size_t HomeThread(const std::string& key, size_t threads);

  // The thread an event for `key` must go to. If the object is placed, its thread; otherwise it
  // is placed now: on its home thread, or, if `busy(home)`, on the first thread after it (in
  // order, wrapping around) that is not busy; if every thread is busy, on its home thread. The
  // event counts as on its way until Arrived(key). `busy` is called under the shard's lock: it
  // must be quick and must not call back into this object.
  size_t Route(const std::string& key, size_t threads, const std::function<bool(size_t)>& busy);

  // An event that Route() sent for `key` reached its thread.
  void Arrived(const std::string& key);

  // Thread `thread` is about to create an instance of `key`: places the object there if it is not
  // placed. False if it is placed on another thread.
  bool Pin(const std::string& key, size_t thread);

  // Nothing of `key` remains on `thread`: forgets the placement, unless the object is placed on
  // another thread or an event for it is on its way.
  void Release(const std::string& key, size_t thread);

  // Where `key` is placed, or -1. For tests and diagnostics.
  int PlacedOn(const std::string& key) const;
  // How many objects are placed. For tests and diagnostics.
  size_t size() const;

 private:
  struct Placement {
    uint32_t thread = 0;
    uint32_t on_the_way = 0;  // events routed here and not yet arrived
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, Placement> placements;  // guarded by mutex
  };
  static constexpr size_t kShards = 64;

  Shard& ShardOf(const std::string& key) { return shards_[ShardIndex(key)]; }
  const Shard& ShardOf(const std::string& key) const { return shards_[ShardIndex(key)]; }
  static size_t ShardIndex(const std::string& key);

  Shard shards_[kShards];
};

}  // namespace dorm::runtime
