// One object's SQLite database: the key-value table and, later, the object's own SQL tables.
//
// Durability contract: writes go into an implicit transaction that the caller commits at the end
// of a JavaScript turn (Commit()). A commit reaches the write-ahead log without fsync; it is
// durable once the WAL file has been flushed (see SyncTarget), which the caller does off-thread
// and in groups. The WAL is only ever checkpointed with full syncs (MaybeCheckpoint), so a
// checkpoint can never lose a commit that was acknowledged.
//
// Threading: an ObjectDatabase is used by one thread at a time. All methods may throw
// StorageError; after a StorageError from Commit() the open transaction is rolled back.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "storage/list_range.h"
#include "storage/storage_quota.h"

struct sqlite3;
struct sqlite3_stmt;

namespace dorm::storage {

class StorageError : public std::runtime_error {
 public:
  explicit StorageError(const std::string& message, int sqlite_code = 0)
      : std::runtime_error(message), sqlite_code_(sqlite_code) {}
  int sqlite_code() const { return sqlite_code_; }
  // True when the database can no longer be trusted to hold the transaction (disk full, I/O
  // error, corruption...): the object must be reset. False for errors in the request itself,
  // such as a value over the size limit, after which the transaction is still usable.
  bool critical() const;

 private:
  int sqlite_code_;
};

// What must be flushed so that the commits made so far are durable. Holds paths, not open files:
// thousands of flushes may wait at once, and files are opened only while being flushed.
struct SyncTarget {
  std::vector<std::string> data_paths;   // fdatasync: write-ahead logs
  std::vector<std::string> fsync_paths;  // fsync: files and folders created since the last sync
  // Set when the commits could not even be written where the flush would find them (a held log
  // that could not be written out, see ObjectDatabase::MakeSyncTarget): Run and FilesExist fail
  // with it.
  std::string unwritten;
  // The first `checked_data_paths` of data_paths were found still linked, on file system
  // `checked_device`, through their open descriptors when the target was made
  // (ObjectDatabase::MakeSyncTarget): a group's flush takes them as found instead of looking their
  // paths up again. Run (one target alone) opens every path all the same, to sync it.
  size_t checked_data_paths = 0;
  uint64_t checked_device = 0;
  // Performs the flushes. Returns false (and sets `error`) if one failed, or if a file is gone:
  // a write-ahead log removed under an open database would take acknowledged commits with it.
  bool Run(std::string* error);
  // Sets `error` and returns false unless every file still exists (flushing by file system, as
  // SyncPool does for groups, would not notice a removed one).
  bool FilesExist(std::string* error) const;
};

// Largest string, BLOB or row SQLite accepts in an object's database: Cloudflare's limit for
// SQLite-backed objects (workerd's SQLITE_LIMIT_LENGTH).
constexpr int kMaxRowBytes = 4 << 20;

// "SQLITE_TOOBIG" for SQLITE_TOOBIG, and so on for every primary result code.
const char* SqliteCodeName(int code);

// Something that holds statements of the database open across calls (a SQL cursor): told before
// the database closes or its tables are dropped, so that it can finish with them.
class DatabaseClient {
 public:
  virtual ~DatabaseClient() = default;
  virtual void OnDatabaseClosing() = 0;
};

// How a database is opened, beyond its path and quota.
struct OpenSettings {
  // The SQLite VFS to open it through (nullptr: the default). Cluster mode opens objects through
  // the WAL capture shim (cluster/wal_capture_vfs.h).
  const char* vfs = nullptr;
  // Called with the connection right after it is opened, before Open() writes anything (its
  // tables are created in a first commit that a capture must see). May throw StorageError, which
  // closes the connection and fails Open().
  std::function<void(sqlite3*)> on_connection;
};

class ObjectDatabase {
 public:
  // Opens the database at `path`, creating it (and its folders) when `create` is true.
  // Returns nullptr if it does not exist and `create` is false. A damaged file (not a database,
  // truncated, or emptied while its write-ahead log holds commits) throws StorageError with
  // SQLITE_CORRUPT or SQLITE_NOTADB and is left untouched. With a `quota`, the database may grow
  // to the quota's per-object limit and within what `app` has left; past either, writes fail with
  // SQLite's "database or disk is full" (SQLITE_FULL), as on Cloudflare.
  static std::unique_ptr<ObjectDatabase> Open(const std::string& path, bool create,
                                              StorageQuota* quota = nullptr,
                                              const std::string& app = std::string());
  static std::unique_ptr<ObjectDatabase> Open(const std::string& path, bool create,
                                              StorageQuota* quota, const std::string& app,
                                              const OpenSettings& settings);
  ~ObjectDatabase();
  ObjectDatabase(const ObjectDatabase&) = delete;
  ObjectDatabase& operator=(const ObjectDatabase&) = delete;

