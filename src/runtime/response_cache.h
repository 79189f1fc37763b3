// The HTTP response cache behind the Cache API (`caches.default`, `caches.open(name)`): one for
// the whole server, shared by every thread, each app seeing only its own entries.
//
// Entries are keyed by app, cache name and request URL, and live until their expiry (the
// response's Cache-Control / Expires, worked out by js/prelude/cache.js) or until evicted: least
// recently used first, when an app passes its own byte budget or the server its total. A cache may
// drop any entry at any time, so a put that cannot fit is dropped, never an error.
//
// Thread-safe. Pure memory: nothing survives a restart (Cloudflare's cache is not durable either).
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "runtime/http_message.h"

namespace dorm::runtime {

class ResponseCache {
 public:
  struct Entry {
    int status = 200;
    std::string status_text;
    HeaderList headers;
    std::string body;
    int64_t expires_ms = 0;  // wall-clock time after which the entry is gone
  };

  ResponseCache(size_t max_bytes_per_app, size_t max_bytes_total);
  ResponseCache(const ResponseCache&) = delete;
  ResponseCache& operator=(const ResponseCache&) = delete;

  // Stores `entry` for the key, replacing what was there, then evicts the least recently used
  // entries until the app and the server are within their budgets. An entry larger than the app's
  // budget is not stored (and replaces nothing).
  void Put(const std::string& app, const std::string& cache, const std::string& url, Entry entry);
  // The entry for the key if there is one that has not expired at `now_ms`.
  std::optional<Entry> Match(const std::string& app, const std::string& cache,
                             const std::string& url, int64_t now_ms);
  // Removes the entry for the key; returns whether an unexpired one was there.
  bool Delete(const std::string& app, const std::string& cache, const std::string& url,
              int64_t now_ms);

  // The bytes the app's entries hold, and all apps' (for tests and metrics).
  size_t BytesOf(const std::string& app);
  size_t TotalBytes();

 private:
  struct Stored;
  using Lru = std::list<Stored>;  // most recently used first
  // One app's entries, most recently used first: an app over its budget loses its own oldest
  // entries in constant time each, however many entries other apps hold.
  struct AppEntries {
    std::list<Lru::iterator> order;
    size_t bytes = 0;
  };
  struct Stored {
    std::string key;
    std::string app;
    size_t bytes;
    Entry entry;
    std::list<Lru::iterator>::iterator in_app;  // this entry's place in its app's order
  };

  static std::string Key(const std::string& app, const std::string& cache, const std::string& url);
  void EraseLocked(Lru::iterator it);
  // Marks `it` the most recently used, in the server's order and its app's.
  void TouchLocked(Lru::iterator it);
  // Evicts the app's least recently used entries until it holds at most max_bytes_per_app_, then
  // anyone's until the server holds at most max_bytes_total_.
  void EvictLocked(const std::string& app);

  const size_t max_bytes_per_app_;
  const size_t max_bytes_total_;
  std::mutex mu_;
  Lru lru_;                                               // guarded by mu_
  std::unordered_map<std::string, Lru::iterator> index_;  // guarded by mu_
  std::map<std::string, AppEntries> apps_;                // guarded by mu_; no empty app
  size_t total_bytes_ = 0;                                // guarded by mu_
};

}  // namespace dorm::runtime
