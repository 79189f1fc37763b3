#include "control/archive_jobs.h"

namespace dorm::control {

ArchiveJobs::~ArchiveJobs() {
  stopping_ = true;
  std::list<Job> jobs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs.swap(jobs_);
  }
  for (Job& job : jobs) job.thread.join();
}

bool ArchiveJobs::Start(std::function<void(const std::atomic<bool>& stopping)> job) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (*it->done) {
      it->thread.join();
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
  if (jobs_.size() >= kMaxRunning || stopping_) return false;
  auto done = std::make_shared<std::atomic<bool>>(false);
  jobs_.push_back(Job{std::thread([this, done, job = std::move(job)] {
                        job(stopping_);
                        *done = true;
                      }),
                      done});
  return true;
}

}  // namespace dorm::control
