#include "cluster/commit_flusher.h"

#include <optional>
#include <set>
#include <string>

namespace dorm::cluster {

CommitFlusher::CommitFlusher(Options options)
    : options_(std::move(options)), session_(options_.session) {}

CommitFlusher::~CommitFlusher() { Stop(); }

void CommitFlusher::Start() {
  stopping_ = false;
  thread_ = std::thread([this] { Run(); });
}

bool CommitFlusher::Submit(LogRow row, Done done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= options_.max_queued_rows) return false;
    queued_bytes_ += row.frames.size();
    queue_.push_back({std::move(row), std::move(done), std::chrono::steady_clock::now()});
  }
  wake_.notify_one();
  return true;
}

size_t CommitFlusher::batches() const {
  std::lock_guard lock(mutex_);
  return batches_;
}

CommitFlusher::Backlog CommitFlusher::backlog() const {
  std::lock_guard lock(mutex_);
  Backlog backlog;
  backlog.rows = queue_.size() + unsettled_rows_;
  backlog.bytes = queued_bytes_ + unsettled_bytes_;
  std::optional<std::chrono::steady_clock::time_point> oldest;
  if (unsettled_rows_ > 0) oldest = unsettled_since_;
  if (!queue_.empty() && (!oldest || queue_.front().queued_at < *oldest)) {
    oldest = queue_.front().queued_at;
  }
  if (oldest) {
    backlog.oldest_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - *oldest)
                            .count();
  }
  return backlog;
}

void CommitFlusher::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  std::deque<Pending> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
    queued_bytes_ = 0;
  }
  for (Pending& p : left) p.done(Outcome::kFailed);
}

void CommitFlusher::Run() {
  std::vector<Pending> batch;  // rows whose outcome is not known yet, oldest first
  bool unknown = false;        // `batch` may be in the log: read back before sending again
  int lost_pid = 0;            // the server process that ran it
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !batch.empty(); });
      if (stopping_ && batch.empty()) return;
    }
    if (unknown) unknown = !Reconcile(batch, lost_pid);
    if (!unknown) {
      {
        std::lock_guard lock(mutex_);
        while (!queue_.empty() && batch.size() < kMaxBatchRows) {
          queued_bytes_ -= queue_.front().row.frames.size();
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        NoteUnsettled(batch);
      }
      if (!batch.empty()) unknown = !Flush(batch, &lost_pid);
    }
    {
      std::lock_guard lock(mutex_);
      NoteUnsettled(batch);
    }
    if (!batch.empty()) {
      // PostgreSQL unreachable: wait before trying again (the session's reconnect delay applies
      // too), unless stopping, which gives these rows up unacknowledged.
      std::unique_lock lock(mutex_);
      if (stopping_) {
        lock.unlock();  // `done` may call Submit()
        for (Pending& p : batch) p.done(Outcome::kFailed);
        return;
      }
      wake_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stopping_; });
    }
  }
}

void CommitFlusher::NoteUnsettled(const std::vector<Pending>& batch) {
  unsettled_rows_ = batch.size();
  unsettled_bytes_ = 0;
  for (const Pending& p : batch) unsettled_bytes_ += p.row.frames.size();
  if (!batch.empty()) unsettled_since_ = batch.front().queued_at;
}

bool CommitFlusher::Flush(std::vector<Pending>& batch, int* lost_pid) {
  std::vector<LogRow> rows;
  rows.reserve(batch.size());
  for (const Pending& p : batch) rows.push_back(p.row);
  {
    std::lock_guard lock(mutex_);
    ++batches_;
  }
  std::set<std::pair<std::string, long long>> accepted;
  PgConnection* connection = nullptr;
  try {
    connection = &session_.Get();
  } catch (const PgError&) {
    return true;  // nothing was sent: the rows stay, to be sent once connected
  }
  *lost_pid = connection->backend_pid();
  try {
    accepted = AppendCommits(*connection, options_.node, rows);
  } catch (const PgError& e) {
    if (e.connection_lost()) {
      session_.Drop();
      // The statement may have committed, or may yet: only the log can tell, once the process
      // that ran it is gone.
      return Reconcile(batch, *lost_pid);
    }
    for (Pending& p : batch) p.done(Outcome::kFailed);
    batch.clear();
    return true;
  }
  for (Pending& p : batch) {
    bool durable = accepted.count({p.row.object, p.row.seq}) != 0;
    p.done(durable ? Outcome::kDurable : Outcome::kFenced);
  }
  batch.clear();
  return true;
}

bool CommitFlusher::Reconcile(std::vector<Pending>& batch, int lost_pid) {
  try {
    EndServerProcess(session_, lost_pid);
  } catch (const PgError&) {
    return false;
  }
  // A row is in the log, or was and a snapshot has replaced it since: the owner's compaction
  // (object_restore.h) reads whatever is committed, so it may have taken the row into a snapshot
  // and deleted it before this read. Such a snapshot is at the row's seq with the row's chain
  // value (the object's next row waits for this one's outcome, so no later row can be in it; the
  // chain value names exactly this history). Sending the row again would put a second copy
  // below the snapshot, where the log's primary key no longer stops it.
  std::string sql = "SELECT b.object, b.seq FROM (VALUES ";
  std::vector<std::string> numbers;
  numbers.reserve(batch.size() * 2);
  std::vector<PgParam> params;
  params.reserve(1 + batch.size() * 4);
  params.push_back(PgParam::Text(options_.node));
  for (size_t i = 0; i < batch.size(); ++i) {
    numbers.push_back(std::to_string(batch[i].row.seq));
    numbers.push_back(std::to_string(batch[i].row.epoch));
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    size_t base = 2 + i * 4;
    sql += (i ? ", ($" : "($") + std::to_string(base) + "::text, $" + std::to_string(base + 1) +
           "::bigint, $" + std::to_string(base + 2) + "::bigint, $" + std::to_string(base + 3) +
           "::bytea)";
    params.push_back(PgParam::Text(batch[i].row.object));
    params.push_back(PgParam::Text(numbers[i * 2]));
    params.push_back(PgParam::Text(numbers[i * 2 + 1]));
    params.push_back(PgParam::Binary(batch[i].row.checksum));
  }
  sql +=
      ") AS b (object, seq, epoch, checksum) WHERE EXISTS (SELECT 1 FROM log l WHERE "
      "l.object = b.object AND l.seq = b.seq AND l.epoch = b.epoch AND l.node = $1) OR EXISTS "
      "(SELECT 1 FROM snapshots s WHERE s.object = b.object AND s.seq = b.seq AND "
      "s.checksum = b.checksum)";
  std::set<std::pair<std::string, long long>> present;
  try {
    PgResult result = session_.Exec(sql, params);
    for (int r = 0; r < result.rows(); ++r) present.emplace(result.Text(r, 0), result.Int(r, 1));
  } catch (const PgError&) {
    return false;  // still unknown: the whole batch is read back again next time
  }
  std::vector<Pending> again;
  for (Pending& p : batch) {
    if (present.count({p.row.object, p.row.seq})) {
      p.done(Outcome::kDurable);
    } else {
      again.push_back(std::move(p));
    }
  }
  batch.swap(again);
  return true;
}

}  // namespace dorm::cluster