  std::optional<std::string> Get(std::string_view key);
  void Put(std::string_view key, std::string_view value);
  bool Delete(std::string_view key);
  // Calls `visit` for each entry in the range, in order, stopping after range.limit entries.
  void List(const ListRange& range,
            const std::function<void(std::string_view key, std::string_view value)>& visit);
  // Removes every key-value entry and every table of the object's own.
  void DeleteAll();

  // Nested savepoints for storage.transaction()/transactionSync(); depth starts at 1.
  void BeginSavepoint(int depth);
  void ReleaseSavepoint(int depth);
  void RollbackToSavepoint(int depth);

  bool in_transaction() const { return in_transaction_; }
  // Commits the implicit transaction into the WAL (no fsync). No-op without one. Fails (and rolls
  // back) if the database file was removed or replaced since it was opened: its commits would
  // go to a file nobody can read again.
  void Commit();
  // Whether the last Commit() wrote to the WAL: false when its transaction changed no page (only
  // `CREATE TABLE IF NOT EXISTS` of a table that exists, a DELETE that matched nothing), so that
  // it left nothing to flush. True before the first commit.
  bool last_commit_wrote() const { return last_commit_wrote_; }
  // Whether files or folders created since the last MakeSyncTarget() await their first sync.
  bool has_unsynced_paths() const { return !unsynced_paths_.empty(); }
  // Discards the implicit transaction; a WAL it grew past 4 MiB is then checkpointed and truncated
  // (blocking on the disk). Never throws.
  void Rollback() noexcept;

  // A fresh SyncTarget covering every commit so far. A WAL still held (image_pending()) is
  // written out first, after a sync of the image on the calling thread: the engine waits for
  // its own sync instead (ThreadEngine::OnImageSynced) and never meets that case. Never throws:
  // if that fails, the target fails (SyncTarget::unwritten).
  std::unique_ptr<SyncTarget> MakeSyncTarget();

  // Checkpoints the WAL into the database file, with fsyncs, once it has grown past a threshold.
  void MaybeCheckpoint();
  // Before closing: copies the whole WAL into the database file and truncates it to nothing,
  // with fsyncs of both (the WAL before the copy, the database file before the truncation), so
  // that the next open has no log to read back. Blocks on the disk: not for an event loop (see
  // DatabaseCloser). Does nothing inside a transaction or while a client holds statements.
  void CheckpointAndTruncate();
  // Gives the connection's two file descriptors (database and WAL) back and keeps the rest of it
  // (schema, statements, the WAL's index, and its page cache up to kParkedCacheBytes: a larger
  // one is emptied, so that thousands of parked connections of large databases stay within a few
  // hundred MiB); each file is opened again at its next use,
  // and a file removed or replaced meanwhile then fails with SQLITE_IOERR (storage/parkable_vfs.h).
  // Commits already made are unaffected: SyncTarget flushes by path. Returns false, closing
  // nothing, inside a transaction, while a client holds statements, or when the database was not
  // opened through the parkable VFS (cluster mode, or before InstallParkableVfs). Never throws.
  bool Park();
  // Gives back only the database file's descriptor; the WAL's stays and the page cache is kept
  // whole (a counter's increment, whose pages are cached, then needs no open at all). Returns
  // false as Park() does. Never throws.
  bool ParkDatabaseFile();
  static constexpr int kParkedCacheBytes = 64 << 10;
  // A new database written from the image (storage/new_database_image.h) whose image is not
  // known to be durable yet: its WAL's writes are held in memory (storage/held_log.h) and its
  // file on disk stays empty, so that a crash leaves a database recognised as new. The caller
  // syncs the file's data off its thread (SyncTarget with the path in data_paths) and then calls
  // ImageDurable(); commits made meanwhile must not be flushed before that (their frames are
  // not in the file yet). A connection whose image is pending is closed only with its object's
  // reset: the close writes the WAL out after a sync of its own, and if that fails its commits
  // are lost, which is safe only when none of them can be acknowledged. Never throws.
  bool image_pending();
  // The database file's data is durable: the held WAL is written into its file. Throws
  // StorageError (critical) if that write fails; the WAL is then still held.
  void ImageDurable();
  // Frames in the WAL after this connection's last commit (0 before its first).
  int wal_frames() const { return wal_frames_; }

