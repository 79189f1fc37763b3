#include "cluster/cluster_node.h"

#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "cluster/cluster_alarms.h"
#include "cluster/cluster_schema.h"
#include "cluster/commit_snapshot.h"
#include "cluster/database_image.h"
#include "cluster/object_ownership.h"
#include "cluster/object_restore.h"
#include "cluster/wal_capture_vfs.h"
#include "util/log.h"

namespace dorm::cluster {
namespace {

// Whether the log's last row of `object` is `local`'s (no row at all for seq 0). Read after the
// object was taken: no other node can add a row afterwards.
bool LogEndsAt(PgConnection& connection, const std::string& object, const LocalCopy& local) {
  PgResult last = connection.Exec(
      "SELECT seq, checksum FROM (SELECT seq, checksum FROM log WHERE object = $1 UNION ALL "
      "SELECT seq, checksum FROM snapshots WHERE object = $1) AS t ORDER BY seq DESC LIMIT 1",
      {PgParam::Text(object)});
  if (last.rows() == 0) return local.seq == 0;
  return last.Int(0, 0) == local.seq && last.Bytes(0, 1) == local.chain;
}

// The cluster's forwarding secret: the one stored, or a new random one if none is yet (the
// first node to start writes it; the others read it).
std::string LoadForwardSecret(PgConnection& connection) {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no random bytes");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string fresh;
  for (unsigned char b : bytes) {
    fresh.push_back(kDigits[b >> 4]);
    fresh.push_back(kDigits[b & 0xf]);
  }
  connection.Exec("INSERT INTO cluster_secret (id, secret) VALUES (1, $1) ON CONFLICT DO NOTHING",
                  {PgParam::Text(fresh)});
  return connection.Exec("SELECT secret FROM cluster_secret WHERE id = 1").Text(0, 0);
}

// The size of the file at `path`; 0 if there is none.
long long FileBytes(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<long long>(size);
}

PgSessionOptions SessionFor(const std::string& conninfo) {
  PgSessionOptions session;
  session.conninfo = conninfo;
  return session;
}

}  // namespace

ClusterNode::ClusterNode(ClusterNodeOptions options) : options_(std::move(options)) {}

ClusterNode::~ClusterNode() { Stop(false); }

void ClusterNode::Start() {
  {
    std::unique_ptr<PgConnection> connection =
        PgConnection::Connect(options_.conninfo, std::chrono::seconds(5));
    MigrateSchema(*connection);
    forward_secret_ = LoadForwardSecret(*connection);
  }
  NodeLeaseOptions lease;
  lease.conninfo = options_.conninfo;
  lease.node = options_.node;
  lease.addr = options_.advertise;
  lease.on_lost = options_.on_lost;
  lease.may_register = [this](int generation) {
    return !control_gate_ || control_generation_ == generation;
  };
  lease.load = [this] {
    NodeLoad load;
    if (CommitFlusher* flusher = flusher_for_lease_.load(std::memory_order_acquire)) {
      CommitFlusher::Backlog backlog = flusher->backlog();
      load.pending_commits = static_cast<long long>(backlog.rows);
      load.pending_bytes = static_cast<long long>(backlog.bytes);
      load.oldest_pending_ms = backlog.oldest_ms;
    }
    return load;
  };
  // Registered by Register(), once the node can serve.
  lease_ = std::make_unique<NodeLease>(std::move(lease));
  CommitFlusher::Options flusher;
  flusher.session = SessionFor(options_.conninfo);
  flusher.node = options_.node;
  flusher_ = std::make_unique<CommitFlusher>(std::move(flusher));
  flusher_->Start();
  flusher_for_lease_.store(flusher_.get(), std::memory_order_release);
  directory_ = std::make_unique<ClusterDirectory>(options_.conninfo, options_.node);
  directory_->Start();
  if (!RegisterWalCaptureVfs()) throw std::runtime_error("cannot register the WAL capture VFS");
  for (int i = 0; i < kActivationThreads; ++i) {
    sessions_.push_back(std::make_unique<PgSession>(SessionFor(options_.conninfo)));
  }
  for (auto& session : sessions_) {
    threads_.emplace_back([this, s = session.get()] { RunJobs(s); });
  }
}

void ClusterNode::Register() { lease_->Start(); }

void ClusterNode::ControlCaughtUp(int generation) {
  control_generation_ = generation;
  if (lease_) lease_->Wake();
}

void ClusterNode::Stop(bool release) {
  std::deque<Job> abandoned;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    abandoned.swap(jobs_);
  }
  wake_.notify_all();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
  for (Job& job : abandoned) Abandon(job);
  if (directory_) directory_->Stop();
  if (flusher_) flusher_->Stop();
  if (lease_) lease_->Stop(release);
}

