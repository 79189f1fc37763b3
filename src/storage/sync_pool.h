// Flushes commits to disk with group commit.
//
// Each flush thread takes every flush request queued while it was busy. A request alone is
// flushed with fdatasync of its write-ahead log (and fsync of any new files and folders). Two or
// more are flushed together with one syncfs() per file system they live on: a single pass that
// writes every dirty file and issues one device cache flush, instead of one flush per object.
// So the commits of many objects never wait for one fsync after another; the cost of durability
// is shared by every object that committed in the same moment.
//
// Thread-safe. Submit() never blocks on I/O.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "storage/object_database.h"
#include "util/latency_histogram.h"

namespace dorm::storage {

class SyncPool {
 public:
  explicit SyncPool(int threads);
  ~SyncPool();  // finishes every submitted request, then joins

  // Makes `target` durable on a pool thread, then calls `done(ok, error)` on that thread.
  void Submit(std::unique_ptr<SyncTarget> target,
              std::function<void(bool ok, const std::string& error)> done);

  // How long each flush (one request alone, or one group) took, for the metrics endpoint.
  const LatencyHistogram& flush_latency() const { return flush_latency_; }

 private:
  struct Job {
    std::unique_ptr<SyncTarget> target;
    std::function<void(bool, const std::string&)> done;
  };
  void Work();
  // Flushes a group; `ok[i]` and `errors[i]` tell how job i fared. A job whose files are gone
  // fails alone; a failed syncfs fails every job of the group.
  static void FlushGroup(const std::vector<Job>& jobs, std::vector<char>* ok,
                         std::vector<std::string>* errors);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  LatencyHistogram flush_latency_;
  std::vector<std::thread> threads_;
};

}  // namespace dorm::storage
