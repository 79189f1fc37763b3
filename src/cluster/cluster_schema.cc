#include "cluster/cluster_schema.h"

#include <iterator>

namespace dorm::cluster {
namespace {

// Migration i (1-based) brings the schema from version i-1 to i. Never edit one that has
// shipped: add the next.
const char* const kMigrations[] = {
    // 1: ownership, the commit log and what restores and alarms need.
    R"sql(
CREATE TABLE nodes (
  node text PRIMARY KEY,
  addr text NOT NULL,
  lease_until timestamptz NOT NULL,
  incarnation text NOT NULL
);
CREATE TABLE owners (
  object text PRIMARY KEY,
  node text,
  epoch bigint NOT NULL CHECK (epoch > 0)
);
CREATE INDEX owners_by_node ON owners (node);
CREATE TABLE log (
  object text NOT NULL,
  seq bigint NOT NULL,
  epoch bigint NOT NULL,
  node text NOT NULL,
  frames bytea NOT NULL,
  db_size bigint NOT NULL,
  checksum bytea NOT NULL,
  PRIMARY KEY (object, seq)
);
CREATE TABLE snapshots (
  object text NOT NULL,
  seq bigint NOT NULL,
  image bytea NOT NULL,
  PRIMARY KEY (object, seq)
);
CREATE TABLE alarms (
  object text PRIMARY KEY,
  at timestamptz NOT NULL
);
CREATE INDEX alarms_by_time ON alarms (at);
)sql",
    // 2: a snapshot carries the checksum chain's value at its seq, which the log rows after it
    // extend (the rows it replaces are deleted).
    R"sql(
ALTER TABLE snapshots ADD COLUMN checksum bytea NOT NULL DEFAULT ''::bytea;
)sql",
    // 3: the secret that signs requests forwarded between nodes (cluster/forward_auth.h); the
    // first node to start writes it.
    R"sql(
CREATE TABLE cluster_secret (
  id integer PRIMARY KEY CHECK (id = 1),
  secret text NOT NULL
);
)sql",
    // 4: a node asked to drain (`dorm cluster drain NODE`) hands its objects over and stops;
    // meanwhile no new object is placed on it.
    R"sql(
ALTER TABLE nodes ADD COLUMN draining boolean NOT NULL DEFAULT false;
)sql",
    // 5: an alarm keeps the name its object was reached by (an alarm that a node fires for an
    // object it took from a dead one has `ctx.id.name`) and the retries it has had (a failing
    // alarm's retry count goes on where it was on the node that died).
    R"sql(
ALTER TABLE alarms ADD COLUMN name text NOT NULL DEFAULT '';
ALTER TABLE alarms ADD COLUMN retries integer NOT NULL DEFAULT 0;
)sql",
    // 6: the control plane (cluster/control_log.h): every admin change, sealed, in version order;
    // and what every node's secrets key must match.
    R"sql(
CREATE TABLE control_changes (
  version bigint PRIMARY KEY CHECK (version > 0),
  node text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  change bytea NOT NULL
);
CREATE TABLE control_key (
  id integer PRIMARY KEY CHECK (id = 1),
  key_check bytea NOT NULL
);
)sql",
    // 7: every node's usage meters (control/cluster_usage.h), so that any node answers for the
    // cluster. An object's name is kept as bytes: it comes from a client, as any bytes.
    R"sql(
CREATE TABLE usage_minutes (
  app text NOT NULL,
  class text NOT NULL,
  object_id text NOT NULL,
  minute bigint NOT NULL,
  node text NOT NULL,
  instance bytea NOT NULL,
  http_requests bigint NOT NULL,
  websocket_messages bigint NOT NULL,
  alarms bigint NOT NULL,
  cpu_ns bigint NOT NULL,
  wall_ns bigint NOT NULL,
  outbound_requests bigint NOT NULL,
  outbound_bytes bigint NOT NULL,
  PRIMARY KEY (app, class, object_id, minute, node)
);
CREATE INDEX usage_minutes_by_node ON usage_minutes (node, minute);
CREATE TABLE usage_storage (
  app text NOT NULL,
  class text NOT NULL,
  object_id text NOT NULL,
  instance bytea NOT NULL,
  bytes bigint NOT NULL,
  PRIMARY KEY (app, class, object_id)
);
)sql",
    // 8: a control change carries the id its node gave it before the transaction, so that a node
    // whose COMMIT lost its connection reads back whether the change is in the log
    // (control_log.h).
    R"sql(
ALTER TABLE control_changes ADD COLUMN change_id bytea;
CREATE UNIQUE INDEX control_changes_by_id ON control_changes (change_id);
)sql",
    // 9: a node's usage rows are the totals of one process of it (incarnation: random per
    // process), replaced by each push, so that a push sent again after a lost connection does not
    // count twice (control/cluster_usage.h).
    R"sql(
