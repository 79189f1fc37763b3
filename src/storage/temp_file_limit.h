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
// Thread-safe once installed; call once, before any connection is opened.
#pragma once

#include <cstdint>

namespace dorm::storage {

// Throws std::runtime_error if SQLite has no default VFS to wrap.
void InstallTempFileLimit(int64_t max_bytes);

}  // namespace dorm::storage
