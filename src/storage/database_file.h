// Whole-file operations on an object's SQLite database, for export, import and backup: a
// consistent copy of an open database (SQLite's online backup API), a check of a file that came
// from outside, and the swap of an object's database for another file.
//
// Threading: each function works on its arguments only. CopyDatabase must run on the thread that
// owns `source`; ReplaceDatabaseFile must run while no connection to `database_path` is open
// (callers run it on the object's thread, with the object's connection closed).
#pragma once

#include <optional>
#include <string>

struct sqlite3;

namespace dorm::storage {

// Writes a copy of `source`'s main database (its committed state as this connection sees it,
// including what its write-ahead log holds) to `target_path`, replacing any file there, and
// flushes it. The copy is made in one backup step, so it is one committed state, never a mix of
// two. The caller makes sure `source` has no transaction open (its uncommitted writes would be
// copied). Throws StorageError; a partial target file is removed.
void CopyDatabase(sqlite3* source, const std::string& target_path);

// Why the file at `path` is not a sound database (not a database, fails `PRAGMA
// integrity_check`, or has no key-value table), or "" when it is. Opens it read-only; never
// throws.
std::string DatabaseFileProblem(const std::string& path);

// The alarm stored in the database file at `path` (ms since the epoch), or nullopt when it holds
// none. For a file that is not open as an object's database: an imported or restored one, whose
// alarm the alarm index does not know yet. Opens it read-only (creating nothing next to it);
// throws StorageError when it cannot be read.
std::optional<long long> StoredAlarm(const std::string& path);

// Makes `replacement` (a sound database file on the same file system, flushed) the database at
// `database_path`: the old database's write-ahead log is first checkpointed into it, so that a
// crash before the rename leaves the old database whole; then one atomic rename, a flush of the
// folder, and the removal of the (now empty) log, which would otherwise be read with the new
// file. Creates the folders it needs. Throws StorageError; then the old database is in place.
void ReplaceDatabaseFile(const std::string& replacement, const std::string& database_path);

}  // namespace dorm::storage
