// Object database connections that give their file descriptors back while kept open.
//
// An open object database holds two descriptors (its file and its write-ahead log; exclusive
// locking mode keeps the log's index in the connection's memory, so there is no -shm file), and
// the process may have only so many (`ulimit -n`, 20,000 on the machine this was measured on:
// about 6,000 connections on two threads). A connection closed to stay under that limit costs its
// next use about 290,000 instructions (SQLite's open, its schema read, the PRAGMAs, the close), a
// request on a kept one a fraction of that. Parking closes a connection's two descriptors and keeps
// everything else: its schema, its prepared statements, its page cache and its log's index.
//
// InstallParkableVfs() registers kParkableVfs over the VFS UnlockedVfs() names. A database file or
// write-ahead log opened through it remembers its path, its open flags and its identity (device and
// inode, from fstat() of its descriptor right after the first open, or stat() of its path when
// the descriptor is not known). ParkFiles() closes both of a connection's files
// (the wrapped VFS's close; the wrapper keeps its place). Every method of a parked file that needs
// the file opens it again first, without O_CREAT, and checks that the path still names the same
// file: a file removed, renamed or replaced meanwhile is never opened in its place; the method
// fails with SQLITE_IOERR (and every later one, the file staying parked), which fails the
// statement or commit and, through StorageError::critical(), resets the object, as the per-commit
// identity check in ObjectDatabase does. A file is therefore reopened only when it is used: a
// counter's increment, whose page is in the cache, opens the log again and not the database file.
//
// What the wrapped VFS kept in its file object and SQLite set through file controls is kept across
// a park: persistent WAL (SQLITE_FCNTL_PERSIST_WAL) and power-safe overwrite, both read back before
// the close and set again after the reopen. The sector size and device characteristics are answered
// from what the file said before it was parked. Nothing else SQLite could set survives (chunk
// size, memory-mapping): the files' methods are version 2, so SQLite never maps them, and the
// wrapped VFS must take no file locks (unix-none: locking calls on a parked file answer as its
// no-op locks do; a lock would be lost with the descriptor).
//
// A new database's log can also be held in memory until its database's image is durable
// (HoldLog, storage/held_log.h): the file stays empty on disk meanwhile.
//
// Threading: registration is thread-safe and once; a file is used by the thread that uses its
// connection (SQLite's rule), and so is ParkFiles(). Temporary files and journals go to the
// wrapped VFS unchanged.
#pragma once

#include <cstdint>

struct sqlite3;

namespace dorm::storage {

extern const char kParkableVfs[];

// Registers kParkableVfs over the VFS that UnlockedVfs() names now; call InstallTempFileLimit()
// first where it is used (InstallTempFileLimit does so itself). Idempotent. Throws
// std::runtime_error if SQLite has no such VFS.
void InstallParkableVfs();

// kParkableVfs once installed, else UnlockedVfs().
const char* ParkableVfs();

// Closes the descriptors of `db`'s main database file and of its write-ahead log (one already
// parked stays so). Returns false, closing nothing, unless both were opened through kParkableVfs
// and their identity is known. The caller must hold no transaction and no running statement on
// `db` (a parked file would be reopened at its next use, so that is about wasting the park, not
// about correctness). Never throws.
bool ParkFiles(sqlite3* db);

// Closes the descriptor of `db`'s main database file only (already parked: nothing to do); its
// write-ahead log keeps its own. Most uses of a small object's kept connection need only the
// log (its pages are in the cache), so a thread can keep twice as many logs open with the
// database files parked. Returns false, closing nothing, unless the file was opened through
// kParkableVfs and its identity is known. Same contract as ParkFiles() otherwise.
bool ParkDatabaseFile(sqlite3* db);

// Keeps `db`'s write-ahead log in memory from now on (storage/held_log.h), for a new database
// whose image is not durable yet (storage/new_database_image.h): the log's writes, reads, size
// and truncations use the copy, and its file stays empty until ReleaseHeldLog. The log is
// written out earlier, with the database file's data synced first (an fdatasync on the calling
// thread), when it outgrows HeldLog::kMaxBytes, when SQLite syncs it (a checkpoint) or sizes
// it, and when it is closed; if that fails at the close, what it held is lost (logged). Returns
// false, holding nothing, unless the log was opened through kParkableVfs, is open, and is
// empty. Never throws.
bool HoldLog(sqlite3* db);

// Whether `db`'s write-ahead log is held (HoldLog, not yet written out).
bool LogHeld(sqlite3* db);

// The caller made the database file's data durable: a held log is written into its file and
// works as any other from now on. SQLITE_OK (also when nothing is held), or the write's error
// with the log still held. Never throws.
int ReleaseHeldLog(sqlite3* db);

// What fstat() of the descriptor of `db`'s main database file (`log` false) or of its write-ahead
// log (`log` true) tells, without looking the file's path up.
struct DescriptorStatus {
  // False when the file is parked, was not opened through kParkableVfs, its descriptor is not
  // known (see NotedOpen in the .cc) or fstat() failed: the caller then asks the path.
  bool known = false;
  // The file still has a name in some folder. A file removed, or replaced under its name by
  // another (renamed over it, or removed and created again), has none left; one renamed or linked
  // elsewhere keeps one, and what is written to it is as durable as before.
  bool linked = false;
  uint64_t device = 0;
  uint64_t inode = 0;
};
// Never throws.
DescriptorStatus OpenFileStatus(sqlite3* db, bool log);
// The database's size in pages after the last commit written through `db`'s write-ahead log since
// the previous call (as its commit frame's header records it), or 0 when no commit frame was
// written since, or the log was not opened through kParkableVfs. Lets a commit learn the size it
// left without a PRAGMA page_count, which SQLite compiles again on every run. Never throws.
uint32_t TakeCommittedPages(sqlite3* db);
// How many of `db`'s main database file and write-ahead log opened through kParkableVfs hold a
// descriptor now (0 to 2).
int UnparkedFiles(sqlite3* db);

}  // namespace dorm::storage
