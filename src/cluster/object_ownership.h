// Which node may write an object, and at which epoch (the `owners` table).
//
// An object is taken with one statement that bumps its epoch, and only when its owner released
// it, its owner's lease ran out (on PostgreSQL's clock), or the owner is this node itself (a node
// that lost track of its objects, after losing its lease or restarting, takes them anew so that
// anything it still had in flight under the old epoch is fenced). The taking node must itself
// hold a live lease. The UPDATE's row lock orders it against the commit statement's FOR SHARE
// (commit_batch.h): a commit either lands before the takeover, at the old epoch, or is refused.
//
// Threading: uses the caller's connection. Every function may throw PgError.
#pragma once

#include <optional>
#include <string>

#include "cluster/pg_connection.h"

namespace dorm::cluster {

struct Ownership {
  std::optional<std::string> node;  // empty when released
  long long epoch = 0;
  bool lease_live = false;  // the owner's lease is live on PostgreSQL's clock
};

// Takes `object` for `node`; returns the new epoch, or nothing when another node holds it with
// a live lease (or `node` has no live lease itself).
std::optional<long long> AcquireObject(PgConnection& connection, const std::string& object,
                                       const std::string& node);

// Gives `object` up if `node` still owns it at `epoch` (owners.node = NULL, epoch kept). Returns
// whether it did.
bool ReleaseObject(PgConnection& connection, const std::string& object, const std::string& node,
                   long long epoch);

// The object's owner, or nothing if it was never taken.
std::optional<Ownership> LookupOwner(PgConnection& connection, const std::string& object);

}  // namespace dorm::cluster
