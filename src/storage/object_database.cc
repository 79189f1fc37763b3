#include "storage/object_database.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string_view>

#include "storage/new_database_image.h"
#include "storage/parkable_vfs.h"
#include "storage/sql_guard.h"
#include "storage/sql_interrupt.h"
#include "storage/sql_printf.h"
#include "storage/temp_file_limit.h"
#include "util/log.h"

namespace dorm::storage {
namespace {

// A WAL past this many pages is checkpointed after the next commit.
constexpr int kCheckpointPages = 1000;
// What a WAL is cut back to once checkpointed (see Open): the checkpoint threshold's size.
constexpr long long kWalSizeLimitBytes = 4ll << 20;

// Creates the missing folders of `dir`; appends each created folder's parent to `created`, since
// it is the parent's entry that must be flushed for the new folder to survive a crash.
void MakeFolders(const std::filesystem::path& dir, std::vector<std::string>* to_sync) {
  if (dir.empty() || std::filesystem::exists(dir)) return;
  MakeFolders(dir.parent_path(), to_sync);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw StorageError("cannot create folder " + dir.string() + ": " + std::strerror(errno));
  }
  to_sync->push_back(dir.parent_path().string());
}

bool FlushPath(const std::string& path, bool data_only, std::string* error) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    // A file removed under an open database (ENOENT included) cannot keep what was written to
    // it: never report such commits durable. (A deleted class's objects are closed before its
    // files go, so nobody waits for them.)
    *error = "open " + path + ": " + std::strerror(errno);
    return false;
  }
  int rc = data_only ? ::fdatasync(fd) : ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) {
    *error = (data_only ? "fdatasync " : "fsync ") + path + ": " + std::strerror(saved);
    return false;
  }
  return true;
}

uint32_t BigEndian32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// The page size a database header (its first 100 bytes) records: bytes 16 and 17, 1 for 65,536.
uint32_t HeaderPageSize(const unsigned char* header) {
  uint32_t page_size = (uint32_t{header[16]} << 8) | header[17];
  return page_size == 1 ? 65536 : page_size;
}

// What CheckDatabaseFile found at a database's path.
enum class FileState {
  kNone,   // no file, or an empty one: SQLite makes a new database of it
  kWal,    // a database whose header says write-ahead logging (what Open makes)
  kOther,  // a database in another journal mode, or a file SQLite is left to judge
};

// Refuses a database file SQLite would misread as empty or not open at all, before SQLite sees
// it: SQLite deletes the write-ahead log of a zero-length database file, so a file truncated to
// nothing would silently lose every commit. Deeper damage (pages missing past the header's
// count, a broken b-tree) SQLite itself reports as SQLITE_CORRUPT on first use. Throws
// StorageError; the file is left as it is, except that with `from_image` (new databases are
// written from the image) a file whose image write never finished is removed (kNone).
// `*exists` tells whether a file is (still) at `path`; `*identity` gets its device and inode, and
// `*identity_known` whether they were read (so that Open needs no stat() of its own for either);
// `*page_size` gets the page size in the header of a database it returns kWal for, 0 otherwise.
FileState CheckDatabaseFile(const std::string& path, bool from_image, bool* exists,
                            struct stat* identity, bool* identity_known, uint32_t* page_size) {
  *identity_known = false;
  *page_size = 0;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *exists = errno != ENOENT;
    return errno == ENOENT ? FileState::kNone : FileState::kOther;  // SQLite reports it
  }
  *exists = true;
  struct stat st {};
  unsigned char header[100];
  ssize_t n = -1;
  if (::fstat(fd, &st) == 0) {
    *identity = st;
    *identity_known = true;
    if (st.st_size > 0) n = ::pread(fd, header, sizeof header, 0);
  }
  ::close(fd);
  if (from_image &&
      MayBeUnfinishedNewDatabase(header, n > 0 ? static_cast<size_t>(n) : 0,
                                 static_cast<uint64_t>(st.st_size)) &&
      IsUnfinishedNewDatabase(path)) {
    // Never acknowledged anything (see new_database_image.h): the object starts empty instead of
    // failing as damaged for ever.
    Log(LogLevel::kWarn, "database " + path + " was being created when the machine stopped; " +
                             "it held no data and is created again");
    ::unlink(path.c_str());
    *exists = false;
    *identity_known = false;
    return FileState::kNone;
  }
  std::string problem;
  if (st.st_size == 0) {
    struct stat wal;
    if (::stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0) {
      problem = "the database file is empty but its write-ahead log is not";
    }
  } else if (n != static_cast<ssize_t>(sizeof header)) {
    problem = "the database file is truncated (" + std::to_string(st.st_size) + " bytes)";
  } else if (std::memcmp(header, "SQLite format 3", 16) != 0) {
    Log(LogLevel::kError, "cannot open " + path + ": it is not a SQLite database; kept as it is");
    throw StorageError("file is not a database: SQLITE_NOTADB", SQLITE_NOTADB);
  } else {
    uint32_t header_page_size = HeaderPageSize(header);
    uint32_t pages = BigEndian32(header + 28);
    // The header's page count is valid only when it was written with the change counter.
    bool count_valid = pages > 0 && BigEndian32(header + 24) == BigEndian32(header + 92);
    if (header_page_size < 512 || (header_page_size & (header_page_size - 1)) != 0) {
      problem = "the database header is damaged";
    } else if (count_valid && st.st_size < static_cast<off_t>(header_page_size)) {
      problem = "the database file is truncated (" + std::to_string(st.st_size) + " of " +
                std::to_string(static_cast<long long>(pages) * header_page_size) + " bytes)";
    }
  }
  if (problem.empty()) {
    if (st.st_size == 0) return FileState::kNone;
    // The file format's read and write versions (bytes 18 and 19) are 2 in WAL mode.
    if (header[18] != 2 || header[19] != 2) return FileState::kOther;
    *page_size = HeaderPageSize(header);
    return FileState::kWal;
  }
  Log(LogLevel::kError, "cannot open " + path + ": " + problem + "; kept as it is");
  throw StorageError("database disk image is malformed: SQLITE_CORRUPT", SQLITE_CORRUPT);
}

}  // namespace

