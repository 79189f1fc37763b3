// The cluster's control-plane log in PostgreSQL: every admin change (a deploy, a class deleted, an
// env var set, a service key made...) as one row of `control_changes`, numbered by a version
// that grows by one per change with no gap. Every node applies the rows in version order to its
// local registry, env and credential databases, which are thereby a cache of the log.
//
// Appends are serialized by a transaction-scoped advisory lock: Begin() takes it, so between
// Begin() and Commit() no other node appends, and the appender may first bring itself up to the
// log's end (Since) and then write its change as the next version. Since a version is only
// written under the lock, after every lower one committed, a reader without the lock always sees
// a prefix of the log with no hole.
//
// Compaction: a snapshot is the whole control state as of a version (every change up to it
// applied). WriteSnapshot() stores one, under the append lock, and deletes the changes at or
// below its version and the older snapshots, in the appender's transaction: a reader sees the log
// before or after, never half of it. A reader that finds the change after its applied version
// missing (Since() starts later) was overtaken by a compaction: it loads the latest snapshot,
// whose version is then past its own, and applies the changes after it. Versions keep growing
// across a compaction (Latest() and Append() count the snapshots' versions too).
//
// A change's and a snapshot's bytes are opaque here (the admin service seals them with the
// secrets key, so the database alone does not disclose env values or keys).
//
// Threading: one thread at a time uses a ControlLog (it owns one PostgreSQL session). Every method
// may throw PgError; after a PgError the transaction (if any) is gone.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cluster/pg_session.h"

namespace dorm::cluster {

// Append() notifies this channel (delivered when the transaction commits): LISTEN to it to learn
// of new changes at once.
inline constexpr char kControlChannel[] = "dorm_control";

struct ControlChange {
  long long version = 0;
  std::string node;    // the node that appended it
  std::string change;  // as given to Append
};

// A change made under a client's idempotency key (Idempotency-Key).
struct IdempotentChange {
  std::string request;                // as given to RecordIdempotencyKey
  long long version = 0;              // the change
  std::optional<std::string> answer;  // as given to StoreIdempotentAnswer, once it was
};

struct ControlSnapshot {
  long long version = 0;  // every change up to it is in `snapshot`
  std::string node;       // the node that wrote it
  std::string snapshot;   // as given to WriteSnapshot
};

class ControlLog {
 public:
  explicit ControlLog(const std::string& conninfo);

  // The newest version, of a change or a snapshot (0 for an empty log).
  long long Latest();
  // Up to `limit` changes after `version`, oldest first. The first one is not `version` + 1 when
  // a compaction deleted it: LatestSnapshot() then holds it.
  std::vector<ControlChange> Since(long long version, int limit);
  // The newest snapshot, if any.
  std::optional<ControlSnapshot> LatestSnapshot();
  // The newest snapshot's version (0 when there is none).
  long long SnapshotVersion();

  // Compares `check` (a value derived from this node's secrets key) with the cluster's, writing
  // it first when the cluster has none. Returns false when they differ.
  bool CheckKey(const std::string& check);

  // Opens a transaction holding the append lock.
  void Begin();
  // Inside Begin(): deletes every object whose key starts with `prefix` (their ownership, log,
  // snapshots and alarms), or gives them keys starting with `to_prefix` instead.
  void DeleteObjects(const std::string& prefix);
  void MoveObjects(const std::string& prefix, const std::string& to_prefix);
  // Inside Begin(): forgets the storage sizes the usage meters hold for a class of an app.
  void ForgetUsageStorage(const std::string& app, const std::string& class_name);
  // Inside Begin(): writes `change` as the next version under `id` (an id may be in the log once:
  // a second Append of it fails the transaction), notifies kControlChannel and returns the version.
  long long Append(const std::string& node, const std::string& id, const std::string& change);
  // Inside Begin(): the change made under `key` for `app` in the last 24 hours, if any.
  std::optional<IdempotentChange> FindIdempotencyKey(const std::string& app,
                                                     const std::string& key);
  // Inside Begin(), after Append: records `version` as the change made under `key` for `app`,
  // for `request` (replacing an entry older than 24 hours).
  void RecordIdempotencyKey(const std::string& app, const std::string& key,
                            const std::string& request, long long version);
  // Outside a transaction: the answer the change made under `key` had.
  void StoreIdempotentAnswer(const std::string& app, const std::string& key, long long version,
                             const std::string& answer);
  // Inside Begin(): stores `snapshot` as the state at `version` (which must be the log's end: the
  // caller applied every change under the lock), then deletes the changes at or below it, every
  // older snapshot and the idempotency keys older than 24 hours.
  void WriteSnapshot(const std::string& node, long long version, const std::string& snapshot);
  // Ends the transaction. A PgError with connection_lost() leaves the outcome unknown: Find() reads
  // it back.
  void Commit();
  // The server process that ran the transaction Begin() opened last (0 before any): what Find()
  // must end after that transaction's COMMIT lost its connection.
  int backend_pid() const { return pid_; }
  // After a Commit() whose outcome is unknown: ends the server process `pid` that ran the
  // transaction (unless 0), waiting until it is gone so that it can no longer commit, then returns
  // the version under which `id` is in the log, or nullopt when it is not (and never will be).
  // Tries for about a second; throws PgError when the outcome still cannot be known (PostgreSQL
  // unreachable, or the process would not end).
  std::optional<long long> Find(const std::string& id, int pid);
  // Ends the transaction without writing anything (errors are swallowed).
  void Rollback() noexcept;

 private:
  PgSession session_;
  int pid_ = 0;
};

}  // namespace dorm::cluster
