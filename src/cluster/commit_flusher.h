// The node's group commit: the captured commits of all its objects queue here, and one thread
// makes them durable with one AppendCommits statement per batch; the next batch leaves when the
// previous one has returned, so the rows that arrive meanwhile share one round trip and one
// PostgreSQL commit.
//
// Every row gets exactly one outcome, and never kDurable before PostgreSQL has committed it:
//   kDurable  in the log (the object's held output may be released);
//   kFenced   refused: the object is no longer this node's at the row's epoch (its held output
//             must fail and its instance be dropped);
//   kFailed   PostgreSQL refused the statement for another reason (not in the log), or the
//             flusher stopped before the row's outcome was known: not acknowledged, and the log
//             (which a restore reads) is the authority on whether it is there.
// When the connection is lost during a batch, its outcome is unknown: the COMMIT may have
// happened, or may still happen (a server keeps running a statement whose client went away, for
// example one waiting for a row lock). The flusher reconnects, ends the server process that ran
// the batch (pg_terminate_backend, waiting until it is gone), and only then reads back which of
// the batch's rows are in the log, or in a snapshot at their seq with their chain value (the
// owner's compaction may have replaced them meanwhile): those are kDurable, the others are sent
// again, ahead of newer rows. (With synchronous replication, a process ended while waiting for
// its standby has committed locally only: the commit is then read back as durable without being
// replicated, PostgreSQL's own caveat.)
//
// Threading: Submit() from any thread; `done` runs on the flusher's thread and must not block.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "cluster/commit_batch.h"
#include "cluster/pg_session.h"

namespace dorm::cluster {

class CommitFlusher {
 public:
  enum class Outcome { kDurable, kFenced, kFailed };
  using Done = std::function<void(Outcome)>;

  struct Options {
    PgSessionOptions session;
    std::string node;
    size_t max_queued_rows = 100000;
  };

  explicit CommitFlusher(Options options);
  // Stop().
  ~CommitFlusher();
  CommitFlusher(const CommitFlusher&) = delete;
  CommitFlusher& operator=(const CommitFlusher&) = delete;

  void Start();
  // Queues `row`; false (and `done` is not kept) when max_queued_rows are already waiting.
  bool Submit(LogRow row, Done done);
  // Finishes the batch in flight (until its outcome is known or the session gives up), then
  // reports kFailed for what is still queued.
  void Stop();

  // Statements sent so far (retries included), for tests and metrics.
  size_t batches() const;
  // The rows not yet settled (queued, or in a batch whose outcome is not known yet) and how long
  // the oldest of them has waited: the node's flush lag, for `dorm cluster status`.
  struct Backlog {
    size_t rows = 0;
    size_t bytes = 0;  // their captured pages
    long long oldest_ms = 0;
  };
  Backlog backlog() const;

 private:
  struct Pending {
    LogRow row;
    Done done;
    std::chrono::steady_clock::time_point queued_at;
  };
  void Run();
  // Records `batch` as the rows in flight (under mutex_).
  void NoteUnsettled(const std::vector<Pending>& batch);
  // Sends `batch`; reports what is known and leaves in `batch` the rows to send again. False
  // when the outcome of those rows is unknown (to be read back before they are sent again).
  bool Flush(std::vector<Pending>& batch, int* lost_pid);
  // After a lost connection: reports the rows found in the log and leaves the others (not
  // committed) in `batch`; false if it could not read.
  bool Reconcile(std::vector<Pending>& batch, int lost_pid);

  Options options_;
  PgSession session_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  size_t batches_ = 0;
  size_t queued_bytes_ = 0;    // frames of queue_
  size_t unsettled_rows_ = 0;  // the batch in flight
  size_t unsettled_bytes_ = 0;
  std::chrono::steady_clock::time_point unsettled_since_;
  std::thread thread_;
};

}  // namespace dorm::cluster
