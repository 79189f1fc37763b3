#include "storage/sqlite_setup.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <mutex>

#include "storage/sqlite_arena.h"
#include "storage/unix_system_call.h"

namespace dorm::storage {
namespace {

// The allocator under SQLite: its arena's (sqlite_arena.h), else SQLite's default; wrapped by
// RoundUpLargeAllocations.
sqlite3_mem_methods g_default_allocator;

// SQLite grows a string it builds (printf(), replace(), group_concat(), a value's buffer) to
// exactly the size needed once it is past half of SQLITE_LIMIT_LENGTH, and uses the rest of what
// the allocator handed out before asking again. With only what it asked for, each small append
// near the limit is one realloc of megabytes: about 230,000 of them for one printf() near the
// 4 MiB limit, each a full copy wherever realloc cannot grow in place. Rounding large requests up
// to the next eighth of their power of two bounds that to eight reallocs per doubling, for at most
// 12.5% more memory on allocations of 64 KiB and more.
int RoundUpLargeAllocations(int bytes) {
  int rounded = g_default_allocator.xRoundup(bytes);
  constexpr int kLarge = 64 << 10;
  if (rounded < kLarge || rounded > (1 << 29)) return rounded;
  int power = kLarge;
  while (power * 2 <= rounded) power *= 2;
  int step = power / 8;
  return (rounded + step - 1) / step * step;
}

// SQLite's unix VFS, run as root, gives every write-ahead log it opens the owner of its database
// file with fchown(), even when the log has that owner already. fchown() always changes the
// inode's change time, so each open of a log dirtied its inode, which the next flush's syncfs()
// then wrote back: with connections parked and reopened per request, one fchown() and one
// inode write-back per request. The owner is changed only when it differs.
using FchownCall = int (*)(int, uid_t, gid_t);
sqlite3_syscall_ptr g_sqlite_fchown = nullptr;  // a FchownCall

int FchownWhenDifferent(int fd, uid_t owner, gid_t group) {
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_uid == owner && st.st_gid == group) return 0;
  return reinterpret_cast<FchownCall>(g_sqlite_fchown)(fd, owner, group);
}

void SkipNeedlessFchown() {
  // The unix VFSes share one table of system calls: set once, for all of them.
  ReplaceUnixSystemCall("fchown", reinterpret_cast<sqlite3_syscall_ptr>(&FchownWhenDifferent),
                        &g_sqlite_fchown);
}

}  // namespace

void ConfigureSqliteForManyDatabases() {
  static std::once_flag once;
  std::call_once(once, [] {
    // By default every connection allocates 20 pages of cache (about 86 KiB) and a 120 KiB
    // lookaside arena up front. An object's database is tiny and thousands may be open, so pages
    // are allocated as they are used and the lookaside arena is small.
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);
    sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 128, 16);
    // Nothing reads SQLite's memory statistics (sqlite3_memory_used() and the soft heap limit are
    // not used), and keeping them takes a process-wide mutex on every allocation and free: about
    // a sixth of the instructions of opening a database, and contention between the threads.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    // Where the process allocator is jemalloc, SQLite allocates from an arena of its own, so that
    // the memory a closed connection frees returns to the system (sqlite_arena.h).
    bool have_allocator = true;
    if (const sqlite3_mem_methods* arena = SqliteArenaMethods()) {
      g_default_allocator = *arena;
    } else {
      have_allocator = sqlite3_config(SQLITE_CONFIG_GETMALLOC, &g_default_allocator) == SQLITE_OK;
    }
    if (have_allocator) {
      static sqlite3_mem_methods rounded_allocator = g_default_allocator;
      rounded_allocator.xRoundup = &RoundUpLargeAllocations;
      sqlite3_config(SQLITE_CONFIG_MALLOC, &rounded_allocator);
    }
    sqlite3_initialize();
    SkipNeedlessFchown();
  });
}

}  // namespace dorm::storage
