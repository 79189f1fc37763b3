#include "cluster/wal_capture_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <optional>
#include <unordered_map>

namespace dorm::cluster {
namespace {

constexpr int kWalHeaderBytes = 32;
constexpr int kFrameHeaderBytes = 24;

uint32_t ReadU32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

bool IsPageSize(uint32_t size) { return size >= 512 && size <= 65536 && (size & (size - 1)) == 0; }

// What a main database file carries for its write-ahead log's tracker.
struct CaptureState {
  CommitCallback callback;
  size_t max_bytes = 64 << 20;
  // Frames of the log up to its last commit frame; 0 while the log is empty or starts over.
  // Unknown for a log opened with frames in it, until the first write shows where they end.
  uint32_t committed_frames = 0;
  bool committed_frames_known = true;
};

// Follows the frames written to one write-ahead log (see the header for the format).
class WalTracker {
 public:
  explicit WalTracker(CaptureState* state) : state_(state) {}

  void SetPageSize(uint32_t size) { page_size_ = IsPageSize(size) ? size : 0; }
  // Until the log starts over, every commit is reported as overflowed (ship the whole database).
  void Poison() { poisoned_ = true; }
  // The log was cut to nothing: it holds no committed frame until it starts over.
  void Emptied() {
    state_->committed_frames = 0;
    state_->committed_frames_known = true;
  }

  // Called after `bytes` were written at `offset`. False if the callback threw.
  bool OnWrite(const unsigned char* bytes, sqlite3_int64 count, sqlite3_int64 offset) {
    if (offset < kWalHeaderBytes) {
      // A new log (or one started over): its header gives the page size, and no frame of it
      // is committed yet.
      if (offset != 0 || count < kWalHeaderBytes) return true;
      SetPageSize(ReadU32(bytes + 8));
      pending_.clear();
      pending_bytes_ = 0;
      overflow_ = false;
      has_last_ = false;
      poisoned_ = false;
      last_commit_ = 0;
      state_->committed_frames = 0;
      state_->committed_frames_known = true;
      bytes += kWalHeaderBytes;
      count -= kWalHeaderBytes;
      offset += kWalHeaderBytes;
    }
    if (page_size_ == 0) return true;
    const sqlite3_int64 frame_bytes = kFrameHeaderBytes + sqlite3_int64{page_size_};
    while (count > 0) {
      sqlite3_int64 relative = offset - kWalHeaderBytes;
      uint32_t index = static_cast<uint32_t>(relative / frame_bytes) + 1;
      sqlite3_int64 within = relative % frame_bytes;
      sqlite3_int64 chunk = std::min(count, frame_bytes - within);
      // A log opened with frames in it: the first frame written follows its last commit.
      if (!last_commit_) {
        last_commit_ = index - 1;
        state_->committed_frames = index - 1;
        state_->committed_frames_known = true;
      }
      // Frames up to the last commit are only rewritten for their checksums: nothing to track.
      if (index > *last_commit_ && !Track(index, bytes, within, chunk)) return false;
      bytes += chunk;
      count -= chunk;
      offset += chunk;
    }
    return true;
  }

 private:
  struct Frame {
    uint32_t page_number = 0;
    uint32_t db_size = 0;  // non-zero on a commit frame
    bool has_header = false;
    sqlite3_int64 written = 0;  // page bytes written since the header
    std::string data;
  };

  bool Track(uint32_t index, const unsigned char* bytes, sqlite3_int64 within,
             sqlite3_int64 chunk) {
    Frame& frame = pending_[index];
    if (within == 0 && chunk >= kFrameHeaderBytes) {
      frame.page_number = ReadU32(bytes);
      frame.db_size = ReadU32(bytes + 4);
      frame.has_header = true;
      frame.written = 0;
    }
    sqlite3_int64 data_begin = std::max<sqlite3_int64>(within, kFrameHeaderBytes);
    sqlite3_int64 data_length = within + chunk - data_begin;
    if (data_length > 0) {
      if (!overflow_ && frame.data.empty()) {
        pending_bytes_ += page_size_;
        if (pending_bytes_ > state_->max_bytes) {
          overflow_ = true;
          for (auto& [_, f] : pending_) std::string().swap(f.data);
        } else {
          frame.data.resize(page_size_);
        }
      }
      if (!overflow_) {
        std::memcpy(frame.data.data() + (data_begin - kFrameHeaderBytes),
                    bytes + (data_begin - within), data_length);
      }
      frame.written += data_length;
    }
    if (frame.has_header && frame.db_size != 0 && frame.written >= page_size_) {
      return Commit(index);
    }
    return true;
  }

