// What the cluster's PostgreSQL tests share: a fixture whose every test gets a schema of its own
// on the process's throwaway server (postgres_server.h), migrated to the latest cluster schema,
// and the rows and options those tests set up nodes with.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "cluster/cluster_schema.h"
#include "cluster/node_lease.h"
#include "cluster/pg_connection.h"
#include "postgres_server.h"

namespace dorm::testing {

// A new schema of its own, migrated to the latest cluster schema, as the libpq connection string
// of a session whose tables go there. Throws if PostgreSQL could not start or the migration fails.
inline std::string MigratedDatabase() {
  std::string conninfo = PostgresServer::Shared().NewDatabase();
  cluster::MigrateSchema(*cluster::PgConnection::Connect(conninfo, std::chrono::seconds(10)));
  return conninfo;
}

class ClusterDatabaseTest : public ::testing::Test {
 protected:
  // Throws (failing the test) as MigratedDatabase() does.
  void SetUp() override {
    conninfo_ = MigratedDatabase();
    db_ = Connect();
  }

  // A new session on the test's schema, for tests that need more than `db_`.
  std::unique_ptr<cluster::PgConnection> Connect() const {
    return cluster::PgConnection::Connect(conninfo_, std::chrono::seconds(10));
  }

  // Lease options for `node` on the test's schema; its address is http://127.0.0.1:1/<node> (a
  // port nothing listens on: these tests never send to it), the timings NodeLeaseOptions'.
  cluster::NodeLeaseOptions LeaseOptions(const std::string& node) const {
    cluster::NodeLeaseOptions options;
    options.conninfo = conninfo_;
    options.node = node;
    options.addr = "http://127.0.0.1:1/" + node;
    return options;
  }

  // Writes `node`'s row directly, at http://<node>, leased for `lease` (a PostgreSQL interval)
  // from now: a live node without a NodeLease renewing it.
  void AddNode(const std::string& node, const char* lease = "1 hour") {
    db_->Exec("INSERT INTO nodes VALUES ($1, 'http://' || $1, now() + $2::interval, 'i')",
              {cluster::PgParam::Text(node), cluster::PgParam::Text(lease)});
  }

  // Ends `node`'s lease a second ago, as if it had stopped renewing.
  void ExpireLease(const std::string& node) {
    db_->Exec("UPDATE nodes SET lease_until = now() - interval '1 second' WHERE node = $1",
              {cluster::PgParam::Text(node)});
  }

  std::string conninfo_;
  std::unique_ptr<cluster::PgConnection> db_;
};

}  // namespace dorm::testing