const char* SqliteCodeName(int code) {
  switch (code & 0xff) {
    case SQLITE_ERROR:
      return "SQLITE_ERROR";
    case SQLITE_INTERNAL:
      return "SQLITE_INTERNAL";
    case SQLITE_PERM:
      return "SQLITE_PERM";
    case SQLITE_ABORT:
      return "SQLITE_ABORT";
    case SQLITE_BUSY:
      return "SQLITE_BUSY";
    case SQLITE_LOCKED:
      return "SQLITE_LOCKED";
    case SQLITE_NOMEM:
      return "SQLITE_NOMEM";
    case SQLITE_READONLY:
      return "SQLITE_READONLY";
    case SQLITE_INTERRUPT:
      return "SQLITE_INTERRUPT";
    case SQLITE_IOERR:
      return "SQLITE_IOERR";
    case SQLITE_CORRUPT:
      return "SQLITE_CORRUPT";
    case SQLITE_NOTFOUND:
      return "SQLITE_NOTFOUND";
    case SQLITE_FULL:
      return "SQLITE_FULL";
    case SQLITE_CANTOPEN:
      return "SQLITE_CANTOPEN";
    case SQLITE_PROTOCOL:
      return "SQLITE_PROTOCOL";
    case SQLITE_SCHEMA:
      return "SQLITE_SCHEMA";
    case SQLITE_TOOBIG:
      return "SQLITE_TOOBIG";
    case SQLITE_CONSTRAINT:
      return "SQLITE_CONSTRAINT";
    case SQLITE_MISMATCH:
      return "SQLITE_MISMATCH";
    case SQLITE_MISUSE:
      return "SQLITE_MISUSE";
    case SQLITE_RANGE:
      return "SQLITE_RANGE";
    case SQLITE_NOTADB:
      return "SQLITE_NOTADB";
    case SQLITE_AUTH:
      return "SQLITE_AUTH";
    default:
      return "SQLITE_ERROR";
  }
}

bool StorageError::critical() const {
  switch (sqlite_code_ & 0xff) {
    case SQLITE_OK:  // not from SQLite: a file-system failure around it
    case SQLITE_NOMEM:
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
    case SQLITE_INTERNAL:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return true;
    default:
      return false;
  }
}

bool SyncTarget::FilesExist(std::string* error) const {
  if (!unwritten.empty()) {
    *error = unwritten;
    return false;
  }
  for (const auto* paths : {&data_paths, &fsync_paths}) {
    for (const auto& path : *paths) {
      struct stat st;
      if (::stat(path.c_str(), &st) != 0) {
        *error = "stat " + path + ": " + std::strerror(errno);
        return false;
      }
    }
  }
  return true;
}

