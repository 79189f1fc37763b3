#include "cluster/object_ownership.h"

namespace dorm::cluster {
namespace {

// The first owner of an object starts at epoch 1, if the taking node's lease is live.
constexpr const char* kInsertOwner = R"sql(
INSERT INTO owners (object, node, epoch)
SELECT $1, $2, 1
WHERE EXISTS (SELECT 1 FROM nodes WHERE node = $2 AND lease_until > now())
ON CONFLICT (object) DO NOTHING
RETURNING epoch)sql";

constexpr const char* kTakeOwner = R"sql(
UPDATE owners AS o SET node = $2, epoch = o.epoch + 1
WHERE o.object = $1
  AND EXISTS (SELECT 1 FROM nodes WHERE node = $2 AND lease_until > now())
  AND (o.node IS NULL OR o.node = $2 OR
       NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node = o.node AND n.lease_until > now()))
RETURNING o.epoch)sql";

constexpr const char* kReleaseObject = R"sql(
UPDATE owners SET node = NULL WHERE object = $1 AND node = $2 AND epoch = $3::bigint)sql";

constexpr const char* kLookup = R"sql(
SELECT o.node, o.epoch,
       EXISTS (SELECT 1 FROM nodes n WHERE n.node = o.node AND n.lease_until > now())
FROM owners o WHERE o.object = $1)sql";

}  // namespace

std::optional<long long> AcquireObject(PgConnection& connection, const std::string& object,
                                       const std::string& node) {
  // Two statements, each atomic on its own: the INSERT creates the row if absent (and a
  // concurrent creator makes it do nothing); the UPDATE then takes an existing row under its
  // lock. Neither needs the other's transaction.
  PgResult inserted = connection.Exec(kInsertOwner, {PgParam::Text(object), PgParam::Text(node)});
  if (inserted.rows() == 1) return inserted.Int(0, 0);
  PgResult taken = connection.Exec(kTakeOwner, {PgParam::Text(object), PgParam::Text(node)});
  if (taken.rows() == 1) return taken.Int(0, 0);
  return std::nullopt;
}

bool ReleaseObject(PgConnection& connection, const std::string& object, const std::string& node,
                   long long epoch) {
  std::string e = std::to_string(epoch);
  return connection
             .Exec(kReleaseObject, {PgParam::Text(object), PgParam::Text(node), PgParam::Text(e)})
             .affected() == 1;
}

std::optional<Ownership> LookupOwner(PgConnection& connection, const std::string& object) {
  PgResult found = connection.Exec(kLookup, {PgParam::Text(object)});
  if (found.rows() == 0) return std::nullopt;
  Ownership ownership;
  if (!found.IsNull(0, 0)) ownership.node = found.Text(0, 0);
  ownership.epoch = found.Int(0, 1);
  ownership.lease_live = found.Bool(0, 2);
  return ownership;
}

}  // namespace dorm::cluster
