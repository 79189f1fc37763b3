#include "storage/parkable_vfs.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "storage/held_log.h"
#include "storage/read_ahead.h"
#include "storage/temp_file_limit.h"
#include "storage/unix_system_call.h"
#include "storage/wal_frame_writes.h"
#include "util/log.h"

namespace dorm::storage {

const char kParkableVfs[] = "dorm-parkable";

namespace {

sqlite3_vfs g_parkable_vfs;  // pAppData: the wrapped VFS
std::atomic<bool> g_parkable_installed{false};

// A database file or a write-ahead log: the wrapped VFS's own file object follows this header in
// the same block (g_parkable_vfs.szOsFile covers both).
struct ParkableFile {
  sqlite3_file base;
  sqlite3_file* real;  // its pMethods is null while parked (or after a failed reopen)
  sqlite3_vfs* wrapped;
  const char* name;  // SQLite keeps it valid and unchanged until xClose
  // The wrapped file's descriptor, as noted when it was opened (NotedOpen); -1 when not known, and
  // while parked.
  int descriptor;
  int reopen_flags;  // the open's flags, without those that could create a file
  bool parked;
  dev_t device;
  ino_t inode;
  // As the file answered before it was parked, set again after the reopen.
  int persist_wal;
  int powersafe_overwrite;
  int sector_size;
  int device_characteristics;
  // A write-ahead log: its frames' two writes are joined (storage/wal_frame_writes.h).
  bool is_log;
  PendingFrameHeader pending;
  // A log: the database's size in pages after the last commit frame written through it since
  // TakeCommittedPages, or 0.
  uint32_t committed_pages;
  // A log whose writes are kept in memory until its database's image is durable (HoldLog);
  // owned, null otherwise.
  HeldLog* held;
  // A database file (not a log): reads page after page are served from one larger read.
  ReadAheadState read_ahead;
};
static_assert(sizeof(ParkableFile) % 8 == 0, "the wrapped file object follows the header aligned");

ParkableFile* AsParkable(sqlite3_file* file) { return reinterpret_cast<ParkableFile*>(file); }
const sqlite3_io_methods* WrappedMethods(ParkableFile* file) { return file->real->pMethods; }

// The wrapped file's own write, for wal_frame_writes.h.
struct WrappedWrite {
  ParkableFile* file;
  int operator()(const void* buffer, int amount, sqlite3_int64 offset) const {
    return WrappedMethods(file)->xWrite(file->real, buffer, amount, offset);
  }
};

// SQLite's open() (the unix VFSes' shared table of system calls), wrapped to note on the calling
// thread what it opened last: the unix VFS keeps a file's descriptor to itself, and fstat() of the
// descriptor tells what stat() of the path does without looking the path up, one folder after
// another (about three quarters of a stat() of an object's log, and a stat() per commit and per
// flush on the hot path of a write). Installed once, with the VFS.
using OpenCall = int (*)(const char*, int, int);
sqlite3_syscall_ptr g_sqlite_open = nullptr;  // an OpenCall
thread_local const char* t_opened_path = nullptr;
thread_local int t_opened_descriptor = -1;

int OpenNotingDescriptor(const char* path, int flags, int mode) {
  const int fd = reinterpret_cast<OpenCall>(g_sqlite_open)(path, flags, mode);
  t_opened_path = path;
  t_opened_descriptor = fd;
  return fd;
}

void NoteOpenedDescriptors() {
  ReplaceUnixSystemCall("open", reinterpret_cast<sqlite3_syscall_ptr>(&OpenNotingDescriptor),
                        &g_sqlite_open);
}

// The wrapped VFS's open of `name` into `file->real`, and the descriptor it opened: -1 unless its
// last call of open() was for `name` (it may reuse a descriptor, or take one below 3 and retry
// after filling that slot with /dev/null).
int NotedOpen(ParkableFile* file, const char* name, int flags, int* out_flags, int* descriptor) {
  t_opened_path = nullptr;
  t_opened_descriptor = -1;
  const int rc = file->wrapped->xOpen(file->wrapped, name, file->real, flags, out_flags);
  const bool noted = rc == SQLITE_OK && t_opened_descriptor >= 0 && t_opened_path != nullptr &&
                     std::strcmp(t_opened_path, name) == 0;
  *descriptor = noted ? t_opened_descriptor : -1;
  return rc;
}

// The identity of what was just opened: from its descriptor when known, else from its path.
bool IdentityOfOpened(const char* name, int descriptor, struct stat* st) {
  return descriptor >= 0 ? ::fstat(descriptor, st) == 0 : ::stat(name, st) == 0;
}

// Before any operation other than a write: a frame header held back goes out first. Returns
// SQLITE_OK or the write's error.
int WriteHeldHeader(ParkableFile* file) {
  if (!file->pending.held) return SQLITE_OK;
  return WritePendingFrameHeader(&file->pending, WrappedWrite{file});
}

// Opens a parked file again. SQLITE_OK, or SQLITE_IOERR (logged) if it cannot be opened or its
// path names another file now; the file then stays parked.
int ReopenParked(ParkableFile* file) {
  if (!file->parked) return SQLITE_OK;
  int out_flags = 0;
  file->real->pMethods = nullptr;
  int descriptor = -1;
  int rc = NotedOpen(file, file->name, file->reopen_flags, &out_flags, &descriptor);
  // What the path names now (from the descriptor: what was opened, with no window in between).
  struct stat now {};
  const bool same = rc == SQLITE_OK && IdentityOfOpened(file->name, descriptor, &now) &&
                    now.st_dev == file->device && now.st_ino == file->inode;
  if (!same) {
    if (file->real->pMethods) file->real->pMethods->xClose(file->real);
    file->real->pMethods = nullptr;
    Log(LogLevel::kError, std::string("cannot reopen ") + file->name +
                              ": it was removed or replaced while its connection was parked");
    return SQLITE_IOERR;
  }
  file->parked = false;
  file->descriptor = descriptor;
  int persist = file->persist_wal;
  WrappedMethods(file)->xFileControl(file->real, SQLITE_FCNTL_PERSIST_WAL, &persist);
  int psow = file->powersafe_overwrite;
  WrappedMethods(file)->xFileControl(file->real, SQLITE_FCNTL_POWERSAFE_OVERWRITE, &psow);
  return SQLITE_OK;
}

// Makes the image of a held log's database durable (unless `image_durable`: the caller synced
// it) and writes what the log holds into its file, which then takes the log's operations again.
// SQLITE_OK, or an error with the log still held.
int SettleHeldLog(ParkableFile* log, bool image_durable) {
  if (log->held == nullptr) return SQLITE_OK;
  if (!image_durable) {
    // The log's name is its database's with "-wal" added (SQLite's rule).
    std::string database(log->name);
    if (database.size() > 4) database.resize(database.size() - 4);
    const int fd = ::open(database.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      Log(LogLevel::kError, "cannot open " + database + " to sync it: " + std::strerror(errno));
      return SQLITE_IOERR_FSYNC;
    }
    const bool synced = ::fdatasync(fd) == 0;
    const int sync_errno = errno;
    ::close(fd);
    if (!synced) {
      Log(LogLevel::kError, "fdatasync " + database + ": " + std::strerror(sync_errno));
      return SQLITE_IOERR_FSYNC;
    }
  }
  if (ReopenParked(log) != SQLITE_OK) return SQLITE_IOERR_WRITE;
  const std::string& bytes = log->held->bytes();
  if (!bytes.empty()) {
    const int rc =
        WrappedMethods(log)->xWrite(log->real, bytes.data(), static_cast<int>(bytes.size()), 0);
    if (rc != SQLITE_OK) return rc;
  }
  delete log->held;
  log->held = nullptr;
  return SQLITE_OK;
}

void CloseForPark(ParkableFile* file) {
  if (file->parked) return;
  // Never held outside a frame's two writes (the page follows its header at once); written all
  // the same rather than lost.
  WriteHeldHeader(file);
  file->persist_wal = -1;
  WrappedMethods(file)->xFileControl(file->real, SQLITE_FCNTL_PERSIST_WAL, &file->persist_wal);
  file->powersafe_overwrite = -1;
  WrappedMethods(file)->xFileControl(file->real, SQLITE_FCNTL_POWERSAFE_OVERWRITE,
                                     &file->powersafe_overwrite);
  file->sector_size = WrappedMethods(file)->xSectorSize(file->real);
  file->device_characteristics = WrappedMethods(file)->xDeviceCharacteristics(file->real);
  WrappedMethods(file)->xClose(file->real);
  file->real->pMethods = nullptr;
  file->parked = true;
  file->descriptor = -1;
}

int ParkableClose(sqlite3_file* file) {
  ParkableFile* self = AsParkable(file);
  if (self->held != nullptr) {
    // Closed before its image was synced: what it holds goes to its file now, which the close
    // below waits for. If that fails its commits are lost, and they were never acknowledged:
    // their flush waits for the image, and a connection whose image is pending closes only
    // with its object's reset (ObjectDatabase::image_pending).
    if (SettleHeldLog(self, /*image_durable=*/false) != SQLITE_OK) {
      Log(LogLevel::kError, std::string("the unacknowledged commits of ") + self->name +
                                " are dropped: its database could not be made durable");
      delete self->held;
      self->held = nullptr;
    }
  }
  if (self->parked) return SQLITE_OK;
  const int held = WriteHeldHeader(self);
  const int rc = WrappedMethods(self)->xClose(self->real);
  return held != SQLITE_OK ? held : rc;
}
// The wrapped file's own read and size, for storage/read_ahead.h.
int WrappedRead(void* real, void* buffer, int amount, sqlite3_int64 offset) {
  auto* file = static_cast<sqlite3_file*>(real);
  return file->pMethods->xRead(file, buffer, amount, offset);
}
int WrappedFileSize(void* real, sqlite3_int64* bytes) {
  auto* file = static_cast<sqlite3_file*>(real);
  return file->pMethods->xFileSize(file, bytes);
}

int ParkableRead(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  ParkableFile* self = AsParkable(file);
  if (self->held != nullptr) {
    return self->held->Read(buffer, static_cast<size_t>(amount), static_cast<uint64_t>(offset))
               ? SQLITE_OK
               : SQLITE_IOERR_SHORT_READ;
  }
  if (ReopenParked(self) != SQLITE_OK) return SQLITE_IOERR_READ;
  if (WriteHeldHeader(self) != SQLITE_OK) return SQLITE_IOERR_READ;
  return ReadWithReadAhead(&self->read_ahead, buffer, amount, offset, &WrappedRead,
                           &WrappedFileSize, self->real);
}
int ParkableWrite(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  ParkableFile* self = AsParkable(file);
  InvalidateReadAhead(&self->read_ahead);
  if (self->is_log && amount == PendingFrameHeader::kSize) {
    if (const uint32_t pages = CommitSizeInFrameHeader(buffer); pages != 0) {
      self->committed_pages = pages;
    }
  }
  if (self->held != nullptr) {
    if (self->held->Write(buffer, static_cast<size_t>(amount), static_cast<uint64_t>(offset))) {
      return SQLITE_OK;
    }
    // Past what a log is held for: the image is made durable here and the log written through.
    if (SettleHeldLog(self, /*image_durable=*/false) != SQLITE_OK) return SQLITE_IOERR_WRITE;
  }
  if (ReopenParked(self) != SQLITE_OK) return SQLITE_IOERR_WRITE;
  if (!self->is_log) return WrappedMethods(self)->xWrite(self->real, buffer, amount, offset);
  return WriteJoiningFrames(&self->pending, buffer, amount, offset, WrappedWrite{self});
}
int ParkableTruncate(sqlite3_file* file, sqlite3_int64 size) {
  ParkableFile* self = AsParkable(file);
  InvalidateReadAhead(&self->read_ahead);
  if (self->held != nullptr) {
    if (self->held->Truncate(static_cast<uint64_t>(size))) return SQLITE_OK;
    if (SettleHeldLog(self, /*image_durable=*/false) != SQLITE_OK) return SQLITE_IOERR_TRUNCATE;
  }
  if (ReopenParked(self) != SQLITE_OK) return SQLITE_IOERR_TRUNCATE;
  if (WriteHeldHeader(self) != SQLITE_OK) return SQLITE_IOERR_TRUNCATE;
  return WrappedMethods(self)->xTruncate(self->real, size);
}
int ParkableSync(sqlite3_file* file, int flags) {
  ParkableFile* self = AsParkable(file);
  // Commits do not sync (synchronous=OFF); a checkpoint does, before it copies the log's pages
  // into the database file: the image goes first.
  if (SettleHeldLog(self, /*image_durable=*/false) != SQLITE_OK) return SQLITE_IOERR_FSYNC;
  if (ReopenParked(self) != SQLITE_OK) return SQLITE_IOERR_FSYNC;
  if (WriteHeldHeader(self) != SQLITE_OK) return SQLITE_IOERR_FSYNC;
  return WrappedMethods(self)->xSync(self->real, flags);
}
int ParkableFileSize(sqlite3_file* file, sqlite3_int64* size) {
  ParkableFile* self = AsParkable(file);
  if (self->held != nullptr) {
    *size = static_cast<sqlite3_int64>(self->held->size());
    return SQLITE_OK;
  }
  if (ReopenParked(self) != SQLITE_OK) return SQLITE_IOERR_FSTAT;
  if (WriteHeldHeader(self) != SQLITE_OK) return SQLITE_IOERR_FSTAT;
  return WrappedMethods(self)->xFileSize(self->real, size);
}
// The wrapped VFS takes no locks (see the header): a parked file answers as it would.
int ParkableLock(sqlite3_file* file, int lock) {
  ParkableFile* self = AsParkable(file);
  return self->parked ? SQLITE_OK : WrappedMethods(self)->xLock(self->real, lock);
}
int ParkableUnlock(sqlite3_file* file, int lock) {
  ParkableFile* self = AsParkable(file);
  return self->parked ? SQLITE_OK : WrappedMethods(self)->xUnlock(self->real, lock);
}
int ParkableCheckReservedLock(sqlite3_file* file, int* out) {
  ParkableFile* self = AsParkable(file);
  if (self->parked) {
    *out = 0;
    return SQLITE_OK;
  }
  return WrappedMethods(self)->xCheckReservedLock(self->real, out);
}
int ParkableFileControl(sqlite3_file* file, int op, void* arg) {
  ParkableFile* self = AsParkable(file);
  if (self->held != nullptr && (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE)) {
    // They size the file on disk, which must wait for the image.
    if (SettleHeldLog(self, /*image_durable=*/false) != SQLITE_OK) return SQLITE_IOERR;
  }
  if (self->parked) {
    switch (op) {
      case SQLITE_FCNTL_PERSIST_WAL:
      case SQLITE_FCNTL_POWERSAFE_OVERWRITE: {
        int* value = static_cast<int*>(arg);
        int* kept =
            op == SQLITE_FCNTL_PERSIST_WAL ? &self->persist_wal : &self->powersafe_overwrite;
        if (*value < 0) {
          *value = *kept;
        } else {
          *kept = *value != 0;
        }
        return SQLITE_OK;
      }
      // What the unix VFS acts on: the file is needed.
      case SQLITE_FCNTL_LOCKSTATE:
      case SQLITE_FCNTL_LAST_ERRNO:
      case SQLITE_FCNTL_CHUNK_SIZE:
      case SQLITE_FCNTL_SIZE_HINT:
      case SQLITE_FCNTL_VFSNAME:
      case SQLITE_FCNTL_TEMPFILENAME:
      case SQLITE_FCNTL_HAS_MOVED:
      case SQLITE_FCNTL_MMAP_SIZE:
      case SQLITE_FCNTL_EXTERNAL_READER:
        if (ReopenParked(self) != SQLITE_OK) return SQLITE_IOERR;
        break;
      default:
        // Hints it ignores (SQLITE_FCNTL_SYNC, SQLITE_FCNTL_COMMIT_PHASETWO...): no reason to
        // open the file again for them.
        return SQLITE_NOTFOUND;
    }
  }
  if (WriteHeldHeader(self) != SQLITE_OK) return SQLITE_IOERR_WRITE;
  return WrappedMethods(self)->xFileControl(self->real, op, arg);
}
int ParkableSectorSize(sqlite3_file* file) {
  ParkableFile* self = AsParkable(file);
  return self->parked ? self->sector_size : WrappedMethods(self)->xSectorSize(self->real);
}
int ParkableDeviceCharacteristics(sqlite3_file* file) {
  ParkableFile* self = AsParkable(file);
  return self->parked ? self->device_characteristics
                      : WrappedMethods(self)->xDeviceCharacteristics(self->real);
}
// Shared memory is never used in exclusive locking mode; forwarded all the same.
int ParkableShmMap(sqlite3_file* file, int page, int page_size, int extend, void volatile** out) {
  ParkableFile* self = AsParkable(file);
  if (ReopenParked(self) != SQLITE_OK) return SQLITE_IOERR_SHMMAP;
  return WrappedMethods(self)->xShmMap(self->real, page, page_size, extend, out);
}
int ParkableShmLock(sqlite3_file* file, int offset, int n, int flags) {
  ParkableFile* self = AsParkable(file);
  if (ReopenParked(self) != SQLITE_OK) return SQLITE_IOERR_SHMLOCK;
  return WrappedMethods(self)->xShmLock(self->real, offset, n, flags);
}
void ParkableShmBarrier(sqlite3_file* file) {
  ParkableFile* self = AsParkable(file);
  if (!self->parked) WrappedMethods(self)->xShmBarrier(self->real);
}
int ParkableShmUnmap(sqlite3_file* file, int delete_flag) {
  ParkableFile* self = AsParkable(file);
  if (ReopenParked(self) != SQLITE_OK) return SQLITE_IOERR_SHMMAP;
  return WrappedMethods(self)->xShmUnmap(self->real, delete_flag);
}

// Version 2: no memory mapping (xFetch), which a park would pull from under SQLite.
const sqlite3_io_methods kParkableMethods = {
    2,
    ParkableClose,
    ParkableRead,
    ParkableWrite,
    ParkableTruncate,
    ParkableSync,
    ParkableFileSize,
    ParkableLock,
    ParkableUnlock,
    ParkableCheckReservedLock,
    ParkableFileControl,
    ParkableSectorSize,
    ParkableDeviceCharacteristics,
    ParkableShmMap,
    ParkableShmLock,
    ParkableShmBarrier,
    ParkableShmUnmap,
    nullptr,
    nullptr,
};

int ParkableOpen(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags,
                 int* out_flags) {
  auto* wrapped = static_cast<sqlite3_vfs*>(vfs->pAppData);
  if (name == nullptr || (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL)) == 0) {
    // Journals and temporary files: the wrapped VFS's, in the same block.
    return wrapped->xOpen(wrapped, name, file, flags, out_flags);
  }
  ParkableFile* self = AsParkable(file);
  self->base.pMethods = nullptr;  // until opened: SQLite then does not close it
  self->real =
      reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + sizeof(ParkableFile));
  self->real->pMethods = nullptr;
  int opened_flags = 0;
  self->wrapped = wrapped;
  int descriptor = -1;
  int rc = NotedOpen(self, name, flags, &opened_flags, &descriptor);
  if (rc != SQLITE_OK) {
    // The wrapped VFS may leave methods set on failure; they are its to close.
    if (self->real->pMethods) self->real->pMethods->xClose(self->real);
    return rc;
  }
  if (out_flags) *out_flags = opened_flags;
  self->name = name;
  self->descriptor = descriptor;
  int reopen = flags & ~(SQLITE_OPEN_CREATE | SQLITE_OPEN_EXCLUSIVE | SQLITE_OPEN_DELETEONCLOSE);
  if (opened_flags & SQLITE_OPEN_READONLY) {
    reopen = (reopen & ~SQLITE_OPEN_READWRITE) | SQLITE_OPEN_READONLY;
  }
  self->reopen_flags = reopen;
  self->parked = false;
  struct stat st {};
  if (IdentityOfOpened(name, descriptor, &st)) {
    self->device = st.st_dev;
    self->inode = st.st_ino;
  } else {
    // Unknown identity: never parked (ParkFiles refuses), so never reopened.
    self->device = 0;
    self->inode = 0;
  }
  self->persist_wal = 0;
  self->powersafe_overwrite = 0;
  self->sector_size = 0;
  self->device_characteristics = 0;
  self->is_log = (flags & SQLITE_OPEN_WAL) != 0;
  self->pending = PendingFrameHeader{};
  self->committed_pages = 0;
  self->held = nullptr;
  // Logs are read by frame, at offsets their index gives, never page after page.
  self->read_ahead = ReadAheadState{};
  if (!self->is_log) self->read_ahead.id = NewReadAheadId();
  self->base.pMethods = &kParkableMethods;
  return SQLITE_OK;
}

