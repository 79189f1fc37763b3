// Bounds the temporary files SQLite makes on its own: sorter runs (ORDER BY, GROUP BY, DISTINCT,
// CREATE INDEX), RETURNING rows, statement journals and materialized views. They are outside the
// object's database, so the storage quotas do not see them, and outside the isolate, so its heap
// limit does not either: one `SELECT randomblob(1000000) FROM <3,000 rows> ORDER BY 1` wrote 3 GB
// to the temporary folder and, once SQLite mapped those runs back to merge them, held 3 GB of RSS,
// all within one event's CPU limit.
//
// InstallTempFileLimit() registers, as SQLite's default, a VFS that wraps the previous default:
// database files, their logs and journals go straight to it, unchanged; a temporary file may grow
// to `max_bytes`, and a write past that fails with SQLITE_FULL ("database or disk is full", as
// for the storage quotas). Temporary files are not memory-mapped either (their io methods are
// version 1), so what SQLite reads back from them stays in its bounded page cache.
//
// It also registers the same wrapper over SQLite's "unix-none" VFS (file locking operations are
// no-ops) as kUnlockedTempLimitVfs, for object databases: see UnlockedVfs(). That one also takes
// an object database's path as its full path name without resolving it (object_file_name.h).
//
// Thread-safe once installed; call once, before any connection is opened.
#pragma once

#include <cstdint>

namespace dorm::storage {

// SQLite's VFS without file locking.
inline constexpr char kUnlockedVfs[] = "unix-none";
extern const char kUnlockedTempLimitVfs[];

// Throws std::runtime_error if SQLite has no default VFS to wrap, or no unix-none.
void InstallTempFileLimit(int64_t max_bytes);

// The VFS for files that one connection in the process uses at a time and that need no lock
// against other processes (object databases; see ObjectDatabase::Open): kUnlockedTempLimitVfs
// once installed, else unix-none. SQLite's "unix" VFS keeps every file it has open in one list
// for the whole process, to share POSIX locks between connections, and walks that list (under a
// global mutex) each time it opens a file: with thousands of object databases open, opening one
// more spent most of its time there. unix-none keeps no such list.
const char* UnlockedVfs();

}  // namespace dorm::storage
