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
// Threading: uses the caller's connection. Throws PgError or std::runtime_error (I/O); after a
// lost connection the outcome is unknown and the log (which a restore reads) decides.
#pragma once

#include <optional>
#include <string>

#include "cluster/commit_batch.h"
#include "cluster/pg_connection.h"

namespace dorm::cluster {

// `row` names the commit (object, seq, epoch, and its alarm); its `checksum` is the chain value
// before it (the previous row's). `image_path`: the database file after the commit. Returns the
// chain value after the commit, ChainChecksum(previous, SHA-256 of the image), or nullopt when
// fenced (nothing written).
std::optional<std::string> ShipSnapshotCommit(PgConnection& connection, const std::string& node,
                                              const LogRow& row, const std::string& image_path);

}  // namespace dorm::cluster