int ParkableFullPathname(sqlite3_vfs* vfs, const char* name, int out_size, char* out) {
  auto* wrapped = static_cast<sqlite3_vfs*>(vfs->pAppData);
  return wrapped->xFullPathname(wrapped, name, out_size, out);
}

// `db`'s main database file and its log, when both were opened through this VFS (else nullptr).
ParkableFile* ParkableMainFile(sqlite3* db, int op) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", op, &file) != SQLITE_OK || file == nullptr ||
      file->pMethods != &kParkableMethods) {
    return nullptr;
  }
  return AsParkable(file);
}

}  // namespace

void InstallParkableVfs() {
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_vfs* wrapped = sqlite3_vfs_find(UnlockedVfs());
    if (!wrapped) throw std::runtime_error("SQLite has no unlocked VFS to wrap");
    g_parkable_vfs = *wrapped;
    g_parkable_vfs.zName = kParkableVfs;
    g_parkable_vfs.szOsFile = static_cast<int>(sizeof(ParkableFile)) + wrapped->szOsFile;
    g_parkable_vfs.pNext = nullptr;
    g_parkable_vfs.pAppData = wrapped;
    g_parkable_vfs.xOpen = &ParkableOpen;
    g_parkable_vfs.xFullPathname = &ParkableFullPathname;
    NoteOpenedDescriptors();
    sqlite3_vfs_register(&g_parkable_vfs, /*makeDflt=*/0);
    g_parkable_installed.store(true, std::memory_order_release);
  });
}