bool SyncTarget::Run(std::string* error) {
  if (!unwritten.empty()) {
    *error = unwritten;
    return false;
  }
  for (const auto& path : data_paths) {
    if (!FlushPath(path, /*data_only=*/true, error)) return false;
  }
  for (const auto& path : fsync_paths) {
    if (!FlushPath(path, /*data_only=*/false, error)) return false;
  }
  return true;
}

std::unique_ptr<ObjectDatabase> ObjectDatabase::Open(const std::string& path, bool create,
                                                     StorageQuota* quota, const std::string& app) {
  return Open(path, create, quota, app, OpenSettings{});
}

std::unique_ptr<ObjectDatabase> ObjectDatabase::Open(const std::string& path, bool create,
                                                     StorageQuota* quota, const std::string& app,
                                                     const OpenSettings& settings) {
  std::vector<std::string> created;
  bool exists = false;
  struct stat identity {};
  bool identity_known = false;
  uint32_t page_size = 0;
  FileState state = CheckDatabaseFile(path, /*from_image=*/settings.vfs == nullptr, &exists,
                                      &identity, &identity_known, &page_size);
  if (!create) {
    if (!exists) return nullptr;
  } else {
    MakeFolders(std::filesystem::path(path).parent_path(), &created);
    if (!exists) {
      created.push_back(path);
      created.push_back(std::filesystem::path(path).parent_path().string());
    }
  }
  // Written from the image without a sync: the WAL is held until the caller has synced it.
  bool image_unsynced = false;
  if (create && state == FileState::kNone && settings.vfs == nullptr) {
    // A new database starts as a copy of the prepared image (see new_database_image.h). Through
    // another VFS (cluster mode) the tables are created by a first commit, which goes through the
    // log that the VFS captures. Through the parkable VFS the image's sync is left to the caller,
    // off its thread (image_pending()).
    image_unsynced = ParkableVfs() == std::string_view(kParkableVfs);
    std::string error;
    if (!WriteNewDatabase(path, /*sync=*/!image_unsynced, &error)) {
      throw StorageError(error, SQLITE_CANTOPEN);
    }
    state = FileState::kWal;
    page_size = HeaderPageSize(reinterpret_cast<const unsigned char*>(NewDatabaseImage().data()));
    identity_known = false;  // the file may be new
  }
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  // Without file locks: the process opens each object's database once (its one connection, on
  // its thread), and the data folder's lock (`DATA/lock`) keeps a second server out. SQLite's
  // locking VFS made each open walk a list of every file open in the process (UnlockedVfs()).
  // Through the parkable wrapper once installed (see Park()).
  int rc = sqlite3_open_v2(path.c_str(), &db, flags,
                           settings.vfs != nullptr ? settings.vfs : ParkableVfs());
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    throw StorageError("cannot open " + path + ": " + message, rc);
  }
  std::unique_ptr<ObjectDatabase> self(new ObjectDatabase(db, path));
  // The file as checked just before SQLite opened it (a file replaced in between makes the first
  // commit refuse, as one replaced later does).
  if (identity_known || ::stat(path.c_str(), &identity) == 0) {
    self->file_device_ = static_cast<uint64_t>(identity.st_dev);
    self->file_inode_ = static_cast<uint64_t>(identity.st_ino);
  }
  if (settings.on_connection) settings.on_connection(db);
  self->unsynced_paths_ = std::move(created);
  // Commits are flushed by SyncTarget, so SQLite itself must not fsync on commit; closing must
  // not checkpoint (that would copy pages without syncing); the WAL file stays in place so that
  // its descriptor and its folder entry remain valid.
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  int persist = 1;
  sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  // One connection per object in the whole process: exclusive locking mode keeps the WAL index
  // in the connection's memory (no -shm mapping). Through the unlocked VFS it takes no file lock;
  // through another (cluster mode) it takes the lock once instead of on every read.
  self->Exec("PRAGMA locking_mode=EXCLUSIVE");
  // WAL mode is recorded in the file's header, and SQLite opens the log of a database whose header
  // says so by itself: the PRAGMA (and the schema read it starts) is needed only once.
  if (state == FileState::kNone) {
    // A new database not written from the image (cluster mode, or an empty file opened without
    // `create`): switching it to WAL writes its first page through a rollback journal, with
    // two syncs of the journal, one of its folder and one of the file, on the caller's thread.
    // Without a journal (there is nothing to roll back to) the first page is written with a
    // single sync, which still makes it durable before the log holds anything: the log of an
    // empty database file would be refused (CheckDatabaseFile). The folder's entry is flushed
    // with the first commit (unsynced_paths_); a crash before that leaves no file, or a file
    // whose log SQLite ignores, never a commit that was acknowledged.
    self->Exec("PRAGMA journal_mode=OFF");
    self->Exec("PRAGMA journal_mode=WAL");
  } else if (state != FileState::kWal) {
    self->Exec("PRAGMA journal_mode=WAL");
  }
  // Only now: defensive mode refuses journal_mode=OFF (no SQL of the object's has run yet).
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  // A large transaction grows the WAL past what checkpoints keep it to, and a WAL is otherwise
  // reused at its largest size for ever: files outside the storage quota that many objects could
  // multiply. Once checkpointed, it is cut back to this size when it starts over.
  static const std::string kPragmas =
      "PRAGMA synchronous=OFF;PRAGMA cache_size=-256;"
      "PRAGMA journal_size_limit=" +
      std::to_string(kWalSizeLimitBytes);
  self->Exec(kPragmas.c_str());
  int enabled = 0;
  if (sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, &enabled) != SQLITE_OK || !enabled) {
    throw StorageError("cannot enable foreign keys: SQLITE_ERROR", SQLITE_ERROR);
  }
  sqlite3_wal_hook(db, &ObjectDatabase::WalHook, self.get());
  sqlite3_limit(db, SQLITE_LIMIT_LENGTH, kMaxRowBytes);
  InstallSqlGuard(db);
  InstallBoundedPrintf(db);
  InstallInterruptCheck(db);
  // Every object database has both tables from its creation on. Looking them up (the schema is
  // read once either way) costs far less than parsing the CREATE statements again on every open,
  // which activations and alarm warm-ups do by the thousand. A new database has both from its
  // image; one made otherwise gets both in one transaction, one commit.
  if (sqlite3_table_column_metadata(db, "main", "_cf_KV", nullptr, nullptr, nullptr, nullptr,
                                    nullptr, nullptr) != SQLITE_OK ||
      sqlite3_table_column_metadata(db, "main", "_cf_METADATA", nullptr, nullptr, nullptr, nullptr,
                                    nullptr, nullptr) != SQLITE_OK) {
    self->Exec((std::string("BEGIN;") + kObjectTablesSql + "COMMIT").c_str());
  }
  if (image_unsynced) {
    // Nothing was written to the WAL yet: the schema read above opened it, empty.
    if (HoldLog(db)) {
      self->image_pending_ = true;
    } else {
      std::string error;
      if (!FlushPath(path, /*data_only=*/true, &error)) {
        throw StorageError(error, SQLITE_IOERR_FSYNC);
      }
    }
  }
  if (quota) {
    self->quota_ = quota;
    self->app_ = app;
    // A database in WAL mode keeps the page size its header was created with (SQLite changes it
    // only by VACUUM outside WAL mode), so the header read above is SQLite's own answer.
    if (page_size != 0) {
      self->page_size_ = page_size;
    } else {
      sqlite3_stmt* st = nullptr;
      self->page_size_ = self->PragmaValue(&st, "PRAGMA page_size");
      sqlite3_finalize(st);
    }
    if (self->page_size_ <= 0) self->page_size_ = 4096;
    if (quota->max_object_bytes() > 0) {
      self->object_max_pages_ =
          std::max<long long>(1, quota->max_object_bytes() / self->page_size_);
    }
    // The page count and max_page_count wait for the first write transaction (ApplyQuota, from
    // EnsureTransaction): a connection opened for reads, or warmed ahead of an alarm, needs
    // neither, and every write begins there.
  }
  return self;
}

