// Storage quotas: how many bytes one object's database and one app's objects together may use.
//
// The per-object limit is SQLite's max_page_count, set by ObjectDatabase on open. The per-app
// limit needs the app's usage across its objects, which StorageQuota keeps: it is computed once per
// app (the sizes of the files under DATA/objects/APP) and then moved by every commit that grows or
// shrinks a database. It is approximate by design (a database's write-ahead log is counted only at
// start, and objects committing at the same moment on different threads may each use the last
// free bytes), but it bounds what one app can write to a few transactions past its quota, so one
// app cannot fill the disk for the others.
//
// An app's first walk runs on the thread that needs it only while the app has at most a few
// thousand files (milliseconds); a bigger app's walk goes on on a thread of its own: an app with a
// million objects takes tens of seconds to walk, and the event loop that asked (an object's first
// transaction after a start) must not wait for it. Until that walk ends the app counts only the
// growth committed since it began, so for that window an app may write up to one quota more than
// its limit; commits counted during the walk are kept on top of what it finds (a file the walk
// reaches after it grew is counted twice, which errs towards refusing early).
//
// Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace dorm::storage {

class StorageQuota {
 public:
  // Files an app's first walk reads on the calling thread before it hands the walk over.
  static constexpr size_t kInlineWalkEntries = 4096;

  // `objects_dir` is DATA/objects; a limit of 0 means none.
  StorageQuota(std::string objects_dir, int64_t max_object_bytes, int64_t max_app_bytes);
  // Stops a walk in progress and joins its thread.
  ~StorageQuota();
  StorageQuota(const StorageQuota&) = delete;
  StorageQuota& operator=(const StorageQuota&) = delete;

  int64_t max_object_bytes() const { return max_object_bytes_; }
  int64_t max_app_bytes() const { return max_app_bytes_; }

  // Bytes `app` may still add (0 when it is at or over its quota; INT64_MAX without a limit).
  // The first call for an app walks its folder, or starts that walk on the walking thread when
  // the app has more than kInlineWalkEntries files.
  int64_t AppRemaining(const std::string& app);
  // Counts a change in one of the app's databases.
  void Add(const std::string& app, int64_t delta_bytes);
  // The app's usage is computed again on the next call (after one of its classes was deleted).
  void Forget(const std::string& app);
  // The app's usage as counted so far, waiting for its walk if one is needed (for tests and
  // reports; not for an event loop).
  int64_t AppUsage(const std::string& app);

 private:
  struct Usage {
    int64_t bytes = 0;  // measured plus counted (only counted while `measured` is false)
    bool measured = false;
    uint64_t generation = 0;  // a Forget() while the walk runs makes its result stale
  };

  // Sums the sizes of the app's files; returns -1 if it saw more than `max_entries` entries or
  // stopping_ was set meanwhile.
  int64_t Measure(const std::string& app, size_t max_entries) const;
  // The app's entry; when it has none, creates it and walks the app's folder (unlocking `lock`
  // meanwhile) or queues the walk when the folder is big.
  Usage& EntryLocked(const std::string& app, std::unique_lock<std::mutex>& lock);
  void WalkLoop();

  const std::string objects_dir_;
  const int64_t max_object_bytes_;
  const int64_t max_app_bytes_;
  std::mutex mu_;
  std::condition_variable changed_;    // a walk ended, an app was queued, or stopping_
  std::map<std::string, Usage> used_;  // apps whose usage is known or being walked
  std::deque<std::string> to_walk_;
  uint64_t next_generation_ = 1;
  std::atomic<bool> stopping_{false};  // written under mu_, read by the walk without it
  std::thread walker_;                 // started by the first queued walk
};

}  // namespace dorm::storage