const char* ParkableVfs() {
  return g_parkable_installed.load(std::memory_order_acquire) ? kParkableVfs : UnlockedVfs();
}

bool ParkFiles(sqlite3* db) {
  ParkableFile* database = ParkableMainFile(db, SQLITE_FCNTL_FILE_POINTER);
  ParkableFile* log = ParkableMainFile(db, SQLITE_FCNTL_JOURNAL_POINTER);
  if (!database || !log) return false;
  for (ParkableFile* file : {database, log}) {
    if (file->device == 0 && file->inode == 0) return false;
  }
  CloseForPark(database);
  CloseForPark(log);
  return true;
}

bool ParkDatabaseFile(sqlite3* db) {
  ParkableFile* database = ParkableMainFile(db, SQLITE_FCNTL_FILE_POINTER);
  if (!database || (database->device == 0 && database->inode == 0)) return false;
  CloseForPark(database);
  return true;
}

bool HoldLog(sqlite3* db) {
  ParkableFile* database = ParkableMainFile(db, SQLITE_FCNTL_FILE_POINTER);
  ParkableFile* log = ParkableMainFile(db, SQLITE_FCNTL_JOURNAL_POINTER);
  if (!database || !log || !log->is_log || log->held != nullptr || log->pending.held) return false;
  if (ReopenParked(log) != SQLITE_OK) return false;
  sqlite3_int64 size = -1;
  if (WrappedMethods(log)->xFileSize(log->real, &size) != SQLITE_OK || size != 0) return false;
  log->held = new (std::nothrow) HeldLog();
  return log->held != nullptr;
}

