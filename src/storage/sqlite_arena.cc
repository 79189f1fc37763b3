#include "storage/sqlite_arena.h"

#ifdef DORM_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>

#include <string>
#endif

namespace dorm::storage {

#ifdef DORM_WITH_JEMALLOC
namespace {

// Freed pages of the arena are returned (madvise) within about a second of activity in it, and
// straight away rather than first marked lazily free (MADV_FREE pages still count in the RSS
// until the kernel needs them). An arena gone quiet is purged by the engine's memory release.
constexpr ssize_t kDirtyDecayMs = 1000;
constexpr ssize_t kMuzzyDecayMs = 0;

int CreateArena() {
  unsigned index = 0;
  size_t size = sizeof(index);
  if (mallctl("arenas.create", &index, &size, nullptr, 0) != 0) return -1;
  const std::string prefix = "arena." + std::to_string(index) + ".";
  ssize_t dirty = kDirtyDecayMs;
  ssize_t muzzy = kMuzzyDecayMs;
  mallctl((prefix + "dirty_decay_ms").c_str(), nullptr, nullptr, &dirty, sizeof(dirty));
  mallctl((prefix + "muzzy_decay_ms").c_str(), nullptr, nullptr, &muzzy, sizeof(muzzy));
  return static_cast<int>(index);
}

int g_arena_flag = 0;  // MALLOCX_ARENA(index), set before the methods are used

// The calling thread's explicit cache (MALLOCX_TCACHE), or MALLOCX_TCACHE_NONE. A plain int, so
// that frees after the owner below was destroyed at thread exit still read it (as NONE).
thread_local int t_cache_flag = MALLOCX_TCACHE_NONE;
thread_local unsigned t_cache_index = 0;

struct ThreadCacheOwner {
  ~ThreadCacheOwner() {
    if (t_cache_flag == MALLOCX_TCACHE_NONE) return;
    t_cache_flag = MALLOCX_TCACHE_NONE;
    mallctl("tcache.destroy", nullptr, nullptr, &t_cache_index, sizeof(t_cache_index));
  }
};
thread_local ThreadCacheOwner t_cache_owner;

int Flags() { return g_arena_flag | t_cache_flag; }

// SQLite never asks for 0 bytes (sqlite3Malloc answers those itself), and mallocx(0) is
// undefined: refused here all the same.
void* ArenaMalloc(int bytes) {
  return bytes > 0 ? mallocx(static_cast<size_t>(bytes), Flags()) : nullptr;
}
void ArenaFree(void* p) {
  if (p) dallocx(p, Flags());
}
void* ArenaRealloc(void* p, int bytes) {
  if (bytes <= 0) return nullptr;  // sqlite3Realloc frees for 0 itself
  return rallocx(p, static_cast<size_t>(bytes), Flags());
}
int ArenaSize(void* p) { return p ? static_cast<int>(sallocx(p, 0)) : 0; }
int ArenaRoundup(int bytes) {
  if (bytes <= 0) return bytes;
  size_t rounded = nallocx(static_cast<size_t>(bytes), g_arena_flag);
  return rounded == 0 || rounded > 0x7fffffff ? bytes : static_cast<int>(rounded);
}
int ArenaInit(void*) { return SQLITE_OK; }
void ArenaShutdown(void*) {}

struct Arena {
  int index = CreateArena();
  sqlite3_mem_methods methods{&ArenaMalloc,  &ArenaFree, &ArenaRealloc,  &ArenaSize,
                              &ArenaRoundup, &ArenaInit, &ArenaShutdown, nullptr};
  Arena() {
    if (index >= 0) g_arena_flag = MALLOCX_ARENA(index);
  }
};

const Arena& TheArena() {
  static const Arena arena;
  return arena;
}

}  // namespace

const sqlite3_mem_methods* SqliteArenaMethods() {
  const Arena& arena = TheArena();
  return arena.index >= 0 ? &arena.methods : nullptr;
}

int SqliteArenaIndex() { return TheArena().index; }

void UseSqliteThreadCache() {
  if (TheArena().index < 0 || t_cache_flag != MALLOCX_TCACHE_NONE) return;
  unsigned index = 0;
  size_t size = sizeof(index);
  if (mallctl("tcache.create", &index, &size, nullptr, 0) != 0) return;
  (void)&t_cache_owner;  // constructs it, so that its destructor runs at thread exit
  t_cache_index = index;
  t_cache_flag = MALLOCX_TCACHE(index);
}

void FlushSqliteThreadCache() {
  if (t_cache_flag == MALLOCX_TCACHE_NONE) return;
  mallctl("tcache.flush", nullptr, nullptr, &t_cache_index, sizeof(t_cache_index));
}

#else

const sqlite3_mem_methods* SqliteArenaMethods() { return nullptr; }
int SqliteArenaIndex() { return -1; }
void UseSqliteThreadCache() {}
void FlushSqliteThreadCache() {}

#endif

}  // namespace dorm::storage