  bool Commit(uint32_t index) {
    const Frame& last = pending_[index];
    // A padding frame repeats the commit frame just reported, right after it.
    if (has_last_ && *last_commit_ + 1 == index && pending_.begin()->first == index && !overflow_ &&
        last.page_number == last_page_number_ && last.db_size == last_db_size_ &&
        last.data == last_data_) {
      Forget(index);
      return true;
    }
    CapturedCommit commit;
    commit.page_size = page_size_;
    commit.db_size = last.db_size;
    commit.overflow = overflow_ || poisoned_;
    std::unordered_map<uint32_t, size_t> position;
    for (auto it = pending_.begin(); it != pending_.end() && it->first <= index; ++it) {
      const Frame& frame = it->second;
      if (!frame.has_header || frame.written < page_size_ || frame.page_number == 0) {
        // Not a sequence of frames this tracker understands: report it as too large to ship as
        // pages, so that the caller falls back to the whole database.
        commit.overflow = true;
      }
      // Pages past the database's new end (written by the transaction before it shrank the
      // database) are cut off by the commit, as a checkpoint skips them.
      if (commit.overflow || frame.page_number > last.db_size) continue;
      auto [at, added] = position.emplace(frame.page_number, commit.pages.size());
      if (added) {
        commit.pages.push_back({frame.page_number, frame.data});
      } else {
        commit.pages[at->second].data = frame.data;
      }
    }
    if (commit.overflow) commit.pages.clear();
    // Copied first: once the callback has run, nothing may fail.
    std::string last_data = last.data;
    if (state_->callback) {
      try {
        state_->callback(commit);
      } catch (...) {
        return false;
      }
    }
    has_last_ = !overflow_;
    last_page_number_ = last.page_number;
    last_db_size_ = last.db_size;
    last_data_.swap(last_data);
    Forget(index);
    return true;
  }

  // Frames up to `index` are committed; any after it are left over from a rolled-back
  // transaction and will be written over.
  void Forget(uint32_t index) {
    last_commit_ = index;
    state_->committed_frames = index;
    pending_.clear();
    pending_bytes_ = 0;
    overflow_ = false;
  }

  CaptureState* state_;
  uint32_t page_size_ = 0;
  std::optional<uint32_t> last_commit_;
  std::map<uint32_t, Frame> pending_;
  size_t pending_bytes_ = 0;
  bool overflow_ = false;
  bool poisoned_ = false;
  bool has_last_ = false;
  uint32_t last_page_number_ = 0;
  uint32_t last_db_size_ = 0;
  std::string last_data_;
};

// The shim's file: its own header, then the wrapped VFS's file (szOsFile bytes).
struct ShimFile {
  sqlite3_file base;
  sqlite3_file* real;
  CaptureState* state;  // owned by the main database's file; borrowed by its log's
  WalTracker* tracker;  // the log's only
  bool owns_state;
};
static_assert(sizeof(ShimFile) % 8 == 0);

sqlite3_vfs* g_real = nullptr;
sqlite3_vfs g_vfs;
sqlite3_io_methods g_methods;

sqlite3_file* Real(sqlite3_file* file) { return reinterpret_cast<ShimFile*>(file)->real; }
const sqlite3_io_methods* RealMethods(sqlite3_file* file) { return Real(file)->pMethods; }

int ShimClose(sqlite3_file* file) {
  ShimFile* shim = reinterpret_cast<ShimFile*>(file);
  int rc = shim->real->pMethods ? shim->real->pMethods->xClose(shim->real) : SQLITE_OK;
  delete shim->tracker;
  if (shim->owns_state) delete shim->state;
  shim->tracker = nullptr;
  shim->state = nullptr;
  return rc;
}

int ShimRead(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
  return RealMethods(file)->xRead(Real(file), buffer, amount, offset);
}

// The tracker sees a write to the log before it reaches the file: if the commit's callback
// fails, the commit frame is never written, so the transaction cannot come back from the log when
// the database is opened again, committed locally without having been reported.
int ShimWrite(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
  WalTracker* tracker = reinterpret_cast<ShimFile*>(file)->tracker;
  if (tracker) {
    try {
      if (!tracker->OnWrite(static_cast<const unsigned char*>(buffer), amount, offset)) {
        return SQLITE_IOERR_WRITE;
      }
    } catch (...) {  // out of memory: what is tracked until the log starts over is unreliable
      tracker->Poison();
      return SQLITE_IOERR_NOMEM;
    }
  }
  return RealMethods(file)->xWrite(Real(file), buffer, amount, offset);
}

int ShimTruncate(sqlite3_file* file, sqlite3_int64 size) {
  ShimFile* shim = reinterpret_cast<ShimFile*>(file);
  // A log cut to nothing (a TRUNCATE checkpoint): every commit is in the database file.
  if (shim->tracker && size < kWalHeaderBytes) shim->tracker->Emptied();
  return RealMethods(file)->xTruncate(Real(file), size);
}
int ShimSync(sqlite3_file* file, int flags) { return RealMethods(file)->xSync(Real(file), flags); }
int ShimFileSize(sqlite3_file* file, sqlite3_int64* size) {
  return RealMethods(file)->xFileSize(Real(file), size);
}
int ShimLock(sqlite3_file* file, int level) { return RealMethods(file)->xLock(Real(file), level); }
int ShimUnlock(sqlite3_file* file, int level) {
  return RealMethods(file)->xUnlock(Real(file), level);
}
int ShimCheckReservedLock(sqlite3_file* file, int* out) {
  return RealMethods(file)->xCheckReservedLock(Real(file), out);
}
int ShimFileControl(sqlite3_file* file, int op, void* arg) {
  return RealMethods(file)->xFileControl(Real(file), op, arg);
}
int ShimSectorSize(sqlite3_file* file) { return RealMethods(file)->xSectorSize(Real(file)); }
int ShimDeviceCharacteristics(sqlite3_file* file) {
  return RealMethods(file)->xDeviceCharacteristics(Real(file));
}
int ShimShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return RealMethods(file)->xShmMap(Real(file), region, size, extend, out);
}
int ShimShmLock(sqlite3_file* file, int offset, int n, int flags) {
  return RealMethods(file)->xShmLock(Real(file), offset, n, flags);
}
void ShimShmBarrier(sqlite3_file* file) { RealMethods(file)->xShmBarrier(Real(file)); }
int ShimShmUnmap(sqlite3_file* file, int remove) {
  return RealMethods(file)->xShmUnmap(Real(file), remove);
}
// Memory-mapped reads only (SQLite never writes through a mapping), so they need no tracking.
int ShimFetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  return RealMethods(file)->xFetch(Real(file), offset, amount, out);
}
int ShimUnfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return RealMethods(file)->xUnfetch(Real(file), offset, page);
}

int ShimOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  ShimFile* shim = reinterpret_cast<ShimFile*>(file);
  shim->base.pMethods = nullptr;
  shim->real = reinterpret_cast<sqlite3_file*>(shim + 1);
  shim->real->pMethods = nullptr;
  shim->state = nullptr;
  shim->tracker = nullptr;
  shim->owns_state = false;
  int rc = g_real->xOpen(g_real, name, shim->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (shim->real->pMethods) shim->real->pMethods->xClose(shim->real);
    return rc;
  }
  // Every method is forwarded, so the wrapped file must have them all (the unix VFS's do).
  if (shim->real->pMethods->iVersion < 3) {
    shim->real->pMethods->xClose(shim->real);
    return SQLITE_CANTOPEN;
  }
  if (flags & SQLITE_OPEN_MAIN_DB) {
    shim->state = new (std::nothrow) CaptureState();
    if (!shim->state) {
      shim->real->pMethods->xClose(shim->real);
      return SQLITE_NOMEM;
    }
    shim->owns_state = true;
  } else if ((flags & SQLITE_OPEN_WAL) && name) {
    sqlite3_file* main = sqlite3_database_file_object(name);
    if (main && main->pMethods == &g_methods) {
      shim->state = reinterpret_cast<ShimFile*>(main)->state;
      shim->tracker = new (std::nothrow) WalTracker(shim->state);
      if (!shim->tracker) {
        shim->real->pMethods->xClose(shim->real);
        return SQLITE_NOMEM;
      }
      // A log that already has frames: its header tells their page size.
      sqlite3_int64 size = 0;
      unsigned char header[kWalHeaderBytes];
      if (shim->real->pMethods->xFileSize(shim->real, &size) == SQLITE_OK &&
          size >= kWalHeaderBytes &&
          shim->real->pMethods->xRead(shim->real, header, kWalHeaderBytes, 0) == SQLITE_OK) {
        shim->tracker->SetPageSize(ReadU32(header + 8));
        shim->state->committed_frames_known = false;
      }
    }
  }
  shim->base.pMethods = &g_methods;
  return SQLITE_OK;
}

