// Alarms of objects whose owner is gone: the `alarms` table (written with the commits that set
// them, commit_batch.h) read back to find the alarms no live node will fire.
//
// An object's owner fires its alarms from its own schedule. When that owner dies (its lease runs
// out) or released its objects, nobody holds the object until a request comes; its due alarms
// must still fire. Every node runs FindOrphanedAlarms periodically and takes only the objects that
// rendezvous hashing assigns to it among the live nodes that are not draining, the same pick the
// directory makes for a new object, so two survivors never compete for one object. Taking it
// (object_ownership.h) still decides: a loser of a race sees the object owned elsewhere.
//
// Threading: uses the caller's connection; throws PgError.
#pragma once

#include <string>
#include <vector>

#include "cluster/pg_connection.h"

namespace dorm::cluster {

struct OrphanedAlarm {
  std::string object;
  long long at_ms = 0;  // milliseconds since the Unix epoch
};

// The alarms due within `lookahead_ms` of PostgreSQL's clock (or past due) of objects that no
// node with a live lease owns and that rendezvous hashing gives to `node`, earliest first, at
// most `limit` (read among the earliest `limit` orphaned alarms of all nodes). Empty when `node`
// itself is not live or is draining.
std::vector<OrphanedAlarm> FindOrphanedAlarms(PgConnection& connection, const std::string& node,
                                              long long lookahead_ms, int limit);

}  // namespace dorm::cluster
