// A snapshot's database image in PostgreSQL, stored in pieces.
//
// A `bytea` holds at most 1 GiB, and a value is sent and received whole: an image of any size is
// therefore kept as rows of `snapshot_pieces (object, seq, piece, bytes)`, each at most
// kSnapshotPieceBytes, numbered from 0. The `snapshots` row of (object, seq) says how many bytes
// the image has (`image_bytes`) and their SHA-256 (`image_digest`); a snapshot written before
// pieces existed (schema version 9 and older) has its image inline in `snapshots.image`, which
// is then NULL for pieced ones. Both directions stream: at most one piece is in memory at a time.
//
// Threading: uses the caller's connection (StoreSnapshotImage inside the caller's transaction,
// so that the pieces and their `snapshots` row appear together). Throws PgError (PostgreSQL) or
// std::runtime_error (I/O, a size or digest that does not match, an image over the limit).
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "cluster/pg_connection.h"

namespace dorm::cluster {

constexpr size_t kSnapshotPieceBytes = 4 << 20;

struct SnapshotImage {
  long long bytes = 0;
  std::string digest;  // SHA-256, 32 bytes
};

// Inserts the file at `path` as the pieces of (object, seq), `piece_bytes` at a time, and returns
// its size and digest (which the caller stores in the `snapshots` row).
SnapshotImage StoreSnapshotImage(PgConnection& connection, const std::string& object, long long seq,
                                 const std::string& path, size_t piece_bytes = kSnapshotPieceBytes);

// Writes the pieces of (object, seq) to `path` (created or truncated), checking that they are
// numbered without gap, add up to `image.bytes` (at most `max_bytes`) and hash to `image.digest`.
void LoadSnapshotImage(PgConnection& connection, const std::string& object, long long seq,
                       const SnapshotImage& image, const std::string& path, long long max_bytes);

// Stores the file at `path` as the snapshot of `object` at `seq` (its pieces and its `snapshots`
// row, whose chain value is what `checksum` gives for the image stored), then deletes the older
// snapshots and the log rows up to `seq`, which it replaces. Call inside a transaction that holds
// the object's `owners` row. Returns the chain value stored, or nullopt (doing nothing) if that
// snapshot is there already.
std::optional<std::string> InsertSnapshot(
    PgConnection& connection, const std::string& object, long long seq, const std::string& path,
    const std::function<std::string(const SnapshotImage&)>& checksum);

}  // namespace dorm::cluster
