// Storage quotas: how many bytes one object's database and one app's objects together may use.
//
// The per-object limit is SQLite's max_page_count, set by ObjectDatabase on open. The per-app
// limit needs the app's usage across its objects, which StorageQuota keeps: it is computed once per
// app (the sizes of the files under DATA/objects/APP, on the first open of one of its objects) and
// then moved by every commit that grows or shrinks a database. It is approximate by design (a
// database's write-ahead log is counted only at start, and objects committing at the same moment on
// different threads may each use the last free bytes), but it bounds what one app can write to a
// few transactions past its quota, so one app cannot fill the disk for the others.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace dorm::storage {

class StorageQuota {
 public:
  // `objects_dir` is DATA/objects; a limit of 0 means none.
  StorageQuota(std::string objects_dir, int64_t max_object_bytes, int64_t max_app_bytes);
  StorageQuota(const StorageQuota&) = delete;
  StorageQuota& operator=(const StorageQuota&) = delete;

  int64_t max_object_bytes() const { return max_object_bytes_; }
  int64_t max_app_bytes() const { return max_app_bytes_; }

  // Bytes `app` may still add (0 when it is at or over its quota; INT64_MAX without a limit).
  // The first call for an app walks its folder.
  int64_t AppRemaining(const std::string& app);
  // Counts a change in one of the app's databases.
  void Add(const std::string& app, int64_t delta_bytes);
  // The app's usage is computed again on the next call (after one of its classes was deleted).
  void Forget(const std::string& app);
  // The app's usage as counted so far (computing it if needed), for tests and reports.
  int64_t AppUsage(const std::string& app);

 private:
  int64_t Measure(const std::string& app) const;
  int64_t UsageLocked(const std::string& app, std::unique_lock<std::mutex>& lock);

  const std::string objects_dir_;
  const int64_t max_object_bytes_;
  const int64_t max_app_bytes_;
  std::mutex mu_;
  std::map<std::string, int64_t> used_;  // apps whose usage is known
  std::set<std::string> measuring_;      // apps whose files a thread is walking
};

}  // namespace dorm::storage
