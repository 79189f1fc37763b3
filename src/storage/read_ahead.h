// Read-ahead for database files read page after page.
//
// A table scan or count(*) of an object just activated reads its database file one page at a
// time: 256 pread() calls for 1 MiB, each paying a system call's entry and a page-cache lookup
// (measured on an evicted 1 MiB object: a quarter of its activation's CPU). When a read starts
// where the file's previous read ended, ReadWithReadAhead reads up to kReadAheadBytes at once
// into a buffer of the calling thread and serves the following pages from it.
//
// The buffer belongs to the thread, not the file, so that thousands of open files cost nothing.
// It is tagged with the file's ReadAheadState::id (unique in the process, never reused) and the
// file's write generation at the time it was filled: a write or truncation through the file
// (InvalidateReadAhead) makes every buffer holding its bytes stale, on any thread, since a file
// handed to another thread (the closer's checkpoint) and back is handed with a happens-before
// edge. Writes to the file that do not go through its sqlite3_file are not seen, exactly as with
// SQLite's own page cache: each object database has one connection in the process.
//
// Threading: a ReadAheadState is used by one thread at a time (its connection's rule);
// ReadWithReadAhead uses the calling thread's buffer. Never throws.
#pragma once

#include <sqlite3.h>

#include <cstdint>

namespace dorm::storage {

inline constexpr int kReadAheadBytes = 64 * 1024;

// Per open file.
struct ReadAheadState {
  uint64_t id = 0;          // NewReadAheadId(); 0: read-ahead off for this file
  uint64_t generation = 0;  // bumped by every write or truncation through the file
  int64_t last_read_end = -1;
};

// A process-unique, non-zero id for a newly opened file.
uint64_t NewReadAheadId();

// Before a write or truncation through the file: read-ahead holding its bytes is dropped.
inline void InvalidateReadAhead(ReadAheadState* state) { ++state->generation; }

// Reads [offset, offset + amount) of the file into `out`, as `read` would, from the calling
// thread's buffer when it holds those bytes for this file at its generation, else through one
// read of up to kReadAheadBytes when this read starts where the previous one ended (and the file,
// sized by `size`, has at least twice `amount` from there), else through `read` alone. `read` has
// the signature and results of sqlite3_io_methods::xRead (SQLITE_IOERR_SHORT_READ with the rest
// zero-filled past the end); `size` returns SQLITE_OK and sets *bytes, as xFileSize. A failed
// read-ahead falls back to `read` of the bytes asked for, whose result is returned.
int ReadWithReadAhead(ReadAheadState* state, void* out, int amount, sqlite3_int64 offset,
                      int (*read)(void* file, void* buffer, int amount, sqlite3_int64 offset),
                      int (*size)(void* file, sqlite3_int64* bytes), void* file);

}  // namespace dorm::storage