long long ObjectDatabase::PragmaValue(sqlite3_stmt** slot, const char* sql) {
  sqlite3_stmt* st = Prepare(slot, sql);
  int rc = sqlite3_step(st);
  long long value = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_reset(st);
  if (rc != SQLITE_ROW) Fail(sql, rc);
  return value;
}

void ObjectDatabase::ApplyQuota() {
  if (!quota_) return;
  if (!pages_known_) {
    known_pages_ = PragmaValue(&page_count_stmt_, "PRAGMA page_count");
    pages_known_ = true;
  }
  long long limit = object_max_pages_;
  int64_t remaining = quota_->AppRemaining(app_);
  if (remaining < std::numeric_limits<int64_t>::max()) {
    long long app_limit = known_pages_ + remaining / page_size_;
    if (limit == 0 || app_limit < limit) limit = app_limit;
  }
  if (limit == max_pages_ || limit == 0) return;
  // SQLite never sets it below the current page count: pages freed by deletions stay usable.
  Exec(("PRAGMA max_page_count=" + std::to_string(limit)).c_str());
  max_pages_ = limit;
}

void ObjectDatabase::CountCommit(uint32_t committed_pages) {
  if (!quota_ || !pages_known_) return;
  // The commit is done: a failure to count it must not fail it (the count is then off until the
  // next commit counts again).
  try {
    // A PRAGMA statement is compiled again at each run (SQLite expires it once run), about as much
    // as the rest of a small commit: asked only when the commit wrote no commit frame through the
    // parkable VFS (nothing changed, or another VFS).
    long long pages = committed_pages != 0 ? static_cast<long long>(committed_pages)
                                           : PragmaValue(&page_count_stmt_, "PRAGMA page_count");
    quota_->Add(app_, (pages - known_pages_) * page_size_);
    known_pages_ = pages;
  } catch (const StorageError&) {
  }
}

