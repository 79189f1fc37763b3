#include "storage/temp_file_limit.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>

#include "storage/object_file_name.h"

namespace dorm::storage {

namespace {

// The wrappers: over the previous default, and over "unix-none". Each one's pAppData is the
// VFS it wraps.
sqlite3_vfs g_vfs;
sqlite3_vfs g_unlocked_vfs;
std::atomic<int64_t> g_max_bytes{0};

// A temporary file: the wrapped VFS's own file object follows this header in the same block
// (g_vfs.szOsFile covers both).
struct TempFile {
  sqlite3_file base;
  sqlite3_file* real;
};

sqlite3_file* Real(sqlite3_file* file) { return reinterpret_cast<TempFile*>(file)->real; }

int TempClose(sqlite3_file* file) { return Real(file)->pMethods->xClose(Real(file)); }
int TempRead(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  return Real(file)->pMethods->xRead(Real(file), buffer, amount, offset);
}
int TempWrite(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  if (offset + amount > g_max_bytes.load(std::memory_order_relaxed)) return SQLITE_FULL;
  return Real(file)->pMethods->xWrite(Real(file), buffer, amount, offset);
}
int TempTruncate(sqlite3_file* file, sqlite3_int64 size) {
  return Real(file)->pMethods->xTruncate(Real(file), size);
}
int TempSync(sqlite3_file* file, int flags) {
  return Real(file)->pMethods->xSync(Real(file), flags);
}
int TempFileSize(sqlite3_file* file, sqlite3_int64* size) {
  return Real(file)->pMethods->xFileSize(Real(file), size);
}
int TempLock(sqlite3_file* file, int lock) { return Real(file)->pMethods->xLock(Real(file), lock); }
int TempUnlock(sqlite3_file* file, int lock) {
  return Real(file)->pMethods->xUnlock(Real(file), lock);
}
int TempCheckReservedLock(sqlite3_file* file, int* out) {
  return Real(file)->pMethods->xCheckReservedLock(Real(file), out);
}
int TempFileControl(sqlite3_file* file, int op, void* arg) {
  // The sorter asks for its runs to be mapped; they are read through the page cache instead.
  if (op == SQLITE_FCNTL_MMAP_SIZE) {
    *static_cast<sqlite3_int64*>(arg) = 0;
    return SQLITE_OK;
  }
  return Real(file)->pMethods->xFileControl(Real(file), op, arg);
}
int TempSectorSize(sqlite3_file* file) { return Real(file)->pMethods->xSectorSize(Real(file)); }
int TempDeviceCharacteristics(sqlite3_file* file) {
  return Real(file)->pMethods->xDeviceCharacteristics(Real(file));
}

// Version 1: no shared memory (temporary files are private) and no memory mapping.
const sqlite3_io_methods kTempMethods = {
    1,
    TempClose,
    TempRead,
    TempWrite,
    TempTruncate,
    TempSync,
    TempFileSize,
    TempLock,
    TempUnlock,
    TempCheckReservedLock,
    TempFileControl,
    TempSectorSize,
    TempDeviceCharacteristics,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

constexpr int kTemporaryKinds = SQLITE_OPEN_TEMP_DB | SQLITE_OPEN_TRANSIENT_DB |
                                SQLITE_OPEN_TEMP_JOURNAL | SQLITE_OPEN_SUBJOURNAL;

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* real = static_cast<sqlite3_vfs*>(vfs->pAppData);
  if (name != nullptr && (flags & kTemporaryKinds) == 0) {
    // A database, its log or its journal: the wrapped VFS's own file, in the same block.
    return real->xOpen(real, name, file, flags, out_flags);
  }
  auto* temp = reinterpret_cast<TempFile*>(file);
  temp->base.pMethods = nullptr;  // until opened: SQLite then does not close it
  temp->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + sizeof(TempFile));
  int rc = real->xOpen(real, name, temp->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    // The wrapped VFS may leave methods set on failure; they are its to close.
    if (temp->real->pMethods) temp->real->pMethods->xClose(temp->real);
    return rc;
  }
  temp->base.pMethods = &kTempMethods;
  return SQLITE_OK;
}

void Wrap(sqlite3_vfs* real, const char* name, sqlite3_vfs* wrapper) {
  *wrapper = *real;
  wrapper->zName = name;
  wrapper->szOsFile = static_cast<int>(sizeof(TempFile)) + real->szOsFile;
  wrapper->pNext = nullptr;
  wrapper->pAppData = real;
  wrapper->xOpen = &Open;
}

}  // namespace

const char kUnlockedTempLimitVfs[] = "dorm-temp-limit-unlocked";

void InstallTempFileLimit(int64_t max_bytes) {
  static std::once_flag once;
  g_max_bytes.store(max_bytes);
  std::call_once(once, [] {
    sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
    if (!real) throw std::runtime_error("SQLite has no default VFS");
    sqlite3_vfs* unlocked = sqlite3_vfs_find(kUnlockedVfs);
    if (!unlocked) throw std::runtime_error("SQLite has no unix-none VFS");
    Wrap(real, "dorm-temp-limit", &g_vfs);
    Wrap(unlocked, kUnlockedTempLimitVfs, &g_unlocked_vfs);
    // Object databases only: their paths need no symbolic links resolved (object_file_name.h).
    g_unlocked_vfs.xFullPathname = &ObjectFullPathname;
    sqlite3_vfs_register(&g_unlocked_vfs, /*makeDflt=*/0);
    sqlite3_vfs_register(&g_vfs, /*makeDflt=*/1);
  });
}

const char* UnlockedVfs() {
  return sqlite3_vfs_find(kUnlockedTempLimitVfs) != nullptr ? kUnlockedTempLimitVfs : kUnlockedVfs;
}

}  // namespace dorm::storage
