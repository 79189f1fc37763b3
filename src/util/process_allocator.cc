#include "util/process_allocator.h"

#ifdef DORM_WITH_JEMALLOC
#include <jemalloc/jemalloc.h>

#include <cstdint>
#include <string>
#include <utility>
#else
#include <malloc.h>
#endif

#ifdef DORM_WITH_JEMALLOC
// Read by jemalloc before its first allocation. Freed pages go back to the system about 20 ms
// after they were freed (jemalloc's decay, purged by the arena's next allocations or by its
// background threads, two at most), instead of after its default ten seconds: with the default, a
// 61 MiB upload streamed through an object left the runtime's RSS 63 MiB higher, since the body's
// chunks were freed faster than they were reused. Not at once (a decay of 0, as before): each
// freed run of pages was then returned with its own madvise(), a TLB flush on every core, and
// faulted back in, zeroed, by the next allocation of its size. A 1,000-row SELECT answered as JSON
// spent 16% of the runtime's time in madvise() and 10% in page faults (1.25 madvise calls and 12.8
// faults a request, mostly for the response body freed once sent); with the decay, under 0.1 and
// about 1, and the server's CPU per request about half. The background threads also purge arenas
// that went quiet (in the runtime process too, which fork() starts without them:
// ResumeBackgroundPurgeAfterFork): after a 120 MB body the runtime's RSS is back where a decay of
// 0 leaves it within about 50 ms (it is higher until then; the tests that bound the RSS after a
// body read it after allocatorSettled(), tests/e2e/lib/dorm.mjs).
const char* malloc_conf =
    "dirty_decay_ms:20,muzzy_decay_ms:0,background_thread:true,max_background_threads:2";
#endif

namespace dorm::util {

#ifdef DORM_WITH_JEMALLOC

bool ProcessAllocatorIsJemalloc() { return true; }

void ReturnFreeMemoryToSystem() {
  // Without background threads jemalloc purges an arena's freed pages only as that arena is used
  // again (its decay advances with its own allocations), so an arena that went quiet keeps them.
  static const std::string purge_all = "arena." + std::to_string(MALLCTL_ARENAS_ALL) + ".purge";
  mallctl(purge_all.c_str(), nullptr, nullptr, nullptr, 0);
}

void ResumeBackgroundPurgeAfterFork() {
  bool on = true;
  mallctl("background_thread", nullptr, nullptr, &on, sizeof(on));
}

bool BackgroundPurgeIsOn() {
  bool on = false;
  size_t size = sizeof(on);
  return mallctl("background_thread", &on, &size, nullptr, 0) == 0 && on;
}

int ArenaOf(const void* block) {
  if (!block) return -1;
  unsigned index = 0;
  size_t size = sizeof(index);
  if (mallctl("arenas.lookup", &index, &size, &block, sizeof(block)) != 0) return -1;
  return static_cast<int>(index);
}

ArenaPages PagesOfArena(int arena) {
  ArenaPages pages;
  if (arena < 0) return pages;
  uint64_t epoch = 1;  // statistics are a snapshot taken when the epoch advances
  size_t epoch_size = sizeof(epoch);
  mallctl("epoch", &epoch, &epoch_size, &epoch, epoch_size);
  const std::string prefix = "stats.arenas." + std::to_string(arena) + ".";
  for (auto [name, field] : {std::pair{"pactive", &pages.active}, std::pair{"pdirty", &pages.dirty},
                             std::pair{"pmuzzy", &pages.muzzy}}) {
    size_t value = 0;
    size_t size = sizeof(value);
    if (mallctl((prefix + name).c_str(), &value, &size, nullptr, 0) == 0) *field = value;
  }
  return pages;
}

#else

namespace {

// glibc's malloc sets itself up at its first use, and makes the calling thread's arena the main
// one without counting that thread among the arena's. Where another allocator serves malloc
// (AddressSanitizer's, in the sanitized build), that first use is the first malloc_trim, on an
// engine thread, and two engine threads trimming for the first time at once both set it up: each
// took the main arena uncounted, and the second to exit failed glibc's assertion
// (`a->attached_threads > 0`) and aborted the process while it stopped. Set up here, on the main
// thread, before any other thread starts.
[[maybe_unused]] const int glibc_malloc_set_up = (malloc_trim(0), 0);

}  // namespace

bool ProcessAllocatorIsJemalloc() { return false; }

void ReturnFreeMemoryToSystem() { malloc_trim(0); }

void ResumeBackgroundPurgeAfterFork() {}

bool BackgroundPurgeIsOn() { return false; }

int ArenaOf(const void*) { return -1; }

ArenaPages PagesOfArena(int) { return {}; }

#endif

}  // namespace dorm::util
