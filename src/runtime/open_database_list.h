// The database connections open on one runtime thread, warmest first. The engine keeps their
// number under a limit (closing the coldest that no transaction or cursor holds) and closes those
// unused for a while (see EvictionPolicy::CanCloseConnection); the objects stay live and reopen
// their database on next use.
//
// Intrusive: each instance records its own position, so that touching is O(1).
// Threading: owned by one ThreadEngine, used on its thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <list>

#include "runtime/object_instance.h"

namespace dorm::runtime {

class OpenDatabaseList {
 public:
  // `instance`'s connection (open) was used at `now`: it becomes the warmest.
  void Touch(ObjectInstance* instance, std::chrono::steady_clock::time_point now);
  // `instance`'s connection is closing (or it never was listed: then nothing happens).
  void Remove(ObjectInstance* instance);
  size_t size() const { return size_; }
  // Coldest first; `visit` returns false to stop. Must not touch or remove entries.
  template <typename Visit>
  void ForEachColdestFirst(Visit&& visit) const {
    for (auto it = list_.rbegin(); it != list_.rend(); ++it) {
      if (!visit(*it)) return;
    }
  }

 private:
  std::list<ObjectInstance*> list_;
  size_t size_ = 0;
};

}  // namespace dorm::runtime
