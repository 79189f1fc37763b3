// Flushes commits to disk with group commit.
//
// Each flush thread takes every batch of flush targets (SyncTarget: one object's commits so far)
// queued while it was busy. A target alone is flushed with fdatasync of its write-ahead log (and
// fsync of any new files and folders). Two or more are flushed together with one syncfs() per file
// system they live on: a single pass that writes every dirty file and issues one device cache
// flush, instead of one flush per object. So the commits of many objects never wait for one fsync
// after another; the cost of durability is shared by every object that committed in the same
// moment.
//
// Targets come in batches (those of one event-loop iteration, say), and each batch's outcome
// goes back in one call: a batch costs one wake-up of a pool thread and one of the submitter,
// however many objects it holds (with a wake-up per object, a flush's completions bounced
// between the threads once per object).
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

// How one SyncTarget fared.
struct SyncOutcome {
  bool ok = true;
  std::string error;  // why not, when !ok
};

class SyncPool {
 public:
  explicit SyncPool(int threads);
  ~SyncPool();  // finishes every submitted request, then joins

  // Makes every one of `targets` durable on a pool thread, then calls `done` once, on that
  // thread, with each target's outcome in the order given (`done` must not throw). The targets
  // of every batch queued while the pool threads were busy are flushed as one group.
  void Submit(std::vector<std::unique_ptr<SyncTarget>> targets,
              std::function<void(std::vector<SyncOutcome>)> done);

  // How long each flush (one request alone, or one group) took, for the metrics endpoint.
  const LatencyHistogram& flush_latency() const { return flush_latency_; }

 private:
  struct Batch {
    std::vector<std::unique_ptr<SyncTarget>> targets;
    std::function<void(std::vector<SyncOutcome>)> done;
  };
  void Work();
  // Flushes a group; `(*outcomes)[i]` tells how `targets[i]` fared. A target whose files are
  // gone fails alone; a failed syncfs fails every target of the group.
  static void FlushGroup(const std::vector<SyncTarget*>& targets,
                         std::vector<SyncOutcome>* outcomes);

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> batches_;
  bool stopping_ = false;
  LatencyHistogram flush_latency_;
  std::vector<std::thread> threads_;
};

}  // namespace dorm::storage
