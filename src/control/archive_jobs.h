// The threads that stream export and backup archives (admin_archive.cc): each archive is written
// by a thread of its own, which waits for the client to read (backpressure) and for objects to be
// copied on their threads, so that the admin service's worker is never held by a slow client.
//
// Thread-safe. The destructor tells running jobs to stop (`stopping` becomes true) and joins them.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace dorm::control {

class ArchiveJobs {
 public:
  // At most this many archives stream at once; more are refused (429).
  static constexpr size_t kMaxRunning = 2;

  ArchiveJobs() = default;
  ~ArchiveJobs();
  ArchiveJobs(const ArchiveJobs&) = delete;
  ArchiveJobs& operator=(const ArchiveJobs&) = delete;

  // Runs `job` on a new thread, unless kMaxRunning jobs run (then returns false). The job should
  // return soon once `stopping` is true.
  bool Start(std::function<void(const std::atomic<bool>& stopping)> job);

 private:
  struct Job {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::mutex mu_;
  std::list<Job> jobs_;
  std::atomic<bool> stopping_{false};
};

}  // namespace dorm::control
