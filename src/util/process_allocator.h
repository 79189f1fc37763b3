// The process's allocator: jemalloc in builds that link it (every build but the sanitized and
// fuzzing ones, whose runtimes replace malloc themselves), glibc's malloc otherwise. What differs
// between the two for the rest of the server is only how free memory goes back to the system.
#pragma once

#include <cstddef>

namespace dorm::util {

// True when malloc() is jemalloc's (the build linked it).
bool ProcessAllocatorIsJemalloc();

// Returns the allocator's free pages to the system now: every jemalloc arena's unused dirty and
// muzzy pages, or glibc's malloc_trim(0). Each returned page costs a TLB flush on every core and,
// if used again, a page fault: callers do this when the thread is quiet. Thread-safe; never throws.
void ReturnFreeMemoryToSystem();

// Turns the allocator's background purging back on in a process made by fork() without exec:
// jemalloc turns its background threads off in the child (only the forking thread survives a
// fork), and freed pages would then go back to the system only as each arena allocates again.
// Call in the child before it starts threads of its own. Does nothing without jemalloc.
// Never throws.
void ResumeBackgroundPurgeAfterFork();

// True when jemalloc's background threads are on (purging freed pages on their own); false
// without jemalloc.
bool BackgroundPurgeIsOn();

// jemalloc's arena holding `block` (a live block from malloc() or an arena's methods); -1 without
// jemalloc or for a pointer it does not know. For tests and diagnostics.
int ArenaOf(const void* block);

// One jemalloc arena's pages, read fresh at the call: in use by live blocks (active), freed but
// still held (dirty, muzzy). All 0 without jemalloc or for an index that names no arena.
struct ArenaPages {
  size_t active = 0;
  size_t dirty = 0;
  size_t muzzy = 0;
};
ArenaPages PagesOfArena(int arena);

}  // namespace dorm::util
