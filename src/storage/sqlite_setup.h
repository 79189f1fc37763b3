// Process-wide SQLite configuration for many small databases. Call once, before any database is
// opened (SQLite accepts it only before its initialization); later calls do nothing.
#pragma once

namespace dorm::storage {

void ConfigureSqliteForManyDatabases();

}  // namespace dorm::storage
