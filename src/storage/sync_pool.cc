#include "storage/sync_pool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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
  // One descriptor per file system the group touches; syncfs() on it flushes the whole file
  // system, data and metadata (new files' folder entries included).
  std::map<dev_t, int> devices;
  std::vector<int> opened;
  auto add = [&](int fd) {
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0) devices.emplace(st.st_dev, fd);
  };
  for (const Job& job : jobs) {
    add(job.target->wal_fd);
    for (const std::string& path : job.target->fsync_paths) {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;  // removed since: nothing to keep
      opened.push_back(fd);
      add(fd);
    }
  }
  bool ok = true;
  for (const auto& [device, fd] : devices) {
    if (::syncfs(fd) != 0) {
      *error = std::string("syncfs: ") + std::strerror(errno);
      ok = false;
    }
  }
  for (int fd : opened) ::close(fd);
  return ok;
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
    bool ok = batch.size() == 1 ? batch.front().target->Run(&error) : FlushGroup(batch, &error);
    for (Job& job : batch) {
      job.target.reset();
      job.done(ok, error);
    }
  }
}

}  // namespace dorm::storage