ObjectDatabase::ObjectDatabase(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}

ObjectDatabase::~ObjectDatabase() {
  NotifyClients();
  Rollback();
  sqlite3_finalize(get_stmt_);
  sqlite3_finalize(put_stmt_);
  sqlite3_finalize(delete_stmt_);
  sqlite3_finalize(get_alarm_stmt_);
  sqlite3_finalize(set_alarm_stmt_);
  sqlite3_finalize(begin_stmt_);
  sqlite3_finalize(commit_stmt_);
  sqlite3_finalize(delete_alarm_stmt_);
  sqlite3_finalize(page_count_stmt_);
  sqlite3_finalize(size_free_pages_stmt_);
  sqlite3_finalize(size_page_bytes_stmt_);
  sqlite3_close_v2(db_);
}

int ObjectDatabase::WalHook(void* self, sqlite3*, const char*, int pages) {
  static_cast<ObjectDatabase*>(self)->wal_frames_ = pages;
  static_cast<ObjectDatabase*>(self)->last_commit_wrote_ = true;
  if (pages >= kCheckpointPages) static_cast<ObjectDatabase*>(self)->wal_grown_ = true;
  return SQLITE_OK;
}

void ObjectDatabase::Fail(const char* what, int rc) {
  // Worded as Cloudflare's runtime words SQLite errors: "<message>: <CODE>".
  (void)what;
  throw StorageError(std::string(sqlite3_errmsg(db_)) + ": " + SqliteCodeName(rc), rc);
}

void ObjectDatabase::BindKey(sqlite3_stmt* st, int index, std::string_view key) {
  // A key past SQLite's length limit is refused as workerd refuses it ("string or blob too big:
  // SQLITE_TOOBIG"), for reads too: unbound, the parameter would be NULL and match nothing.
  const int rc =
      sqlite3_bind_text(st, index, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  if (rc == SQLITE_OK) return;
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  throw StorageError(std::string(sqlite3_errstr(rc)) + ": " + SqliteCodeName(rc), rc);
}

void ObjectDatabase::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string message = std::string(err ? err : sqlite3_errstr(rc)) + ": " + SqliteCodeName(rc);
    sqlite3_free(err);
    throw StorageError(message, rc);
  }
}

sqlite3_stmt* ObjectDatabase::Prepare(sqlite3_stmt** slot, const char* sql) {
  if (*slot == nullptr) {
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, nullptr);
    if (rc != SQLITE_OK) Fail(sql, rc);
  }
  return *slot;
}

void ObjectDatabase::EnsureTransaction() {
  if (in_transaction_) return;
  ApplyQuota();
  // BEGIN and COMMIT are prepared once per connection, like the storage statements: compiled
  // again by sqlite3_exec for every transaction, they cost more than running them.
  sqlite3_stmt* st = Prepare(&begin_stmt_, "BEGIN");
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) Fail("BEGIN", rc);
  in_transaction_ = true;
}

std::optional<std::string> ObjectDatabase::Get(std::string_view key) {
  sqlite3_stmt* st = Prepare(&get_stmt_, "SELECT value FROM _cf_KV WHERE key = ?1");
  BindKey(st, 1, key);
  int rc = sqlite3_step(st);
  std::optional<std::string> out;
  if (rc == SQLITE_ROW) {
    const void* blob = sqlite3_column_blob(st, 0);
    int n = sqlite3_column_bytes(st, 0);
    out.emplace(static_cast<const char*>(blob), static_cast<size_t>(n));
  } else if (rc != SQLITE_DONE) {
    sqlite3_reset(st);
    Fail("get", rc);
  }
  sqlite3_reset(st);
  return out;
}

