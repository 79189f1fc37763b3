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

int g_flags = 0;  // MALLOCX_ARENA(index) | MALLOCX_TCACHE_NONE, set before the methods are used

// SQLite never asks for 0 bytes (sqlite3Malloc answers those itself), and mallocx(0) is
// undefined: refused here all the same.
void* ArenaMalloc(int bytes) {
  return bytes > 0 ? mallocx(static_cast<size_t>(bytes), g_flags) : nullptr;
}
void ArenaFree(void* p) {
  if (p) dallocx(p, g_flags);
}
void* ArenaRealloc(void* p, int bytes) {
  if (bytes <= 0) return nullptr;  // sqlite3Realloc frees for 0 itself
  return rallocx(p, static_cast<size_t>(bytes), g_flags);
}
int ArenaSize(void* p) { return p ? static_cast<int>(sallocx(p, 0)) : 0; }
int ArenaRoundup(int bytes) {
  if (bytes <= 0) return bytes;
  size_t rounded = nallocx(static_cast<size_t>(bytes), g_flags);
  return rounded == 0 || rounded > 0x7fffffff ? bytes : static_cast<int>(rounded);
}
int ArenaInit(void*) { return SQLITE_OK; }
void ArenaShutdown(void*) {}

struct Arena {
  int index = CreateArena();
  sqlite3_mem_methods methods{&ArenaMalloc,  &ArenaFree, &ArenaRealloc,  &ArenaSize,
                              &ArenaRoundup, &ArenaInit, &ArenaShutdown, nullptr};
  Arena() {
    if (index >= 0) g_flags = MALLOCX_ARENA(index) | MALLOCX_TCACHE_NONE;
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

#else

const sqlite3_mem_methods* SqliteArenaMethods() { return nullptr; }
int SqliteArenaIndex() { return -1; }

#endif

}  // namespace dorm::storage
