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

void SyncPool::FlushGroup(const std::vector<Job>& jobs, std::vector<char>* ok,
                          std::vector<std::string>* errors) {
  // One syncfs() per file system the group touches flushes it whole, data and metadata (new
  // files' folder entries included). It would not notice a file removed under its open database,
  // so each job's files are checked first.
  // One stat() per file tells both (a group holds one file or more per object that committed).
  std::map<dev_t, std::string> devices;
  std::vector<std::pair<dev_t, const std::string*>> found;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const SyncTarget& target = *jobs[i].target;
    found.clear();
    for (const auto* paths : {&target.data_paths, &target.fsync_paths}) {
      for (const std::string& path : *paths) {
        struct stat st;
        if (::stat(path.c_str(), &st) != 0) {
          (*errors)[i] = "stat " + path + ": " + std::strerror(errno);
          (*ok)[i] = false;
          break;
        }
        found.emplace_back(st.st_dev, &path);
      }
      if (!(*ok)[i]) break;
    }
    if (!(*ok)[i]) continue;
    for (const auto& [device, path] : found) devices.emplace(device, *path);
  }
  for (const auto& [device, path] : devices) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    int rc = fd < 0 ? -1 : ::syncfs(fd);
    int saved = errno;
    if (fd >= 0) ::close(fd);
    if (rc != 0) {
      std::string error =
          std::string(fd < 0 ? "open " + path : "syncfs") + ": " + std::strerror(saved);
      for (size_t i = 0; i < jobs.size(); ++i) {
        if ((*ok)[i]) (*errors)[i] = error;
        (*ok)[i] = false;
      }
      return;
    }
  }
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
    std::vector<char> ok(batch.size(), 1);
    std::vector<std::string> errors(batch.size());
    auto started = std::chrono::steady_clock::now();
    if (batch.size() == 1) {
      ok[0] = batch.front().target->Run(&errors[0]);
    } else {
      FlushGroup(batch, &ok, &errors);
    }
    flush_latency_.Observe(
        static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::steady_clock::now() - started)
                                  .count()));
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i].target.reset();
      batch[i].done(ok[i] != 0, errors[i]);
    }
  }
}

}  // namespace dorm::storage
