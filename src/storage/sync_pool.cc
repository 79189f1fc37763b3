#include "storage/sync_pool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

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

bool SyncPool::FlushGroup(const std::vector<Job>& jobs, std::string* error) {
  // One syncfs() per file system the group touches flushes it whole, data and metadata (new
  // files' folder entries included).
  std::map<dev_t, std::string> devices;
  auto add = [&](const std::string& path) {
    struct stat st;
    if (::stat(path.c_str(), &st) == 0) devices.emplace(st.st_dev, path);
  };
  for (const Job& job : jobs) {
    for (const std::string& path : job.target->data_paths) add(path);
    for (const std::string& path : job.target->fsync_paths) add(path);
  }
  for (const auto& [device, path] : devices) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // removed since: nothing to keep
    int rc = ::syncfs(fd);
    int saved = errno;
    ::close(fd);
    if (rc != 0) {
      *error = std::string("syncfs: ") + std::strerror(saved);
      return false;
    }
  }
  return true;
}

void SyncPool::Work() {
  for (;;) {
    std::vector<Job> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      // Everything that queued up while this thread was flushing goes in one group.
      while (!jobs_.empty()) {
        batch.push_back(std::move(jobs_.front()));
        jobs_.pop_front();
      }
    }
    std::string error;
    auto started = std::chrono::steady_clock::now();
    bool ok = batch.size() == 1 ? batch.front().target->Run(&error) : FlushGroup(batch, &error);
    flush_latency_.Observe(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - started)
                                  .count()));
    for (Job& job : batch) {
      job.target.reset();
      job.done(ok, error);
    }
  }
}

}  // namespace dorm::storage