void ClusterNode::Abandon(Job& job) {
  switch (job.kind) {
    case Job::Kind::kActivate: {
      Activation failed;
      failed.error = "the node is stopping";
      job.done(std::move(failed));
      break;
    }
    case Job::Kind::kShip:
      RemoveDatabaseImage(job.db_path);
      job.shipped(CommitFlusher::Outcome::kFailed, std::string());
      break;
    case Job::Kind::kCompact:
      break;
  }
}

void ClusterNode::Queue(Job job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!stopping_) {
      jobs_.push_back(std::move(job));
      wake_.notify_one();
      return;
    }
  }
  Abandon(job);
}

void ClusterNode::KeepLocalCopy(const std::string& object, LocalCopy copy) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto [it, added] = local_copies_.insert_or_assign(object, std::move(copy));
  if (added) local_copy_order_.push_back(object);
  while (local_copies_.size() > kMaxLocalCopies && !local_copy_order_.empty()) {
    local_copies_.erase(local_copy_order_.front());
    local_copy_order_.pop_front();
  }
  if (local_copy_order_.size() > 2 * kMaxLocalCopies) {
    // Keys used up by activations linger in the order: start it over from the map.
    local_copy_order_.clear();
    for (const auto& [key, kept] : local_copies_) local_copy_order_.push_back(key);
  }
}

void ClusterNode::Activate(std::string object, std::string db_path,
                           std::function<void(Activation)> done) {
  Job job;
  job.kind = Job::Kind::kActivate;
  job.object = std::move(object);
  job.db_path = std::move(db_path);
  job.done = std::move(done);
  Queue(std::move(job));
}

void ClusterNode::Compact(std::string object, long long epoch, std::string scratch_path) {
  Job job;
  job.kind = Job::Kind::kCompact;
  job.object = std::move(object);
  job.db_path = std::move(scratch_path);
  job.epoch = epoch;
  Queue(std::move(job));
}

void ClusterNode::ShipWhole(LogRow row, std::string image_path, Shipped done) {
  Job job;
  job.kind = Job::Kind::kShip;
  job.object = row.object;
  job.db_path = std::move(image_path);
  job.row = std::move(row);
  job.shipped = std::move(done);
  Queue(std::move(job));
}

void ClusterNode::BeginDrain() {
  std::unique_lock<std::mutex> lock(mutex_);
  draining_.store(true, std::memory_order_release);
  idle_.wait(lock, [this] { return activating_ == 0; });
}

long long ClusterNode::ReleaseAllObjects() {
  std::unique_ptr<PgConnection> connection =
      PgConnection::Connect(options_.conninfo, std::chrono::seconds(5));
  // Released, not handed to anyone: the next request or alarm sweep places each object on the
  // rendezvous winner among the nodes that are not draining. The epoch stays (a takeover bumps
  // it), so a commit of this node still in flight is fenced.
  PgResult released = connection->Exec(
      "WITH r AS (UPDATE owners SET node = NULL WHERE node = $1 RETURNING 1) "
      "SELECT count(*) FROM r",
      {PgParam::Text(options_.node)});
  return released.Int(0, 0);
}

void ClusterNode::RunJobs(PgSession* session) {
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      // The oldest job whose object no other thread is working on: one object's jobs keep
      // their order, and a long one holds up only its own object's.
      auto next = jobs_.end();
      wake_.wait(lock, [this, &next] {
        if (stopping_) return true;
        next = std::find_if(jobs_.begin(), jobs_.end(),
                            [this](const Job& j) { return !busy_.count(j.object); });
        return next != jobs_.end();
      });
      if (stopping_) return;
      job = std::move(*next);
      jobs_.erase(next);
      busy_.insert(job.object);
      if (job.kind == Job::Kind::kActivate) ++activating_;
    }
    switch (job.kind) {
      case Job::Kind::kActivate: {
        Activation result = ActivateNow(*session, job);
        job.done(std::move(result));
        break;
      }
      case Job::Kind::kCompact:
        CompactNow(*session, job);
        break;
      case Job::Kind::kShip:
        ShipNow(*session, job);
        break;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      busy_.erase(job.object);
      if (job.kind == Job::Kind::kActivate && --activating_ == 0) idle_.notify_all();
    }
    // A job of this object may be waiting for it.
    wake_.notify_all();
  }
}

void ClusterNode::CompactNow(PgSession& session, const Job& job) {
  try {
    CompactLog(session.Get(), job.object, options_.node, job.epoch, job.db_path,
               options_.max_object_bytes);
  } catch (const PgError& e) {
    if (e.connection_lost()) session.Drop();
    Log(LogLevel::kWarn, "cannot snapshot " + job.object + ": " + e.what());
  } catch (const std::exception& e) {
    Log(LogLevel::kWarn, "cannot snapshot " + job.object + ": " + e.what());
  }
}