int ShimDelete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_real->xDelete(g_real, name, sync_dir);
}
int ShimAccess(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_real->xAccess(g_real, name, flags, out);
}
int ShimFullPathname(sqlite3_vfs*, const char* name, int size, char* out) {
  return g_real->xFullPathname(g_real, name, size, out);
}
void* ShimDlOpen(sqlite3_vfs*, const char* name) { return g_real->xDlOpen(g_real, name); }
void ShimDlError(sqlite3_vfs*, int size, char* out) { g_real->xDlError(g_real, size, out); }
void (*ShimDlSym(sqlite3_vfs*, void* handle, const char* symbol))(void) {
  return g_real->xDlSym(g_real, handle, symbol);
}
void ShimDlClose(sqlite3_vfs*, void* handle) { g_real->xDlClose(g_real, handle); }
int ShimRandomness(sqlite3_vfs*, int size, char* out) {
  return g_real->xRandomness(g_real, size, out);
}
int ShimSleep(sqlite3_vfs*, int microseconds) { return g_real->xSleep(g_real, microseconds); }
int ShimCurrentTime(sqlite3_vfs*, double* out) { return g_real->xCurrentTime(g_real, out); }
int ShimGetLastError(sqlite3_vfs*, int size, char* out) {
  return g_real->xGetLastError ? g_real->xGetLastError(g_real, size, out) : 0;
}
int ShimCurrentTimeInt64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_real->xCurrentTimeInt64(g_real, out);
}

}  // namespace

bool RegisterWalCaptureVfs() {
  static std::once_flag once;
  static bool registered = false;
  std::call_once(once, [] {
    g_real = sqlite3_vfs_find(nullptr);
    if (!g_real || g_real->iVersion < 2) return;
    g_methods = sqlite3_io_methods{};
    g_methods.iVersion = 3;
    g_methods.xClose = ShimClose;
    g_methods.xRead = ShimRead;
    g_methods.xWrite = ShimWrite;
    g_methods.xTruncate = ShimTruncate;
    g_methods.xSync = ShimSync;
    g_methods.xFileSize = ShimFileSize;
    g_methods.xLock = ShimLock;
    g_methods.xUnlock = ShimUnlock;
    g_methods.xCheckReservedLock = ShimCheckReservedLock;
    g_methods.xFileControl = ShimFileControl;
    g_methods.xSectorSize = ShimSectorSize;
    g_methods.xDeviceCharacteristics = ShimDeviceCharacteristics;
    g_methods.xShmMap = ShimShmMap;
    g_methods.xShmLock = ShimShmLock;
    g_methods.xShmBarrier = ShimShmBarrier;
    g_methods.xShmUnmap = ShimShmUnmap;
    g_methods.xFetch = ShimFetch;
    g_methods.xUnfetch = ShimUnfetch;
    g_vfs = sqlite3_vfs{};
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(sizeof(ShimFile)) + g_real->szOsFile;
    g_vfs.mxPathname = g_real->mxPathname;
    g_vfs.zName = kWalCaptureVfs;
    g_vfs.xOpen = ShimOpen;
    g_vfs.xDelete = ShimDelete;
    g_vfs.xAccess = ShimAccess;
    g_vfs.xFullPathname = ShimFullPathname;
    g_vfs.xDlOpen = ShimDlOpen;
    g_vfs.xDlError = ShimDlError;
    g_vfs.xDlSym = ShimDlSym;
    g_vfs.xDlClose = ShimDlClose;
    g_vfs.xRandomness = ShimRandomness;
    g_vfs.xSleep = ShimSleep;
    g_vfs.xCurrentTime = ShimCurrentTime;
    g_vfs.xGetLastError = ShimGetLastError;
    g_vfs.xCurrentTimeInt64 = ShimCurrentTimeInt64;
    registered = sqlite3_vfs_register(&g_vfs, 0) == SQLITE_OK;
  });
  return registered;
}

bool SetCommitCallback(sqlite3* db, CommitCallback callback, size_t max_bytes) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file ||
      file->pMethods != &g_methods) {
    return false;
  }
  CaptureState* state = reinterpret_cast<ShimFile*>(file)->state;
  state->callback = std::move(callback);
  state->max_bytes = max_bytes;
  return true;
}

std::optional<uint32_t> CommittedWalFrames(sqlite3* db) {
  sqlite3_file* file = nullptr;
  if (sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &file) != SQLITE_OK || !file ||
      file->pMethods != &g_methods) {
    return std::nullopt;
  }
  const CaptureState* state = reinterpret_cast<ShimFile*>(file)->state;
  if (!state->committed_frames_known) return std::nullopt;
  return state->committed_frames;
}

}  // namespace dorm::cluster
