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
  std::string name;     // the name the object was reached by; empty if unknown
  int retries = 0;      // the retries the alarm has had (NoteAlarmRetry)
};

// The alarms due within `lookahead_ms` of PostgreSQL's clock (or past due) of objects that no
// node with a live lease owns and that rendezvous hashing gives to `node`, earliest first, at
// most `limit` (read among the earliest `limit` orphaned alarms of all nodes). Empty when `node`
// itself is not live or is draining.
std::vector<OrphanedAlarm> FindOrphanedAlarms(PgConnection& connection, const std::string& node,
                                              long long lookahead_ms, int limit);

// The retries the alarm of `object` has had (NoteAlarmRetry); 0 if it has no alarm.
int AlarmRetries(PgConnection& connection, const std::string& object);

// Records that the alarm at `at_ms` of `object`, which `node` owns, failed and is retried as retry
// number `retries`, so that a node taking the object goes on counting from there. Does nothing if
// `node` no longer owns the object or the alarm was moved or deleted meanwhile.
void NoteAlarmRetry(PgConnection& connection, const std::string& node, const std::string& object,
                    long long at_ms, int retries);

}  // namespace dorm::cluster
