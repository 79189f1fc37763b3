#include "storage/sync_pool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
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

void SyncPool::Submit(std::vector<std::unique_ptr<SyncTarget>> targets,
                      std::function<void(std::vector<SyncOutcome>)> done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    batches_.push_back(Batch{std::move(targets), std::move(done)});
  }
  cv_.notify_one();
}

void SyncPool::FlushGroup(const std::vector<SyncTarget*>& targets,
                          std::vector<SyncOutcome>* outcomes) {
  // One syncfs() per file system the group touches flushes it whole, data and metadata (new
  // files' folder entries included). It would not notice a file removed under its open database,
  // so each target's files are checked first.
  // One stat() per file tells both (a group holds one file or more per object that committed).
  std::map<dev_t, std::string> devices;
  std::vector<std::pair<dev_t, const std::string*>> found;
  for (size_t i = 0; i < targets.size(); ++i) {
    const SyncTarget& target = *targets[i];
    SyncOutcome& outcome = (*outcomes)[i];
    if (!target.unwritten.empty()) {
      outcome.error = target.unwritten;
      outcome.ok = false;
      continue;
    }
    found.clear();
    for (const auto* paths : {&target.data_paths, &target.fsync_paths}) {
      for (const std::string& path : *paths) {
        struct stat st;
        if (::stat(path.c_str(), &st) != 0) {
          outcome.error = "stat " + path + ": " + std::strerror(errno);
          outcome.ok = false;
          break;
        }
        found.emplace_back(st.st_dev, &path);
      }
      if (!outcome.ok) break;
    }
    if (!outcome.ok) continue;
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
      for (SyncOutcome& outcome : *outcomes) {
        if (outcome.ok) outcome.error = error;
        outcome.ok = false;
      }
      return;
    }
  }
}

void SyncPool::Work() {
  for (;;) {
    std::vector<Batch> batches;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !batches_.empty(); });
      if (batches_.empty()) return;
      // Everything that queued up while this thread was flushing goes in one group.
      while (!batches_.empty()) {
        batches.push_back(std::move(batches_.front()));
        batches_.pop_front();
      }
    }
    std::vector<SyncTarget*> targets;
    for (const Batch& batch : batches) {
      for (const auto& target : batch.targets) targets.push_back(target.get());
    }
    std::vector<SyncOutcome> outcomes(targets.size());
    auto started = std::chrono::steady_clock::now();
    if (targets.size() == 1) {
      outcomes[0].ok = targets[0]->Run(&outcomes[0].error);
    } else if (targets.size() > 1) {
      FlushGroup(targets, &outcomes);
    }
    if (!targets.empty()) {
      flush_latency_.Observe(
          static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::steady_clock::now() - started)
                                    .count()));
    }
    auto next = outcomes.begin();
    for (Batch& batch : batches) {
      const size_t n = batch.targets.size();
      batch.targets.clear();
      std::vector<SyncOutcome> own(std::make_move_iterator(next),
                                   std::make_move_iterator(next + static_cast<ptrdiff_t>(n)));
      next += static_cast<ptrdiff_t>(n);
      batch.done(std::move(own));
    }
  }
}

}  // namespace dorm::storage
