#include "storage/sync_pool.h"

namespace dorm::storage {

SyncPool::SyncPool(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

SyncPool::~SyncPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void SyncPool::Submit(std::unique_ptr<SyncTarget> target,
                      std::function<void(bool, const std::string&)> done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(Job{std::move(target), std::move(done)});
  }
  cv_.notify_one();
}

void SyncPool::Work() {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    std::string error;
    bool ok = job.target->Run(&error);
    job.target.reset();
    job.done(ok, error);
  }
}

}  // namespace dorm::storage