void ObjectDatabase::Put(std::string_view key, std::string_view value) {
  EnsureTransaction();
  sqlite3_stmt* st =
      Prepare(&put_stmt_, "INSERT OR REPLACE INTO _cf_KV (key, value) VALUES (?1, ?2)");
  int rc = sqlite3_bind_text(st, 1, key.data(), static_cast<int>(key.size()), SQLITE_STATIC);
  if (rc == SQLITE_OK) {
    rc = sqlite3_bind_blob(st, 2, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  }
  if (rc != SQLITE_OK) {
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    throw StorageError(std::string(sqlite3_errstr(rc)) + ": " + SqliteCodeName(rc), rc);
  }
  rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) Fail("put", rc);
}

bool ObjectDatabase::Delete(std::string_view key) {
  EnsureTransaction();
  sqlite3_stmt* st = Prepare(&delete_stmt_, "DELETE FROM _cf_KV WHERE key = ?1");
  BindKey(st, 1, key);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) Fail("delete", rc);
  return sqlite3_changes(db_) > 0;
}

void ObjectDatabase::List(
    const ListRange& range,
    const std::function<void(std::string_view key, std::string_view value)>& visit) {
  if (range.empty || range.limit == 0) return;
  std::string sql = "SELECT key, value FROM _cf_KV WHERE key >= ?1";
  if (range.end) sql += " AND key < ?2";
  sql += range.reverse ? " ORDER BY key DESC" : " ORDER BY key";
  if (range.limit > 0) sql += " LIMIT ?3";
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
  if (rc != SQLITE_OK) Fail("list", rc);
  try {
    BindKey(st, 1, range.begin);
    if (range.end) BindKey(st, 2, *range.end);
  } catch (...) {
    sqlite3_finalize(st);
    throw;
  }
  if (range.limit > 0) sqlite3_bind_int64(st, 3, range.limit);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    std::string_view key(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                         static_cast<size_t>(sqlite3_column_bytes(st, 0)));
    std::string_view value(static_cast<const char*>(sqlite3_column_blob(st, 1)),
                           static_cast<size_t>(sqlite3_column_bytes(st, 1)));
    try {
      visit(key, value);
    } catch (...) {
      sqlite3_finalize(st);
      throw;
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) Fail("list", rc);
}

void ObjectDatabase::NotifyClients() {
  while (!clients_.empty()) {
    DatabaseClient* client = *clients_.begin();
    clients_.erase(clients_.begin());
    client->OnDatabaseClosing();
  }
}

void ObjectDatabase::DeleteAll() {
  // Open cursors would keep their tables from being dropped ("database table is locked").
  NotifyClients();
  EnsureTransaction();
  std::vector<std::pair<std::string, std::string>> objects;
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(
      db_,
      "SELECT type, name FROM sqlite_schema WHERE type IN ('table', 'view') AND "
      "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
      -1, &st, nullptr);
  if (rc != SQLITE_OK) Fail("deleteAll", rc);
  while (sqlite3_step(st) == SQLITE_ROW) {
    objects.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                         reinterpret_cast<const char*>(sqlite3_column_text(st, 1)));
  }
  sqlite3_finalize(st);
  for (const auto& [type, name] : objects) {
    std::string quoted = "\"";
    for (char c : name) {
      if (c == '"') quoted += '"';
      quoted += c;
    }
    quoted += '"';
    Exec(((type == "view" ? "DROP VIEW IF EXISTS " : "DROP TABLE IF EXISTS ") + quoted).c_str());
  }
  Exec("DELETE FROM _cf_KV");
  // As on Cloudflare (compatibility dates from 2026-02-24 on), deleteAll() deletes the alarm too.
  Exec("DELETE FROM _cf_METADATA WHERE key = 'alarm'");
}

void ObjectDatabase::BeginSavepoint(int depth) {
  EnsureTransaction();
  Exec(("SAVEPOINT _cf_savepoint_" + std::to_string(depth)).c_str());
}

void ObjectDatabase::ReleaseSavepoint(int depth) {
  Exec(("RELEASE _cf_savepoint_" + std::to_string(depth)).c_str());
}

