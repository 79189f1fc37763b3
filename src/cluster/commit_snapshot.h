// A committed transaction too large to ship as pages (an overflowed capture, wal_capture_vfs.h)
// made durable as a snapshot of the whole database instead.
//
// The object's database as of that commit (checkpointed and copied by the caller) becomes the
// snapshot at the commit's `seq`, in one transaction that first holds the object's `owners` row
// FOR SHARE and goes on only if `node` still owns the object at the commit's epoch: the same
// fence as the group commit's (commit_batch.h), so a takeover waits for it and then restores
// from it, or it is refused. The image goes in pieces (snapshot_image.h), so neither the 1 GiB of
// a bytea nor memory bounds it; the older snapshots and the log rows it replaces are deleted, and
// the alarm the commit left is written, in that same transaction. A restore sees all of it or
// none of it: never half a transaction.
//
// A lost connection leaves the outcome unknown: the COMMIT may have reached PostgreSQL. It is read
// back as the group commit's flusher does (commit_flusher.h): FindShippedSnapshot ends the server
// process that ran the transaction, then looks the snapshot up on a new connection.
//
// Threading: uses the caller's connection (or session). Throws PgError or std::runtime_error
// (I/O).
#pragma once

#include <optional>
#include <string>

#include "cluster/commit_batch.h"
#include "cluster/pg_connection.h"
#include "cluster/pg_session.h"

namespace dorm::cluster {

// What an attempt got as far as, for reading back its outcome after a lost connection.
struct ShipAttempt {
  int backend_pid = 0;  // the server process that ran the transaction
  std::string chain;    // the chain value stored, once every piece was sent (else empty)
};

// `row` names the commit (object, seq, epoch, and its alarm); its `checksum` is the chain value
// before it (the previous row's). `image_path`: the database file after the commit. Returns the
// chain value after the commit, ChainChecksum(previous, SHA-256 of the image), or nullopt when
// fenced (nothing written). `attempt`, if given, is filled as the transaction goes.
std::optional<std::string> ShipSnapshotCommit(PgConnection& connection, const std::string& node,
                                              const LogRow& row, const std::string& image_path,
                                              ShipAttempt* attempt = nullptr);

// After ShipSnapshotCommit lost its connection: whether `attempt`'s transaction committed. Ends
// its server process (EndServerProcess), then looks for the snapshot of `row` at its seq with
// the attempt's chain value (a value that names this image after exactly this history). A
// transaction that never sent its COMMIT (no chain yet) did not commit. Throws PgError when
// PostgreSQL cannot tell (unreachable): the outcome is then still unknown.
bool FindShippedSnapshot(PgSession& session, const LogRow& row, const ShipAttempt& attempt);

}  // namespace dorm::cluster