void ClusterNode::ShipNow(PgSession& session, Job& job) {
  CommitFlusher::Outcome outcome = CommitFlusher::Outcome::kFailed;
  std::string chain;
  ShipAttempt attempt;
  bool unknown = false;  // the connection was lost: the COMMIT may have happened
  try {
    BuildDatabaseImage(job.db_path, options_.max_object_bytes);
    std::optional<std::string> shipped =
        ShipSnapshotCommit(session.Get(), options_.node, job.row, job.db_path, &attempt);
    if (shipped) {
      outcome = CommitFlusher::Outcome::kDurable;
      chain = std::move(*shipped);
    } else {
      outcome = CommitFlusher::Outcome::kFenced;
    }
  } catch (const PgError& e) {
    if (e.connection_lost()) {
      session.Drop();
      unknown = true;
    }
    Log(LogLevel::kError, "cannot ship " + job.object + " whole: " + e.what());
  } catch (const std::exception& e) {
    Log(LogLevel::kError, "cannot ship " + job.object + " whole: " + e.what());
  }
  // Read back as the flusher does: a few attempts over about a second (the lost connection is
  // often all that failed). Found: durable, acknowledged like any commit. Not found, or
  // PostgreSQL cannot tell: failed (reset, retryable), and the object is restored from whatever
  // the log holds. A takeover waits for the transaction's row lock, so it sees all of it or none.
  for (int tries = 0; unknown && tries < 4; ++tries) {
    if (tries > 0) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    try {
      if (FindShippedSnapshot(session, job.row, attempt)) {
        outcome = CommitFlusher::Outcome::kDurable;
        chain = attempt.chain;
        Log(LogLevel::kInfo, "read back " + job.object + " shipped whole: it committed");
      }
      unknown = false;
    } catch (const PgError& e) {
      if (e.connection_lost()) session.Drop();
    }
  }
  RemoveDatabaseImage(job.db_path);
  job.shipped(outcome, std::move(chain));
}

Activation ClusterNode::ActivateNow(PgSession& session, const Job& job) {
  Activation result;
  // Read first: an ownership taken while the lease is already lost would belong to no live
  // generation.
  result.generation = lease_->generation();
  if (!lease_->valid()) {
    result.error = "the node's cluster lease is not live";
    return result;
  }
  // Read after the job was counted as running (RunJobs), so BeginDrain() waits for it.
  if (draining()) {
    result.error = "the node is draining";
    return result;
  }
  std::optional<LocalCopy> local;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (auto kept = local_copies_.find(job.object); kept != local_copies_.end()) {
      local = std::move(kept->second);
      local_copies_.erase(kept);
    }
  }
  // A connection of the pool may have been cut while it sat idle (PostgreSQL restarted, the
  // network dropped): only its next statement finds out. The activation is then tried once more
  // on a new connection rather than failed: taking an object again only bumps its epoch once
  // more for this same node, and the rest reads.
  for (bool fresh_connection = !session.connected();; fresh_connection = true) {
    try {
      return ActivateOnce(session, job, local, result);
    } catch (const PgError& e) {
      if (e.connection_lost()) session.Drop();
      if (e.connection_lost() && !fresh_connection) continue;
      result.status = Activation::Status::kFailed;
      result.error = e.what();
    } catch (const std::exception& e) {
      result.status = Activation::Status::kFailed;
      result.error = e.what();
    }
    break;
  }
  Log(LogLevel::kError, "cannot activate " + job.object + ": " + result.error);
  return result;
}

Activation ClusterNode::ActivateOnce(PgSession& session, const Job& job,
                                     const std::optional<LocalCopy>& local, Activation result) {
  PgConnection& connection = session.Get();
  std::optional<long long> epoch = AcquireObject(connection, job.object, options_.node);
  if (!epoch) {
    std::optional<Ownership> owner = LookupOwner(connection, job.object);
    result.status = Activation::Status::kOwnedElsewhere;
    if (owner && owner->node) result.owner = *owner->node;
    // Each of these cost a statement and an event's round trip: rare (a race with a takeover)
    // unless something keeps asking for objects that moved away.
    Log(LogLevel::kInfo, "not taking " + job.object + ": node " +
                             (result.owner.empty() ? "?" : result.owner) + " holds it");
    return result;
  }
  result.status = Activation::Status::kReady;
  result.epoch = *epoch;
  result.alarm_retries = AlarmRetries(connection, job.object);
  if (local && LogEndsAt(connection, job.object, *local) &&
      (local->seq == 0 || std::filesystem::exists(job.db_path))) {
    result.seq = local->seq;
    result.chain = local->chain;
    result.tail_bytes = local->tail_bytes;
    return result;
  }
  const long long before = FileBytes(job.db_path);
  RestoredObject restored =
      RestoreObject(connection, job.object, job.db_path, options_.max_object_bytes);
  result.restored_bytes = FileBytes(job.db_path) - before;
  result.seq = restored.seq;
  result.chain = std::move(restored.chain);
  result.tail_bytes = restored.tail_bytes;
  return result;
}

}  // namespace dorm::cluster
