// A small pool of threads that flushes commits to disk (fdatasync/fsync).
//
// Commits of many objects are flushed concurrently rather than one after another, so the file
// system can fold them into one journal commit: the cost of durability is shared by every object
// that committed in the same moment.
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

namespace dorm::storage {

class SyncPool {
 public:
  explicit SyncPool(int threads);
  ~SyncPool();  // finishes every submitted job, then joins

  // Runs target->Run() on a pool thread, then `done(ok, error)` on that pool thread.
  void Submit(std::unique_ptr<SyncTarget> target,
              std::function<void(bool ok, const std::string& error)> done);

 private:
  struct Job {
    std::unique_ptr<SyncTarget> target;
    std::function<void(bool, const std::string&)> done;
  };
  void Work();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace dorm::storage
