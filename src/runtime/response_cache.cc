#include "runtime/response_cache.h"

namespace dorm::runtime {

ResponseCache::ResponseCache(size_t max_bytes_per_app, size_t max_bytes_total)
    : max_bytes_per_app_(max_bytes_per_app), max_bytes_total_(max_bytes_total) {}

std::string ResponseCache::Key(const std::string& app, const std::string& cache,
                               const std::string& url) {
  // App names never hold '\n'; the cache name's length keeps names holding '\n' from colliding.
  return app + '\n' + std::to_string(cache.size()) + '\n' + cache + '\n' + url;
}

void ResponseCache::EraseLocked(Lru::iterator it) {
  total_bytes_ -= it->bytes;
  auto app = app_bytes_.find(it->app);
  if (app != app_bytes_.end() && (app->second -= it->bytes) == 0) app_bytes_.erase(app);
  index_.erase(it->key);
  lru_.erase(it);
}

void ResponseCache::EvictLocked(const std::string& app) {
  // The app's own least recently used entries go first, so that one app filling its budget never
  // evicts another's; then, for the server's total, anyone's.
  for (auto it = lru_.end(); it != lru_.begin() && app_bytes_[app] > max_bytes_per_app_;) {
    --it;
    if (it->app == app) {
      auto victim = it;
      ++it;
      EraseLocked(victim);
    }
  }
  if (app_bytes_[app] == 0) app_bytes_.erase(app);
  while (total_bytes_ > max_bytes_total_ && !lru_.empty()) EraseLocked(std::prev(lru_.end()));
}

void ResponseCache::Put(const std::string& app, const std::string& cache, const std::string& url,
                        Entry entry) {
  std::string key = Key(app, cache, url);
  size_t bytes = key.size() + entry.body.size() + entry.status_text.size() + 64;
  for (const auto& [name, value] : entry.headers) bytes += name.size() + value.size() + 16;
  std::lock_guard<std::mutex> lock(mu_);
  if (auto old = index_.find(key); old != index_.end()) EraseLocked(old->second);
  if (bytes > max_bytes_per_app_ || bytes > max_bytes_total_) return;
  lru_.push_front(Stored{key, app, bytes, std::move(entry)});
  index_[key] = lru_.begin();
  app_bytes_[app] += bytes;
  total_bytes_ += bytes;
  EvictLocked(app);
}

std::optional<ResponseCache::Entry> ResponseCache::Match(const std::string& app,
                                                         const std::string& cache,
                                                         const std::string& url, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto found = index_.find(Key(app, cache, url));
  if (found == index_.end()) return std::nullopt;
  if (found->second->entry.expires_ms <= now_ms) {
    EraseLocked(found->second);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, found->second);
  return found->second->entry;
}

bool ResponseCache::Delete(const std::string& app, const std::string& cache, const std::string& url,
                           int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  auto found = index_.find(Key(app, cache, url));
  if (found == index_.end()) return false;
  const bool live = found->second->entry.expires_ms > now_ms;
  EraseLocked(found->second);
  return live;
}

size_t ResponseCache::BytesOf(const std::string& app) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = app_bytes_.find(app);
  return it == app_bytes_.end() ? 0 : it->second;
}

size_t ResponseCache::TotalBytes() {
  std::lock_guard<std::mutex> lock(mu_);
  return total_bytes_;
}

}  // namespace dorm::runtime
