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
  auto app = apps_.find(it->app);
  app->second.bytes -= it->bytes;
  app->second.order.erase(it->in_app);
  if (app->second.order.empty()) apps_.erase(app);
  index_.erase(it->key);
  lru_.erase(it);
}

void ResponseCache::TouchLocked(Lru::iterator it) {
  lru_.splice(lru_.begin(), lru_, it);
  std::list<Lru::iterator>& order = apps_.find(it->app)->second.order;
  order.splice(order.begin(), order, it->in_app);
}

void ResponseCache::EvictLocked(const std::string& app) {
  // The app's own least recently used entries go first, so that one app filling its budget never
  // evicts another's; then, for the server's total, anyone's.
  for (auto found = apps_.find(app);
       found != apps_.end() && found->second.bytes > max_bytes_per_app_; found = apps_.find(app)) {
    EraseLocked(found->second.order.back());
  }
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
  lru_.push_front(Stored{key, app, bytes, std::move(entry), {}});
  AppEntries& entries = apps_[app];
  entries.order.push_front(lru_.begin());
  entries.bytes += bytes;
  lru_.begin()->in_app = entries.order.begin();
  index_[key] = lru_.begin();
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
  TouchLocked(found->second);
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
  auto it = apps_.find(app);
  return it == apps_.end() ? 0 : it->second.bytes;
}

size_t ResponseCache::TotalBytes() {
  std::lock_guard<std::mutex> lock(mu_);
  return total_bytes_;
}

}  // namespace dorm::runtime
