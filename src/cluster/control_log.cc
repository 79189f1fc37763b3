#include "cluster/control_log.h"

#include <thread>

namespace dorm::cluster {
namespace {

// Any constant shared by all Dorm nodes, other than the migrations' lock: the lock that
// serializes appends to the control log.
constexpr const char* kAppendLock = "7305104912034872";

// The tables that hold an object's data, by its key.
constexpr const char* kObjectTables[] = {"owners", "log", "snapshots", "snapshot_pieces", "alarms"};

// The log's end: a compaction may have deleted every change, and the versions go on after its
// snapshot's. Both maxima are read from their primary keys.
constexpr const char* kLatestVersion =
    "SELECT greatest((SELECT coalesce(max(version), 0) FROM control_changes),"
    " (SELECT coalesce(max(version), 0) FROM control_snapshots))";

PgSessionOptions SessionOptions(const std::string& conninfo) {
  PgSessionOptions options;
  options.conninfo = conninfo;
  // A deploy's change carries its source (up to 5 MB per class, a project more): more time than
  // the lease's statements get.
  options.statement_timeout = std::chrono::milliseconds(15000);
  return options;
}

}  // namespace

ControlLog::ControlLog(const std::string& conninfo) : session_(SessionOptions(conninfo)) {}

long long ControlLog::Latest() {
  PgResult result = session_.Exec(kLatestVersion);
  return result.Int(0, 0);
}

std::vector<ControlChange> ControlLog::Since(long long version, int limit) {
  std::string after = std::to_string(version);
  std::string count = std::to_string(limit);
  PgResult result = session_.Exec(
      "SELECT version, node, change FROM control_changes WHERE version > $1::bigint"
      " ORDER BY version LIMIT $2::integer",
      {PgParam::Text(after), PgParam::Text(count)});
  std::vector<ControlChange> changes;
  changes.reserve(result.rows());
  for (int row = 0; row < result.rows(); ++row) {
    changes.push_back({result.Int(row, 0), result.Text(row, 1), result.Bytes(row, 2)});
  }
  return changes;
}

std::optional<ControlSnapshot> ControlLog::LatestSnapshot() {
  PgResult result = session_.Exec(
      "SELECT version, node, snapshot FROM control_snapshots ORDER BY version DESC LIMIT 1");
  if (result.rows() == 0) return std::nullopt;
  return ControlSnapshot{result.Int(0, 0), result.Text(0, 1), result.Bytes(0, 2)};
}

long long ControlLog::SnapshotVersion() {
  PgResult result = session_.Exec("SELECT coalesce(max(version), 0) FROM control_snapshots");
  return result.Int(0, 0);
}

void ControlLog::WriteSnapshot(const std::string& node, long long version,
                               const std::string& snapshot) {
  std::string at = std::to_string(version);
  session_.Exec(
      "INSERT INTO control_snapshots (version, node, snapshot) VALUES ($1::bigint, $2, $3::bytea)",
      {PgParam::Text(at), PgParam::Text(node), PgParam::Binary(snapshot)});
  // Find() must still answer for a change whose COMMIT lost its connection (read back within
  // about a second): the ids of the changes deleted here stay for an hour.
  session_.Exec("DELETE FROM control_compacted_ids WHERE at < now() - interval '1 hour'");
  session_.Exec(
      "INSERT INTO control_compacted_ids (change_id, version, at)"
      " SELECT change_id, version, at FROM control_changes WHERE version <= $1::bigint"
      " AND change_id IS NOT NULL AND at >= now() - interval '1 hour'",
      {PgParam::Text(at)});
  session_.Exec("DELETE FROM control_changes WHERE version <= $1::bigint", {PgParam::Text(at)});
  session_.Exec("DELETE FROM control_idempotency WHERE at < now() - interval '24 hours'");
  session_.Exec("DELETE FROM control_snapshots WHERE version < $1::bigint", {PgParam::Text(at)});
}

std::optional<IdempotentChange> ControlLog::FindIdempotencyKey(const std::string& app,
                                                               const std::string& key) {
  PgResult found = session_.Exec(
      "SELECT request, version, answer, answer IS NULL FROM control_idempotency"
      " WHERE app = $1 AND key = $2 AND at > now() - interval '24 hours'",
      {PgParam::Text(app), PgParam::Text(key)});
  if (found.rows() == 0) return std::nullopt;
  IdempotentChange change{found.Bytes(0, 0), found.Int(0, 1), std::nullopt};
  if (!found.Bool(0, 3)) change.answer = found.Bytes(0, 2);
  return change;
}

void ControlLog::RecordIdempotencyKey(const std::string& app, const std::string& key,
                                      const std::string& request, long long version) {
  std::string at = std::to_string(version);
  session_.Exec(
      "INSERT INTO control_idempotency (app, key, request, version) VALUES ($1, $2, $3::bytea,"
      " $4::bigint) ON CONFLICT (app, key) DO UPDATE SET request = EXCLUDED.request,"
      " version = EXCLUDED.version, answer = NULL, at = now()",
      {PgParam::Text(app), PgParam::Text(key), PgParam::Binary(request), PgParam::Text(at)});
}

void ControlLog::StoreIdempotentAnswer(const std::string& app, const std::string& key,
                                       long long version, const std::string& answer) {
  std::string at = std::to_string(version);
  session_.Exec(
      "UPDATE control_idempotency SET answer = $4::bytea"
      " WHERE app = $1 AND key = $2 AND version = $3::bigint",
      {PgParam::Text(app), PgParam::Text(key), PgParam::Text(at), PgParam::Binary(answer)});
}

bool ControlLog::CheckKey(const std::string& check) {
  // Whoever inserts first sets the cluster's value; everyone then compares with it.
  session_.Exec(
      "INSERT INTO control_key (id, key_check) VALUES (1, $1::bytea) ON CONFLICT (id) DO NOTHING",
      {PgParam::Binary(check)});
  PgResult found = session_.Exec("SELECT key_check FROM control_key WHERE id = 1");
  return found.rows() == 1 && found.Bytes(0, 0) == check;
}

void ControlLog::Begin() {
  pid_ = session_.Get().backend_pid();
  session_.Exec("BEGIN");
  try {
    session_.Exec("SELECT pg_advisory_xact_lock($1::bigint)", {PgParam::Text(kAppendLock)});
  } catch (...) {
    Rollback();
    throw;
  }
}

void ControlLog::DeleteObjects(const std::string& prefix) {
  for (const char* table : kObjectTables) {
    session_.Exec(std::string("DELETE FROM ") + table + " WHERE starts_with(object, $1)",
                  {PgParam::Text(prefix)});
  }
}

void ControlLog::MoveObjects(const std::string& prefix, const std::string& to_prefix) {
  for (const char* table : kObjectTables) {
    session_.Exec(std::string("UPDATE ") + table +
                      " SET object = $2 || substr(object, length($1) + 1)"
                      " WHERE starts_with(object, $1)",
                  {PgParam::Text(prefix), PgParam::Text(to_prefix)});
  }
}

void ControlLog::ForgetUsageStorage(const std::string& app, const std::string& class_name) {
  // The usage pushes' lock (control/cluster_usage.cc), taken before any row of usage_storage: a
  // push that summed the class's sizes before this deletion cannot write its total after it.
  session_.Exec("SELECT pg_advisory_xact_lock(7305104912034872)");
  session_.Exec("DELETE FROM usage_storage WHERE app = $1 AND class = $2",
                {PgParam::Text(app), PgParam::Text(class_name)});
  // The storage gauge's history records 0 from this minute on, as a single server's does.
  session_.Exec(
      "INSERT INTO usage_storage_history (app, class, minute, bytes) VALUES ($1, $2,"
      " floor(extract(epoch FROM now()) / 60)::bigint, 0)"
      " ON CONFLICT (app, class, minute) DO UPDATE SET bytes = 0",
      {PgParam::Text(app), PgParam::Text(class_name)});
}

long long ControlLog::Append(const std::string& node, const std::string& id,
                             const std::string& change) {
  PgResult result = session_.Exec(
      std::string("INSERT INTO control_changes (version, node, change, change_id) SELECT (") +
          kLatestVersion + ") + 1, $1::text, $2::bytea, $3::bytea RETURNING version",
      {PgParam::Text(node), PgParam::Binary(change), PgParam::Binary(id)});
  session_.Exec(std::string("NOTIFY ") + kControlChannel);
  return result.Int(0, 0);
}

std::optional<long long> ControlLog::Find(const std::string& id, int pid) {
  // A few attempts over about a second: the connection that was lost is often the only thing
  // that failed, and the next one answers at once.
  for (int attempt = 0;; ++attempt) {
    try {
      if (pid != 0) {
        // The process that ran the transaction may still be about to commit it (a server does
        // not stop when its client goes away): once it is gone, the log says for good.
        std::string process = std::to_string(pid);
        session_.Exec("SELECT pg_terminate_backend($1::int, 5000)", {PgParam::Text(process)},
                      std::chrono::seconds(10));
        PgResult alive = session_.Exec("SELECT 1 FROM pg_stat_activity WHERE pid = $1::int",
                                       {PgParam::Text(process)});
        if (alive.rows() != 0) {
          throw PgError("the server process of a lost transaction would not end", "", false);
        }
      }
      PgResult found = session_.Exec(
          "SELECT version FROM control_changes WHERE change_id = $1"
          " UNION ALL SELECT version FROM control_compacted_ids WHERE change_id = $1",
          {PgParam::Binary(id)});
      if (found.rows() == 0) return std::nullopt;
      return found.Int(0, 0);
    } catch (const PgError&) {
      if (attempt == 3) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }
}

void ControlLog::Commit() { session_.Exec("COMMIT"); }

void ControlLog::Rollback() noexcept {
  if (!session_.connected()) return;
  try {
    session_.Get().RollbackAfterFailure();
  } catch (...) {
  }
}

}  // namespace dorm::cluster