void ObjectDatabase::RollbackToSavepoint(int depth) {
  std::string name = "_cf_savepoint_" + std::to_string(depth);
  Exec(("ROLLBACK TO " + name).c_str());
  Exec(("RELEASE " + name).c_str());
}

void ObjectDatabase::Commit() {
  if (!in_transaction_) return;
  // A database removed or replaced under the server keeps accepting writes into a file that is
  // gone: refuse to commit them. Through the unlocked VFS SQLITE_FCNTL_HAS_MOVED always answers
  // no, so the file's identity is compared here: from its open descriptor when the parkable VFS
  // knows it (a file removed, or replaced by another under its name, has no name left; no path
  // lookup, a quarter of the cost), else from a stat() of its path.
  bool moved;
  const DescriptorStatus open_file = OpenFileStatus(db_, /*log=*/false);
  if (open_file.known) {
    moved = !open_file.linked || open_file.device != file_device_ || open_file.inode != file_inode_;
  } else {
    struct stat now;
    moved = ::stat(path_.c_str(), &now) != 0 || static_cast<uint64_t>(now.st_dev) != file_device_ ||
            static_cast<uint64_t>(now.st_ino) != file_inode_;
  }
  if (moved) {
    Rollback();
    Log(LogLevel::kError,
        "the database file " + path_ + " was removed or replaced while open; not committing");
    throw StorageError("the database file was removed or replaced while open: SQLITE_IOERR",
                       SQLITE_IOERR);
  }
  TakeCommittedPages(db_);  // forgets a size recorded by a commit frame before this commit
  // SQLite writes no frame at all for a transaction that dirtied no page (the pager's commit
  // returns before the WAL is touched), and then calls no WAL hook.
  last_commit_wrote_ = false;
  int rc = commit_stmt_ ? SQLITE_OK
                        : sqlite3_prepare_v3(db_, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT,
                                             &commit_stmt_, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_step(commit_stmt_);
  if (rc != SQLITE_DONE) {
    std::string message = std::string(sqlite3_errmsg(db_)) + ": " + SqliteCodeName(rc);
    if (commit_stmt_) sqlite3_reset(commit_stmt_);
    Rollback();
    throw StorageError(message, rc);
  }
  sqlite3_reset(commit_stmt_);
  in_transaction_ = false;
  const uint32_t committed_pages = TakeCommittedPages(db_);
  if (last_commit_wrote_) CountCommit(committed_pages);  // else no page, and no size, changed
}

void ObjectDatabase::Rollback() noexcept {
  if (!in_transaction_) return;
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  in_transaction_ = false;
  // A rolled-back transaction that spilled its pages to the WAL leaves the file at that size:
  // SQLite cuts it back only once everything in it was checkpointed, and the storage quotas no
  // longer count those pages. An app that filled its quota in one object after another, each
  // reset, left one such file per object until they were closed (hundreds of MB each). Past the
  // limit the WAL is checkpointed and truncated now: an fsync or two, after a large rollback only.
  struct stat wal;
  if (clients_.empty() && ::stat((path_ + "-wal").c_str(), &wal) == 0 &&
      wal.st_size > kWalSizeLimitBytes) {
    try {
      CheckpointAndTruncate();
    } catch (const std::exception& e) {
      Log(LogLevel::kWarn,
          "could not truncate the WAL of " + path_ + " after a rollback: " + e.what());
    }
  }
}

std::unique_ptr<SyncTarget> ObjectDatabase::MakeSyncTarget() {
  auto target = std::make_unique<SyncTarget>();
  if (image_pending()) {
    try {
      std::string error;
      if (!FlushPath(path_, /*data_only=*/true, &error)) throw StorageError(error, SQLITE_IOERR);
      ImageDurable();
    } catch (const StorageError& e) {
      target->unwritten = e.what();
    }
  }
  target->data_paths.push_back(path_ + "-wal");
  // The log checked through its descriptor now, on this thread, rather than by its path on the
  // flush thread (SyncPool::FlushGroup), when the parkable VFS knows it.
  const DescriptorStatus log = OpenFileStatus(db_, /*log=*/true);
  if (log.known && target->unwritten.empty()) {
    if (!log.linked) {
      target->unwritten =
          "the write-ahead log " + path_ + "-wal was removed or replaced while open";
    } else {
      target->checked_data_paths = 1;
      target->checked_device = log.device;
    }
  }
  target->fsync_paths = std::move(unsynced_paths_);
  unsynced_paths_.clear();
  return target;
}

bool ObjectDatabase::image_pending() {
  if (image_pending_ && !LogHeld(db_)) image_pending_ = false;  // written out by the VFS itself
  return image_pending_;
}

void ObjectDatabase::ImageDurable() {
  if (!image_pending_) return;
  const int rc = ReleaseHeldLog(db_);
  if (rc != SQLITE_OK) {
    throw StorageError("cannot write the log of " + path_ + ": " + sqlite3_errstr(rc), rc);
  }
  image_pending_ = false;
}

void ObjectDatabase::MaybeCheckpoint() {
  if (!wal_grown_ || in_transaction_) return;
  wal_grown_ = false;
  // With full syncs the WAL is flushed before its pages are copied and the database file after,
  // so the WAL can be reused without losing a commit.
  Exec("PRAGMA synchronous=FULL");
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  Exec("PRAGMA synchronous=OFF");
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) Fail("checkpoint", rc);
}

