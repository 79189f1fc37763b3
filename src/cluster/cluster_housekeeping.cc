#include "cluster/cluster_housekeeping.h"

#include "util/log.h"

namespace dorm::cluster {
namespace {

PgSessionOptions HousekeepingSession(const std::string& conninfo) {
  PgSessionOptions session;
  session.conninfo = conninfo;
  return session;
}

}  // namespace

ClusterHousekeeping::ClusterHousekeeping(ClusterHousekeepingOptions options)
    : options_(std::move(options)),
      session_(HousekeepingSession(options_.conninfo)),
      admin_session_(HousekeepingSession(options_.conninfo)) {}

ClusterHousekeeping::~ClusterHousekeeping() { Stop(); }

void ClusterHousekeeping::Start() {
  try {
    ClearDrain(session_.Get(), options_.node);
  } catch (const PgError& e) {
    if (e.connection_lost()) session_.Drop();
    Log(LogLevel::kWarn, std::string("cannot clear this node's drain request: ") + e.what());
  }
  thread_ = std::thread([this] { Run(); });
}

void ClusterHousekeeping::Stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ClusterStatus ClusterHousekeeping::ReadStatus() {
  std::lock_guard<std::mutex> lock(admin_mutex_);
  try {
    return cluster::ReadClusterStatus(admin_session_.Get());
  } catch (const PgError& e) {
    if (e.connection_lost()) admin_session_.Drop();
    throw;
  }
}

bool ClusterHousekeeping::RequestDrain(const std::string& node) {
  std::lock_guard<std::mutex> lock(admin_mutex_);
  try {
    return cluster::RequestDrain(admin_session_.Get(), node);
  } catch (const PgError& e) {
    if (e.connection_lost()) admin_session_.Drop();
    throw;
  }
}

void ClusterHousekeeping::MarkDraining() {
  try {
    RequestDrain(options_.node);
  } catch (const PgError& e) {
    Log(LogLevel::kWarn, std::string("cannot mark this node draining: ") + e.what());
  }
}

void ClusterHousekeeping::NoteAlarmRetry(std::string object, long long at_ms, int retries) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (retry_notes_.size() >= kMaxRetryNotes) return;
    retry_notes_.push_back(RetryNote{std::move(object), at_ms, retries});
  }
  wake_.notify_all();
}

void ClusterHousekeeping::Run() {
  std::unique_lock<std::mutex> lock(mutex_);
  auto next_sweep = std::chrono::steady_clock::now();
  while (!stopping_) {
    std::vector<RetryNote> notes = std::move(retry_notes_);
    retry_notes_.clear();
    lock.unlock();
    try {
      PgConnection& connection = session_.Get();
      for (const RetryNote& note : notes) {
        cluster::NoteAlarmRetry(connection, options_.node, note.object, note.at_ms, note.retries);
      }
      // A wake-up for retry notes alone does not sweep before its time.
      if (std::chrono::steady_clock::now() >= next_sweep) {
        next_sweep = std::chrono::steady_clock::now() + options_.every;
        std::vector<OrphanedAlarm> due = FindOrphanedAlarms(
            connection, options_.node, options_.lookahead_ms, options_.max_alarms_per_sweep);
        if (!due.empty() && options_.on_alarms) options_.on_alarms(due);
        if (!drain_reported_ && DrainRequested(connection, options_.node)) {
          drain_reported_ = true;
          Log(LogLevel::kInfo, "this node was asked to drain: handing its objects over");
          if (options_.on_drain) options_.on_drain();
        }
      }
    } catch (const PgError& e) {
      // Logged at debug: the lease's own thread reports an unreachable PostgreSQL.
      if (e.connection_lost()) session_.Drop();
      Log(LogLevel::kDebug, std::string("cluster housekeeping: ") + e.what());
      next_sweep = std::chrono::steady_clock::now() + options_.every;
    }
    lock.lock();
    wake_.wait_until(lock, next_sweep, [this] { return stopping_ || !retry_notes_.empty(); });
  }
}

}  // namespace dorm::cluster
