#include "storage/sqlite_setup.h"

#include <sqlite3.h>

#include <mutex>

namespace dorm::storage {

void ConfigureSqliteForManyDatabases() {
  static std::once_flag once;
  std::call_once(once, [] {
    // By default every connection allocates 20 pages of cache (about 86 KiB) and a 120 KiB
    // lookaside arena up front. An object's database is tiny and thousands may be open, so pages
    // are allocated as they are used and the lookaside arena is small.
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);
    sqlite3_config(SQLITE_CONFIG_LOOKASIDE, 128, 16);
    sqlite3_initialize();
  });
}

}  // namespace dorm::storage