void ObjectDatabase::CheckpointAndTruncate() {
  if (in_transaction_ || !clients_.empty()) return;
  wal_grown_ = false;
  wal_frames_ = 0;
  Exec("PRAGMA synchronous=FULL");
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  Exec("PRAGMA synchronous=OFF");
  if (rc != SQLITE_OK) Fail("checkpoint", rc);
}

bool ObjectDatabase::Park() {
  if (in_transaction_ || !clients_.empty()) return false;
  if (!ParkFiles(db_)) return false;
  // A small database's pages (a counter's: one or two) are worth keeping, a large one's cache
  // (up to cache_size, 256 KiB) is not, parked by the thousand. Freeing clean pages needs no
  // file; nothing is dirty outside a transaction.
  int cache_bytes = 0;
  int highwater = 0;
  if (sqlite3_db_status(db_, SQLITE_DBSTATUS_CACHE_USED, &cache_bytes, &highwater, 0) ==
          SQLITE_OK &&
      cache_bytes > kParkedCacheBytes) {
    sqlite3_db_release_memory(db_);
  }
  return true;
}

bool ObjectDatabase::ParkDatabaseFile() {
  if (in_transaction_ || !clients_.empty()) return false;
  return storage::ParkDatabaseFile(db_);
}

std::optional<long long> ObjectDatabase::GetAlarm() {
  sqlite3_stmt* st =
      Prepare(&get_alarm_stmt_, "SELECT value FROM _cf_METADATA WHERE key = 'alarm'");
  int rc = sqlite3_step(st);
  std::optional<long long> out;
  if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
    out = sqlite3_column_int64(st, 0);
  sqlite3_reset(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) Fail("getAlarm", rc);
  return out;
}

void ObjectDatabase::SetAlarm(std::optional<long long> time_ms) {
  EnsureTransaction();
  // Prepared once per connection: every fired alarm is deleted here, and compiling the statement
  // again for each one (as sqlite3_exec does) cost more than running it.
  sqlite3_stmt* st;
  if (time_ms) {
    st = Prepare(&set_alarm_stmt_,
                 "INSERT OR REPLACE INTO _cf_METADATA (key, value) VALUES ('alarm', ?1)");
    sqlite3_bind_int64(st, 1, *time_ms);
  } else {
    st = Prepare(&delete_alarm_stmt_, "DELETE FROM _cf_METADATA WHERE key = 'alarm'");
  }
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc != SQLITE_DONE) Fail(time_ms ? "setAlarm" : "deleteAlarm", rc);
}

long long ObjectDatabase::SizeBytes() {
  // Prepared once per connection (the usage meters read every live object's size each period,
  // and preparing the three took most of that), never failing: a reading that cannot be made
  // counts as 0.
  auto value = [this](sqlite3_stmt** slot, const char* sql) -> long long {
    if (!*slot &&
        sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, nullptr) != SQLITE_OK) {
      sqlite3_finalize(*slot);
      *slot = nullptr;
      return 0;
    }
    const long long v = sqlite3_step(*slot) == SQLITE_ROW ? sqlite3_column_int64(*slot, 0) : 0;
    sqlite3_reset(*slot);
    return v;
  };
  return (value(&page_count_stmt_, "PRAGMA page_count") -
          value(&size_free_pages_stmt_, "PRAGMA freelist_count")) *
         value(&size_page_bytes_stmt_, "PRAGMA page_size");
}

}  // namespace dorm::storage
