// Database connections kept on one runtime thread, warmest first. A thread keeps three such
// lists: the connections that hold both of their file descriptors (database and log), those that
// hold only their log's (database file parked: storage::ObjectDatabase::ParkDatabaseFile), under
// one limit of descriptors from the process's descriptor limit, and the parked ones
// (storage::ObjectDatabase::Park), under a limit of their own (their memory). Past the first
// limit the coldest connection holding both gives its database file back, and when only log-only
// ones are left to take from, the coldest of those is parked; past the second the coldest parked
// one is closed. Connections unused for a while are closed from any list (see
// EvictionPolicy::CanCloseConnection). The objects stay live and reopen their database on next
// use.
//
// Intrusive: each instance records the list that holds it and its position there, so that
// touching is O(1), and an instance is in one list at most: touching it in one takes it out of
// the one that held it.
// Threading: owned by one ThreadEngine, used on its thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>

#include "runtime/object_instance.h"

namespace dorm::runtime {

class OpenDatabaseList {
 public:
  OpenDatabaseList() = default;
  OpenDatabaseList(const OpenDatabaseList&) = delete;
  OpenDatabaseList& operator=(const OpenDatabaseList&) = delete;

  // `instance`'s connection was used at `now`: it becomes the warmest here (taken out of the
  // list that held it, if another).
  void Touch(ObjectInstance* instance, std::chrono::steady_clock::time_point now);
  // `instance`'s connection is closing or moving (if this list does not hold it, nothing happens).
  void Remove(ObjectInstance* instance);
  bool Holds(const ObjectInstance* instance) const { return instance->database_list == this; }
  size_t size() const { return size_; }
  // Coldest first; `visit` returns false to stop. Must not touch or remove entries.
  template <typename Visit>
  void ForEachColdestFirst(Visit&& visit) const {
    for (auto it = list_.rbegin(); it != list_.rend(); ++it) {
      if (!visit(*it)) return;
    }
  }
  // The coldest entry, or nullptr when empty.
  ObjectInstance* Coldest() const { return list_.empty() ? nullptr : list_.back(); }

 private:
  std::list<ObjectInstance*> list_;
  size_t size_ = 0;
};

}  // namespace dorm::runtime
