// The cluster's tables in PostgreSQL, created and migrated by Dorm.
//
//   schema_version(version)                  one row: the last migration applied
//   nodes(node PK, addr, lease_until, incarnation)
//                                            a node's lease, on PostgreSQL's clock, and
//                                            which process holds it
//   owners(object PK, node, epoch)           who may write an object; node NULL = released
//   log(object, seq, epoch, node, frames, db_size, checksum, PK(object, seq))
//                                            each committed transaction's WAL pages
//   snapshots(object, seq, image, checksum, PK(object, seq))
//                                            the database as of seq, and the chain's value there
//   alarms(object PK, at, name, retries)
//   control_changes(version PK, node, at, change)
//                                            the control plane's log (control_log.h)
//   control_key(id PK, key_check)            what every node's secrets key must give
//   usage_minutes(app, class, object_id, minute, node, instance, counters...)
//   usage_storage(app, class, object_id, instance, bytes)
//                                            every node's usage meters (control/cluster_usage.h)
//
// Migrations run in one transaction under an advisory lock, so nodes starting together apply
// each exactly once; a database migrated by a newer Dorm (a version this one does not know) is
// refused rather than written with the wrong assumptions.
//
// Threading: uses the caller's connection. Throws PgError.
#pragma once

#include "cluster/pg_connection.h"

namespace dorm::cluster {

// The version this build creates and expects.
int LatestSchemaVersion();

// Brings the schema to LatestSchemaVersion(). Returns the version found before (0 for an empty
// database). Throws PgError when the database is newer than this build.
int MigrateSchema(PgConnection& connection);

}  // namespace dorm::cluster
