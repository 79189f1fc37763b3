// A SQLite VFS shim that hands over the pages of each committed transaction.
//
// Registered under kWalCaptureVfs, it wraps the default (unix) VFS and changes nothing it
// stores. For a database opened through it, it watches the writes to the write-ahead log: SQLite
// writes each frame as a 24-byte header (page number, and for the commit frame the database
// size in pages) followed by the page; the frames of a write transaction start right after the
// last commit (or at the start of a restarted log, whose 32-byte header is written at offset 0).
// When a commit frame has been written whole, the frames since the previous commit, which are
// exactly that transaction's (a transaction that spilled pages and then rolled back is written
// over by the next one, never followed by a commit frame of its own), go to the database's
// callback as a CapturedCommit. DDL, FTS5, overflow pages, VACUUM: everything a commit changes
// is in its frames, so applying them (wal_replay.h) reproduces the database byte for byte.
//
// Requirements: WAL mode (ObjectDatabase's settings: exclusive locking, synchronous OFF; FULL
// works too). The unix VFS reports power-safe overwrite, so SQLite never pads the log after a
// commit; a padding frame (a copy of the commit frame just written) is recognised and not
// reported again.
//
// Callback contract: it runs on the thread that commits, inside SQLite's write of the commit
// frame (just before the frame's page reaches the file), before sqlite3_step() of the COMMIT
// returns. It must not use the database connection and should only queue the commit. If it
// throws, the commit frame is not written and the commit fails with SQLITE_IOERR_WRITE: the
// transaction is then in neither the database nor the capture. If SQLite fails a commit after
// the callback ran (the frame's write or a sync failed), the commit was reported but is not in
// the local database: the caller must treat the object's database as lost and restore it from
// what it shipped, as it resets an object after any failed commit. Out of memory while tracking
// fails the write (SQLITE_IOERR_NOMEM), and commits are reported as overflowed until the log
// starts over.
//
// Memory: pages of a transaction in progress are held until its commit, up to `max_bytes` per
// transaction; a larger one is reported with overflow set and no pages.
//
// Threading: registration is thread-safe; a database's callback is set and used on the thread
// that uses the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "cluster/commit_frames.h"

struct sqlite3;

namespace dorm::cluster {

inline constexpr const char kWalCaptureVfs[] = "dorm-wal-capture";

using CommitCallback = std::function<void(const CapturedCommit&)>;

// Registers the VFS (not as the default) once; later calls do nothing. Returns false if SQLite
// has no default VFS to wrap.
bool RegisterWalCaptureVfs();

// Sets the callback of `db`'s main database (opened with kWalCaptureVfs); an empty callback
// stops reporting. Returns false if `db` was not opened through the VFS.
bool SetCommitCallback(sqlite3* db, CommitCallback callback, size_t max_bytes = 64 << 20);

// How many frames of `db`'s write-ahead log, from its start, run up to its last commit frame: the
// database as of its last commit is its main file with those frames written over it in order
// (what a checkpoint does), then cut to the last commit frame's database size. 0 when the log
// holds no commit (empty, cut to nothing, or starting over after a complete checkpoint): the
// main file alone is the database then. Frames after them belong to a transaction in progress.
// nullopt if `db` was not opened through the VFS, or if its log had frames when it was opened
// and nothing was written since (where they end is not known). Call on the connection's thread.
std::optional<uint32_t> CommittedWalFrames(sqlite3* db);

}  // namespace dorm::cluster