ALTER TABLE usage_minutes ADD COLUMN incarnation text NOT NULL DEFAULT '';
ALTER TABLE usage_minutes DROP CONSTRAINT usage_minutes_pkey;
ALTER TABLE usage_minutes ADD PRIMARY KEY (app, class, object_id, minute, node, incarnation);
)sql",
    // 10: a snapshot's image in pieces (cluster/snapshot_image.h), so that an image is neither
    // bounded by a bytea's 1 GiB nor held whole in memory: `image` stays for the snapshots
    // written before (NULL for pieced ones), which also carry their size and SHA-256.
    R"sql(
ALTER TABLE snapshots ALTER COLUMN image DROP NOT NULL;
ALTER TABLE snapshots ADD COLUMN image_bytes bigint;
ALTER TABLE snapshots ADD COLUMN image_digest bytea;
CREATE TABLE snapshot_pieces (
  object text NOT NULL,
  seq bigint NOT NULL,
  piece integer NOT NULL CHECK (piece >= 0),
  bytes bytea NOT NULL,
  PRIMARY KEY (object, seq, piece)
);
)sql",
    // 11: the control plane's snapshots (control_log.h): the whole control state as of a version,
    // sealed, after which the changes at or below it are deleted; the ids of the changes deleted
    // in the last hour stay, so that a node reading back a lost COMMIT still finds its change.
    R"sql(
CREATE TABLE control_snapshots (
  version bigint PRIMARY KEY CHECK (version > 0),
  node text NOT NULL,
  at timestamptz NOT NULL DEFAULT now(),
  snapshot bytea NOT NULL
);
CREATE TABLE control_compacted_ids (
  change_id bytea PRIMARY KEY,
  version bigint NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX control_compacted_ids_by_time ON control_compacted_ids (at);
)sql",
    // 12: a client's own idempotency keys for control changes (control_log.h): the change made
    // under each (app, key) in the last 24 hours, what request it was (an HMAC of it) and its
    // answer, sealed.
    R"sql(
CREATE TABLE control_idempotency (
  app text NOT NULL,
  key text NOT NULL,
  request bytea NOT NULL,
  version bigint NOT NULL,
  answer bytea,
  at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (app, key)
);
CREATE INDEX control_idempotency_by_time ON control_idempotency (at);
)sql",
    // 13: each node's flush lag, written with its lease's renewals (node_lease.h), so that
    // `dorm cluster status` on any node shows every node's.
    R"sql(
ALTER TABLE nodes ADD COLUMN pending_commits bigint NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN pending_bytes bigint NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN oldest_pending_ms bigint NOT NULL DEFAULT 0;
ALTER TABLE nodes ADD COLUMN reported_at timestamptz;
)sql",
    // 14: the storage gauge's history for the whole cluster (control/cluster_usage.h): each
    // class's total of `usage_storage` at the minutes it changed.
    R"sql(
CREATE TABLE usage_storage_history (
  app text NOT NULL,
  class text NOT NULL,
  minute bigint NOT NULL,
  bytes bigint NOT NULL,
  PRIMARY KEY (app, class, minute)
);
)sql",
};

constexpr int kLatest = static_cast<int>(std::size(kMigrations));

// Any constant shared by all Dorm nodes: the advisory lock that serializes migrations.
constexpr const char* kMigrationLock = "7305104912034871";

}  // namespace

int LatestSchemaVersion() { return kLatest; }

int MigrateSchema(PgConnection& connection) {
  connection.Exec("BEGIN");
  try {
    connection.Exec("SELECT pg_advisory_xact_lock($1::bigint)", {PgParam::Text(kMigrationLock)});
    connection.Exec("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)");
    PgResult found = connection.Exec("SELECT version FROM schema_version");
    int before = 0;
    if (found.rows() == 0) {
      connection.Exec("INSERT INTO schema_version (version) VALUES (0)");
    } else {
      before = static_cast<int>(found.Int(0, 0));
    }
    if (before > kLatest) {
      throw PgError("the cluster's schema is version " + std::to_string(before) +
                        ", newer than this Dorm knows (" + std::to_string(kLatest) +
                        "): upgrade this node",
                    "", false);
    }
    for (int version = before + 1; version <= kLatest; ++version) {
      connection.Exec(kMigrations[version - 1]);
    }
    std::string latest = std::to_string(kLatest);
    connection.Exec("UPDATE schema_version SET version = $1::integer", {PgParam::Text(latest)});
    connection.Exec("COMMIT");
    return before;
  } catch (...) {
    connection.RollbackAfterFailure();
    throw;
  }
}

}  // namespace dorm::cluster
