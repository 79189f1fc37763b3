#include "runtime/object_placement.h"

namespace dorm::runtime {

size_t ObjectPlacement::HomeThread(const std::string& key, size_t threads) {
  return std::hash<std::string>{}(key) % threads;
}

size_t ObjectPlacement::ShardIndex(const std::string& key) {
  // Other bits of the hash than the home thread's, so that one thread's objects spread over
  // every shard.
  uint64_t hash = std::hash<std::string>{}(key);
  return static_cast<size_t>((hash >> 40) ^ (hash >> 17)) % kShards;
}

size_t ObjectPlacement::Route(const std::string& key, size_t threads,
                              const std::function<bool(size_t)>& busy) {
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto [it, inserted] = shard.placements.try_emplace(key);
  Placement& placement = it->second;
  if (inserted) {
    size_t home = HomeThread(key, threads);
    size_t chosen = home;
    if (busy(home)) {
      for (size_t step = 1; step < threads; ++step) {
        size_t candidate = (home + step) % threads;
        if (!busy(candidate)) {
          chosen = candidate;
          break;
        }
      }
    }
    placement.thread = static_cast<uint32_t>(chosen);
  }
  ++placement.on_the_way;
  return placement.thread;
}

void ObjectPlacement::Arrived(const std::string& key) {
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto it = shard.placements.find(key);
  if (it != shard.placements.end() && it->second.on_the_way > 0) --it->second.on_the_way;
}

bool ObjectPlacement::Pin(const std::string& key, size_t thread) {
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto [it, inserted] = shard.placements.try_emplace(key);
  if (inserted) it->second.thread = static_cast<uint32_t>(thread);
  return it->second.thread == thread;
}

void ObjectPlacement::Release(const std::string& key, size_t thread) {
  Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto it = shard.placements.find(key);
  if (it == shard.placements.end()) return;
  if (it->second.thread != thread || it->second.on_the_way > 0) return;
  shard.placements.erase(it);
}

int ObjectPlacement::PlacedOn(const std::string& key) const {
  const Shard& shard = ShardOf(key);
  std::lock_guard<std::mutex> lock(shard.mutex);
  auto it = shard.placements.find(key);
  return it == shard.placements.end() ? -1 : static_cast<int>(it->second.thread);
}

size_t ObjectPlacement::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mutex);
    total += shard.placements.size();
  }
  return total;
}

}  // namespace dorm::runtime
