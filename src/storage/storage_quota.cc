#include "storage/storage_quota.h"

#include <cstdint>
#include <filesystem>
#include <limits>

namespace dorm::storage {

StorageQuota::StorageQuota(std::string objects_dir, int64_t max_object_bytes, int64_t max_app_bytes)
    : objects_dir_(std::move(objects_dir)),
      max_object_bytes_(max_object_bytes),
      max_app_bytes_(max_app_bytes) {}

StorageQuota::~StorageQuota() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (walker_.joinable()) walker_.join();
}

int64_t StorageQuota::Measure(const std::string& app, size_t max_entries) const {
  // Every file of the app's objects: databases and their write-ahead logs.
  int64_t total = 0;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(
      objects_dir_ + "/" + app, std::filesystem::directory_options::skip_permission_denied, ec);
  size_t seen = 0;
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (++seen > max_entries) return -1;
    if (seen % 4096 == 0 && stopping_.load(std::memory_order_relaxed)) return -1;
    std::error_code size_ec;
    if (!it->is_regular_file(size_ec)) continue;
    auto size = it->file_size(size_ec);
    if (!size_ec) total += static_cast<int64_t>(size);
  }
  return total;
}

StorageQuota::Usage& StorageQuota::EntryLocked(const std::string& app,
                                               std::unique_lock<std::mutex>& lock) {
  auto it = used_.find(app);
  if (it != used_.end()) return it->second;
  it = used_.emplace(app, Usage{}).first;
  const uint64_t generation = next_generation_++;
  it->second.generation = generation;
  // Unlocked, so that other threads' commits and calls do not wait for the walk (they count
  // this app's growth only, meanwhile).
  lock.unlock();
  int64_t measured = Measure(app, kInlineWalkEntries);
  lock.lock();
  it = used_.find(app);
  if (it == used_.end() || it->second.generation != generation) {
    // Forgotten meanwhile: start over.
    return EntryLocked(app, lock);
  }
  if (measured >= 0) {
    it->second.bytes = std::max<int64_t>(0, it->second.bytes + measured);
    it->second.measured = true;
    changed_.notify_all();
  } else if (!stopping_) {
    // Too big to walk here, or stopping: the walking thread starts over from the first file.
    to_walk_.push_back(app);
    if (!walker_.joinable()) walker_ = std::thread([this] { WalkLoop(); });
    changed_.notify_all();
  }
  return it->second;
}

void StorageQuota::WalkLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    changed_.wait(lock, [this] { return stopping_ || !to_walk_.empty(); });
    if (stopping_) return;
    std::string app = std::move(to_walk_.front());
    to_walk_.pop_front();
    auto it = used_.find(app);
    if (it == used_.end() || it->second.measured) continue;
    const uint64_t generation = it->second.generation;
    lock.unlock();
    int64_t measured = Measure(app, SIZE_MAX);
    lock.lock();
    if (measured < 0) return;
    it = used_.find(app);
    // Forgotten meanwhile: a newer entry (if any) has its own walk queued.
    if (it == used_.end() || it->second.generation != generation) continue;
    it->second.bytes = std::max<int64_t>(0, it->second.bytes + measured);
    it->second.measured = true;
    changed_.notify_all();
  }
}

int64_t StorageQuota::AppRemaining(const std::string& app) {
  if (max_app_bytes_ <= 0) return std::numeric_limits<int64_t>::max();
  std::unique_lock<std::mutex> lock(mu_);
  int64_t used = EntryLocked(app, lock).bytes;
  return used >= max_app_bytes_ ? 0 : max_app_bytes_ - used;
}

int64_t StorageQuota::AppUsage(const std::string& app) {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (EntryLocked(app, lock).measured) break;
    changed_.wait(lock, [&] {
      auto it = used_.find(app);
      return stopping_ || it == used_.end() || it->second.measured;
    });
    if (stopping_) break;
    // Measured, or forgotten meanwhile (then walked again).
  }
  auto it = used_.find(app);
  return it == used_.end() ? 0 : it->second.bytes;
}

void StorageQuota::Add(const std::string& app, int64_t delta_bytes) {
  if (delta_bytes == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = used_.find(app);
  if (it == used_.end()) return;
  it->second.bytes = std::max<int64_t>(0, it->second.bytes + delta_bytes);
}

void StorageQuota::Forget(const std::string& app) {
  std::lock_guard<std::mutex> lock(mu_);
  used_.erase(app);
}

}  // namespace dorm::storage
