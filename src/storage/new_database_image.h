// The bytes of a new, empty object database: what ObjectDatabase::Open would otherwise build with
// PRAGMA journal_mode=WAL and two CREATE TABLE statements on every new object.
//
// Why: creating the two tables costs SQLite about 420,000 instructions per new object (each
// CREATE is parsed, generates the insert into the schema table through a second parse, and reads
// the new schema back through a third), over a third of a new object's whole first request.
// Writing a prepared image costs one write (its sync is made by the flush threads, see
// WriteNewDatabase); the next open reads the schema as for any existing database.
//
// Thread-safe.
#pragma once

#include <string>

namespace dorm::storage {

// The statements that create an object database's tables. Open runs them itself on databases
// that lack a table, and on new ones whose first commit must go through the log (cluster mode).
extern const char kObjectTablesSql[];

// The image: three pages (the schema and each table's empty root), in WAL mode (the header's
// read and write versions are 2). Built once, in memory, by SQLite itself. Throws
// std::runtime_error if SQLite cannot build it.
const std::string& NewDatabaseImage();

// Writes the image into the file at `path`, created if missing (mode 0644, as SQLite creates
// files), and with `sync` syncs its data before returning. Its first page must be durable before
// the log on disk holds anything (the log of an empty database file would be refused, see
// ObjectDatabase::Open, and IsUnfinishedNewDatabase counts on it): a caller that does not sync
// keeps the log's writes in memory until the image is synced (HoldLog, storage/parkable_vfs.h).
// The file must be empty or absent, and not open in SQLite. Returns false with `error` set when
// the file cannot be written or the image cannot be built; never throws.
bool WriteNewDatabase(const std::string& path, bool sync, std::string* error);

// Whether the file at `path` is a new database whose image write did not finish: power lost
// before the image's sync can leave the file shorter than the image, or with zeros where
// some of its blocks were not written yet. Such a file holds nothing that was ever acknowledged
// (the log on disk receives a commit only after that sync), so its object may start empty. True
// only when the file is not empty, is no longer than the image, differs from it, every byte is the
// image's or zero, and its log (`path`-wal) is absent or empty; a database with any content of its
// own is never taken for one. Never throws; false when the file cannot be read.
bool IsUnfinishedNewDatabase(const std::string& path);

// A cheap first test for IsUnfinishedNewDatabase, from what a caller already read of the file:
// its size and its first `head_bytes` bytes. False means the file cannot be one (it is empty,
// longer than the image, or its head has a byte that is neither the image's nor zero, as any
// database that ever checkpointed a commit has in its change counter). Never throws.
bool MayBeUnfinishedNewDatabase(const unsigned char* head, size_t head_bytes, uint64_t file_size);

}  // namespace dorm::storage
