#include "cluster/commit_snapshot.h"

#include <stdexcept>

#include "cluster/commit_frames.h"
#include "cluster/snapshot_image.h"

namespace dorm::cluster {

std::optional<std::string> ShipSnapshotCommit(PgConnection& connection, const std::string& node,
                                              const LogRow& row, const std::string& image_path,
                                              ShipAttempt* attempt) {
  const std::string epoch = std::to_string(row.epoch);
  if (attempt) *attempt = ShipAttempt{connection.backend_pid(), std::string()};
  connection.Exec("BEGIN");
  try {
    PgResult owned = connection.Exec(
        "SELECT 1 FROM owners WHERE object = $1 AND node = $2 AND epoch = $3::bigint FOR SHARE",
        {PgParam::Text(row.object), PgParam::Text(node), PgParam::Text(epoch)});
    if (owned.rows() == 0) {
      connection.Exec("ROLLBACK");
      return std::nullopt;
    }
    const std::string& previous = row.checksum;
    std::optional<std::string> chain = InsertSnapshot(
        connection, row.object, row.seq, image_path,
        [&previous](const SnapshotImage& image) { return ChainChecksum(previous, image.digest); });
    // The owner writes each seq once: a snapshot there already is not this commit's.
    if (!chain) throw std::runtime_error("a snapshot of " + row.object + " at this seq exists");
    WriteRowAlarm(connection, row);
    if (attempt) attempt->chain = *chain;
    connection.Exec("COMMIT");
    return chain;
  } catch (...) {
    connection.RollbackAfterFailure();
    throw;
  }
}

bool FindShippedSnapshot(PgSession& session, const LogRow& row, const ShipAttempt& attempt) {
  if (attempt.chain.empty()) return false;  // no COMMIT was sent
  EndServerProcess(session, attempt.backend_pid);
  PgResult found = session.Exec(
      "SELECT 1 FROM snapshots WHERE object = $1 AND seq = $2::bigint AND checksum = $3",
      {PgParam::Text(row.object), PgParam::Text(std::to_string(row.seq)),
       PgParam::Binary(attempt.chain)});
  return found.rows() != 0;
}

}  // namespace dorm::cluster
