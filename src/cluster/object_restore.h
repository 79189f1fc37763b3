// Rebuilds an object's local database file from the cluster's log, for its new owner.
//
// The file (and any write-ahead log or journal beside it) is replaced by the object's latest
// snapshot (or an empty file; the image streamed from its pieces, checked against its size and
// SHA-256) with the log's later transactions applied in `seq` order
// (wal_replay.h): each row's checksum must extend the chain from the snapshot's, `seq` must have
// no gap, and the result must pass SQLite's `PRAGMA integrity_check`. An object with neither
// snapshot nor row is left with no file (it has never committed).
//
// The caller must own the object (AcquireObject) before restoring: the takeover's row lock
// orders every commit of the previous owner before it, so the log read here is complete.
//
// Threading: uses the caller's connection; nothing else may have the file open. Throws PgError
// (PostgreSQL) or std::runtime_error (a broken chain, a gap, a damaged result, I/O); the file is
// then in an unknown state and must be restored again before use.
#pragma once

#include <string>

#include "cluster/pg_connection.h"

namespace dorm::cluster {

struct RestoredObject {
  long long seq = 0;           // the last row applied, or the snapshot's seq (0: none)
  std::string chain;           // its checksum: the link the next row extends
  long long snapshot_seq = 0;  // the snapshot the restore started from (0: none)
  long long tail_bytes = 0;    // the encoded size of the rows applied after it
};

// `max_bytes`: the largest database file the log may build (the object storage limit).
RestoredObject RestoreObject(PgConnection& connection, const std::string& object,
                             const std::string& path, long long max_bytes);

// Replaces the log rows of `object` up to its current end by a snapshot: the database rebuilt
// from the log (RestoreObject into `scratch_path`, removed afterwards) is stored in `snapshots`
// with the chain's value, and the older snapshots and the rows it covers are deleted, in one
// transaction that holds `owners`' row FOR SHARE and does nothing unless `node` still owns the
// object at `epoch` (a takeover waits for it, then restores from what it left). Returns the
// snapshot's seq, or 0 when nothing was done (no new row, not the owner, or a newer snapshot is
// there). The image goes in pieces streamed from the scratch file (snapshot_image.h), so its size
// is bounded only by `max_bytes`. Throws as RestoreObject does.
long long CompactLog(PgConnection& connection, const std::string& object, const std::string& node,
                     long long epoch, const std::string& scratch_path, long long max_bytes);

}  // namespace dorm::cluster
