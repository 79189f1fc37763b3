#include "cluster/control_log.h"

#include <thread>

namespace dorm::cluster {
namespace {

// Any constant shared by all Dorm nodes, other than the migrations' lock: the lock that
// serializes appends to the control log.
constexpr const char* kAppendLock = "7305104912034872";

// The tables that hold an object's data, by its key.
constexpr const char* kObjectTables[] = {"owners", "log", "snapshots", "snapshot_pieces", "alarms"};

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
  PgResult result = session_.Exec("SELECT coalesce(max(version), 0) FROM control_changes");
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
  session_.Exec("DELETE FROM usage_storage WHERE app = $1 AND class = $2",
                {PgParam::Text(app), PgParam::Text(class_name)});
}

long long ControlLog::Append(const std::string& node, const std::string& id,
                             const std::string& change) {
  PgResult result = session_.Exec(
      "INSERT INTO control_changes (version, node, change, change_id)"
      " SELECT coalesce(max(version), 0) + 1, $1::text, $2::bytea, $3::bytea FROM control_changes"
      " RETURNING version",
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
      PgResult found = session_.Exec("SELECT version FROM control_changes WHERE change_id = $1",
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