  // Bytes used by the database (pages in use times page size).
  long long SizeBytes();

  // The object's alarm (milliseconds since the epoch), kept in the object's own database so that
  // it is written, coalesced and rolled back with everything else.
  std::optional<long long> GetAlarm();
  void SetAlarm(std::optional<long long> time_ms);

  // Opens the implicit transaction if none is open (before a write).
  void EnsureTransaction();
  // Clients to notify before closing (and before deleteAll()); they remove themselves when done.
  void AddClient(DatabaseClient* client) { clients_.insert(client); }
  void RemoveClient(DatabaseClient* client) { clients_.erase(client); }
  // True while a client (an open SQL cursor) holds statements: closing the connection then would
  // cancel it, so idle closes wait.
  bool has_clients() const { return !clients_.empty(); }

  sqlite3* handle() { return db_; }
  const std::string& path() const { return path_; }

 private:
  ObjectDatabase(sqlite3* db, std::string path);
  void NotifyClients();
  long long PragmaValue(sqlite3_stmt** slot, const char* sql);
  // Lowers or raises max_page_count to what the quotas allow before a write transaction (and
  // counts the database's pages first, the first time).
  void ApplyQuota();
  // Counts the pages the last commit added or freed against the app's quota. `committed_pages`:
  // the database's size the commit left, when its commit frame told (TakeCommittedPages), else 0.
  void CountCommit(uint32_t committed_pages);
  void Exec(const char* sql);
  sqlite3_stmt* Prepare(sqlite3_stmt** slot, const char* sql);
  [[noreturn]] void Fail(const char* what, int rc);
  // Binds `key` (which must outlive the statement's step) as parameter `index`; throws
  // StorageError (the statement reset, its bindings cleared) when SQLite refuses it.
  void BindKey(sqlite3_stmt* st, int index, std::string_view key);

  sqlite3* db_;
  std::string path_;
  // The file's identity when it was opened, to tell at each commit whether the path still names
  // it (SQLite's own check needs its locking VFS's list of open files, which this one lacks).
  uint64_t file_device_ = 0;
  uint64_t file_inode_ = 0;
  bool in_transaction_ = false;
  bool wal_grown_ = false;
  int wal_frames_ = 0;
  // Cleared before each COMMIT; set by WalHook, which SQLite calls after each commit that wrote
  // frames (and only then).
  bool last_commit_wrote_ = true;
  // Set when the WAL was held at the open; image_pending() clears it once the WAL is written out.
  bool image_pending_ = false;
  std::vector<std::string> unsynced_paths_;
  sqlite3_stmt* get_stmt_ = nullptr;
  sqlite3_stmt* put_stmt_ = nullptr;
  sqlite3_stmt* delete_stmt_ = nullptr;
  sqlite3_stmt* get_alarm_stmt_ = nullptr;
  sqlite3_stmt* set_alarm_stmt_ = nullptr;
  sqlite3_stmt* delete_alarm_stmt_ = nullptr;
  sqlite3_stmt* begin_stmt_ = nullptr;
  sqlite3_stmt* commit_stmt_ = nullptr;
  sqlite3_stmt* page_count_stmt_ = nullptr;
  sqlite3_stmt* size_free_pages_stmt_ = nullptr;  // with page_count_stmt_, SizeBytes()'s readings
  sqlite3_stmt* size_page_bytes_stmt_ = nullptr;
  std::set<DatabaseClient*> clients_;
  StorageQuota* quota_ = nullptr;
  std::string app_;
  long long page_size_ = 4096;
  long long known_pages_ = 0;       // the database's pages as last counted against the quota
  bool pages_known_ = false;        // known_pages_ read (at the first write transaction)
  long long max_pages_ = 0;         // the max_page_count in force (0: SQLite's default)
  long long object_max_pages_ = 0;  // the per-object limit in pages (0: none)

  static int WalHook(void* self, sqlite3* db, const char* name, int pages);
};

}  // namespace dorm::storage
