#include "storage/storage_quota.h"

#include <filesystem>
#include <limits>

namespace dorm::storage {

StorageQuota::StorageQuota(std::string objects_dir, int64_t max_object_bytes, int64_t max_app_bytes)
    : objects_dir_(std::move(objects_dir)),
      max_object_bytes_(max_object_bytes),
      max_app_bytes_(max_app_bytes) {}

int64_t StorageQuota::Measure(const std::string& app) const {
  // Every file of the app's objects: databases and their write-ahead logs.
  int64_t total = 0;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(
      objects_dir_ + "/" + app, std::filesystem::directory_options::skip_permission_denied, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::error_code size_ec;
    if (!it->is_regular_file(size_ec)) continue;
    auto size = it->file_size(size_ec);
    if (!size_ec) total += static_cast<int64_t>(size);
  }
  return total;
}

int64_t StorageQuota::UsageLocked(const std::string& app, std::unique_lock<std::mutex>& lock) {
  auto it = used_.find(app);
  if (it != used_.end()) return it->second;
  // Another thread is measuring this app: count it as empty meanwhile rather than wait for (or
  // repeat) the walk; the walk is one pass over the app's files.
  if (measuring_.count(app)) return 0;
  // The walk runs unlocked so that other writers do not wait for it. Changes counted for this
  // app meanwhile are dropped (Add ignores unknown apps); the walk sees most of them.
  measuring_.insert(app);
  lock.unlock();
  int64_t measured = Measure(app);
  lock.lock();
  measuring_.erase(app);
  return used_.emplace(app, measured).first->second;
}

int64_t StorageQuota::AppRemaining(const std::string& app) {
  if (max_app_bytes_ <= 0) return std::numeric_limits<int64_t>::max();
  std::unique_lock<std::mutex> lock(mu_);
  int64_t used = UsageLocked(app, lock);
  return used >= max_app_bytes_ ? 0 : max_app_bytes_ - used;
}

int64_t StorageQuota::AppUsage(const std::string& app) {
  std::unique_lock<std::mutex> lock(mu_);
  return UsageLocked(app, lock);
}

void StorageQuota::Add(const std::string& app, int64_t delta_bytes) {
  if (delta_bytes == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = used_.find(app);
  if (it == used_.end()) return;
  it->second = std::max<int64_t>(0, it->second + delta_bytes);
}

void StorageQuota::Forget(const std::string& app) {
  std::lock_guard<std::mutex> lock(mu_);
  used_.erase(app);
}

}  // namespace dorm::storage
