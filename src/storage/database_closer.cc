#include "storage/database_closer.h"

#include <vector>

#include "util/log.h"

namespace dorm::storage {

DatabaseCloser::DatabaseCloser(size_t max_pending)
    : max_pending_(max_pending), thread_([this] { Work(); }) {}

DatabaseCloser::~DatabaseCloser() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

bool DatabaseCloser::Close(std::unique_ptr<ObjectDatabase>& db) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (jobs_.size() >= max_pending_) return false;
    ++closing_[db->path()];
    jobs_.push_back(std::move(db));
  }
  work_cv_.notify_one();
  return true;
}

void DatabaseCloser::AwaitClosed(const std::string& path) {
  std::unique_lock<std::mutex> lock(mu_);
  if (closing_.empty()) return;
  closed_cv_.wait(lock, [&] { return closing_.count(path) == 0; });
}

std::unique_ptr<ObjectDatabase> DatabaseCloser::Reclaim(const std::string& path) {
  std::unique_lock<std::mutex> lock(mu_);
  if (closing_.empty()) return nullptr;
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
    if ((*it)->path() != path) continue;
    std::unique_ptr<ObjectDatabase> db = std::move(*it);
    jobs_.erase(it);
    auto count = closing_.find(path);
    if (--count->second == 0) closing_.erase(count);
    return db;
  }
  closed_cv_.wait(lock, [&] { return closing_.count(path) == 0; });
  return nullptr;
}

void DatabaseCloser::CloseNowUnder(const std::string& prefix) {
  auto under = [&](const std::string& path) { return path.compare(0, prefix.size(), prefix) == 0; };
  std::vector<std::unique_ptr<ObjectDatabase>> taken;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (closing_.empty()) return;
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      if (!under((*it)->path())) {
        ++it;
        continue;
      }
      auto count = closing_.find((*it)->path());
      if (--count->second == 0) closing_.erase(count);
      taken.push_back(std::move(*it));
      it = jobs_.erase(it);
    }
    // What remains under `prefix` is being closed on the closer's thread.
    closed_cv_.wait(lock, [&] {
      for (const auto& [path, count] : closing_) {
        if (under(path)) return false;
      }
      return true;
    });
  }
  // Closed outside the lock: closing touches the disk.
  taken.clear();
}

size_t DatabaseCloser::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return jobs_.size();
}

void DatabaseCloser::Work() {
  for (;;) {
    std::unique_ptr<ObjectDatabase> db;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      db = std::move(jobs_.front());
      jobs_.pop_front();
    }
    const std::string path = db->path();
    try {
      db->CheckpointAndTruncate();
    } catch (const StorageError& e) {
      // The commits stay in the log, which the next open reads back: nothing is lost.
      Log(LogLevel::kWarn, "checkpoint of " + path + " before closing failed: " + e.what());
    }
    db.reset();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = closing_.find(path);
      if (it != closing_.end() && --it->second == 0) closing_.erase(it);
    }
    closed_cv_.notify_all();
  }
}

}  // namespace dorm::storage