bool LogHeld(sqlite3* db) {
  ParkableFile* log = ParkableMainFile(db, SQLITE_FCNTL_JOURNAL_POINTER);
  return log != nullptr && log->held != nullptr;
}

int ReleaseHeldLog(sqlite3* db) {
  ParkableFile* log = ParkableMainFile(db, SQLITE_FCNTL_JOURNAL_POINTER);
  if (!log) return SQLITE_OK;
  return SettleHeldLog(log, /*image_durable=*/true);
}

DescriptorStatus OpenFileStatus(sqlite3* db, bool log) {
  DescriptorStatus status;
  ParkableFile* file =
      ParkableMainFile(db, log ? SQLITE_FCNTL_JOURNAL_POINTER : SQLITE_FCNTL_FILE_POINTER);
  if (!file || file->parked || file->descriptor < 0) return status;
  struct stat st {};
  if (::fstat(file->descriptor, &st) != 0) return status;
  status.known = true;
  status.linked = st.st_nlink > 0;
  status.device = static_cast<uint64_t>(st.st_dev);
  status.inode = static_cast<uint64_t>(st.st_ino);
  return status;
}

uint32_t TakeCommittedPages(sqlite3* db) {
  ParkableFile* log = ParkableMainFile(db, SQLITE_FCNTL_JOURNAL_POINTER);
  if (!log || !log->is_log) return 0;
  const uint32_t pages = log->committed_pages;
  log->committed_pages = 0;
  return pages;
}

int UnparkedFiles(sqlite3* db) {
  int count = 0;
  for (int op : {SQLITE_FCNTL_FILE_POINTER, SQLITE_FCNTL_JOURNAL_POINTER}) {
    if (ParkableFile* file = ParkableMainFile(db, op); file && !file->parked) ++count;
  }
  return count;
}

}  // namespace dorm::storage
