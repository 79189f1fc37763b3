// A map from ids to records that each belong to one app's isolate (a timer, a call, a body), which
// also keeps how many records each app has, so that "has this app any?" costs O(1) instead of a
// walk of every record of the thread. The hung-request check (thread_engine_hung_requests.cc)
// asks it on every turn of a Worker with a pending request: a walk there made each such turn
// cost O(timers + calls + bodies) of the whole thread.
//
// Contracts: `app_of(value)` names the record's app; it must not change while the record is in
// the map (callers may modify the rest of a record through iterators). Not thread-safe: owned and
// used by one ThreadEngine on its thread.
#pragma once

#include <cstddef>
#include <unordered_map>
#include <utility>

namespace dorm::runtime {

class AppIsolate;

template <typename Map, typename AppOf>
class AppCountedMap {
 public:
  using key_type = typename Map::key_type;
  using iterator = typename Map::iterator;
  using const_iterator = typename Map::const_iterator;

  iterator begin() { return map_.begin(); }
  iterator end() { return map_.end(); }
  const_iterator begin() const { return map_.begin(); }
  const_iterator end() const { return map_.end(); }
  iterator find(const key_type& key) { return map_.find(key); }
  const_iterator find(const key_type& key) const { return map_.find(key); }
  size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }

  // Inserts as Map::emplace does (nothing when the key is present), counting a new record.
  template <typename... Args>
  std::pair<iterator, bool> emplace(Args&&... args) {
    auto result = map_.emplace(std::forward<Args>(args)...);
    if (result.second) ++counts_[AppOf{}(result.first->second)];
    return result;
  }

  iterator erase(iterator it) {
    Uncount(AppOf{}(it->second));
    return map_.erase(it);
  }

  size_t erase(const key_type& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return 0;
    erase(it);
    return 1;
  }

  void clear() {
    map_.clear();
    counts_.clear();
  }

  // How many records belong to `app`.
  size_t CountFor(const AppIsolate* app) const {
    auto it = counts_.find(app);
    return it == counts_.end() ? 0 : it->second;
  }

 private:
  void Uncount(const AppIsolate* app) {
    auto it = counts_.find(app);
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
  }

  Map map_;
  std::unordered_map<const AppIsolate*, size_t> counts_;
};

}  // namespace dorm::runtime
