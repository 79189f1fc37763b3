#include "storage/sync_pool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <map>
#include <string_view>
#include <unordered_map>

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
  // One stat() per file tells both (a group holds one file or more per object that committed),
  // except for the logs found through their descriptors when their targets were made
  // (SyncTarget::checked_data_paths), and once per group for a file several targets name (the
  // alarm index's log).
  // Each file system's files, any of which can be opened to name it to syncfs().
  std::map<dev_t, std::vector<const std::string*>> devices;
  std::vector<std::pair<dev_t, const std::string*>> found;
  std::unordered_map<std::string_view, dev_t> stated;
  for (size_t i = 0; i < targets.size(); ++i) {
    const SyncTarget& target = *targets[i];
    SyncOutcome& outcome = (*outcomes)[i];
    if (!target.unwritten.empty()) {
      outcome.error = target.unwritten;
      outcome.ok = false;
      continue;
    }
    found.clear();
    size_t index = 0;
    for (const auto* paths : {&target.data_paths, &target.fsync_paths}) {
      for (const std::string& path : *paths) {
        const bool checked = paths == &target.data_paths && index++ < target.checked_data_paths;
        if (checked) {
          found.emplace_back(static_cast<dev_t>(target.checked_device), &path);
          continue;
        }
        if (auto known = stated.find(path); known != stated.end()) {
          found.emplace_back(known->second, &path);
          continue;
        }
        struct stat st;
        if (::stat(path.c_str(), &st) != 0) {
          outcome.error = "stat " + path + ": " + std::strerror(errno);
          outcome.ok = false;
          break;
        }
        stated.emplace(path, st.st_dev);
        found.emplace_back(st.st_dev, &path);
      }
      if (!outcome.ok) break;
    }
    if (!outcome.ok) continue;
    for (const auto& [device, path] : found) devices[device].push_back(path);
  }
  for (const auto& [device, paths] : devices) {
    // A file may be gone since it was found (a checked log was not looked up here): the next one
    // of the same file system serves as well.
    const std::string* path = nullptr;
    int fd = -1;
    for (const std::string* candidate : paths) {
      path = candidate;
      fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) break;
    }
    int rc = fd < 0 ? -1 : ::syncfs(fd);
    int saved = errno;
    if (fd >= 0) ::close(fd);
    if (rc != 0) {
      std::string error =
          std::string(fd < 0 ? "open " + *path : "syncfs") + ": " + std::strerror(saved);
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
