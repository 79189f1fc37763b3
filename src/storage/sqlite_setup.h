// Process-wide SQLite configuration for many small databases. Call once, before any database is
// opened (SQLite accepts it only before its initialization); later calls do nothing. Besides the
// memory settings, the unix VFS's fchown() of a write-ahead log it opens (done only when running
// as root) is skipped when the log has the wanted owner already (see sqlite_setup.cc).
#pragma once

namespace dorm::storage {

void ConfigureSqliteForManyDatabases();

}  // namespace dorm::storage
