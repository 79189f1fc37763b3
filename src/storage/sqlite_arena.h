// SQLite's memory kept apart from the rest of the process: a jemalloc arena of its own.
//
// Each object's database connection allocates tens of KiB (page cache, WAL index, schema,
// prepared statements) and frees them when it closes a second after its last use, while the
// objects it served keep their own small allocations for as long as they live. From one heap the
// two interleave: the connections' freed memory is left in pages that also hold a few live bytes
// of some object, which no trim can return, and idle objects then cost several times what they
// hold. From an arena of their own, the pages a closed connection freed hold nothing else and go
// back to the system whole.
#pragma once

#include <sqlite3.h>

namespace dorm::storage {

// Allocation methods over SQLite's arena, created on the first call (thread-safe). Blocks never
// pass through jemalloc's automatic per-thread caches, so that freed blocks return to the arena
// (or to a thread's cache of SQLite's own, below) rather than serve other allocations. nullptr
// when the process allocator is not jemalloc or the arena could not be created: SQLite then keeps
// its default allocator. Never throws.
const sqlite3_mem_methods* SqliteArenaMethods();

// Gives the calling thread a cache of SQLite's blocks of its own (a jemalloc explicit thread
// cache), for threads that open and close databases often (the engines'): without one, each of
// SQLite's allocations and frees takes the arena's lock, which made a new object's activation
// about a quarter more instructions. Other threads allocate from the arena directly. The cache is
// destroyed when the thread exits. Does nothing without the arena, or when already done.
void UseSqliteThreadCache();

// Returns the blocks in the calling thread's cache to the arena, so that a following purge
// (util::ReturnFreeMemoryToSystem) can give their pages back. Does nothing without a cache.
void FlushSqliteThreadCache();

// The arena's jemalloc index, or -1 without one (as above). For tests and diagnostics.
int SqliteArenaIndex();

}  // namespace dorm::storage
