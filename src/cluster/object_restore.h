// Rebuilds an object's local database file from the cluster's log, for its new owner.
//
// The file (and any write-ahead log or journal beside it) is replaced by the log's transactions
// applied in `seq` order to an empty file (wal_replay.h): each row's checksum must extend the
// chain of the rows before it, `seq` must have no gap, and the result must pass SQLite's
// `PRAGMA integrity_check`. Snapshots are not written yet, so a restore starts from the first
// row. An object with no row is left with no file (it has never committed).
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
  long long seq = 0;  // the last row applied (0: none)
  std::string chain;  // its checksum: the link the next row extends
};

// `max_bytes`: the largest database file the log may build (the object storage limit).
RestoredObject RestoreObject(PgConnection& connection, const std::string& object,
                             const std::string& path, long long max_bytes);

}  // namespace dorm::cluster
