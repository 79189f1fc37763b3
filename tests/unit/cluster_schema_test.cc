#include "cluster/cluster_schema.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "postgres_server.h"

namespace dorm::cluster {
namespace {

std::unique_ptr<PgConnection> Connect(const std::string& conninfo) {
  return PgConnection::Connect(conninfo, std::chrono::seconds(10));
}

TEST(ClusterSchemaTest, CreatesTheTablesOnceAndIsIdempotent) {
  std::string conninfo = testing::PostgresServer::Shared().NewDatabase();
  auto connection = Connect(conninfo);
  EXPECT_EQ(MigrateSchema(*connection), 0);
  EXPECT_EQ(MigrateSchema(*connection), LatestSchemaVersion());
  PgResult tables = connection->Exec(
      "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables "
      "WHERE table_schema = current_schema()");
  EXPECT_EQ(tables.Text(0, 0),
            "alarms,cluster_secret,control_changes,control_compacted_ids,control_idempotency,"
            "control_key,control_snapshots,log,nodes,owners,schema_version,snapshot_pieces,"
            "snapshots,"
            "usage_minutes,usage_storage,usage_storage_history");
  EXPECT_EQ(connection->Exec("SELECT version FROM schema_version").Int(0, 0),
            LatestSchemaVersion());
  EXPECT_EQ(connection->Exec("SELECT count(*) FROM schema_version").Int(0, 0), 1);
}

TEST(ClusterSchemaTest, NodesStartingTogetherMigrateOnce) {
  std::string conninfo = testing::PostgresServer::Shared().NewDatabase();
  std::atomic<int> fresh{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> nodes;
  for (int i = 0; i < 4; ++i) {
    nodes.emplace_back([&] {
      try {
        auto connection = Connect(conninfo);
        if (MigrateSchema(*connection) == 0) ++fresh;
      } catch (const std::exception& e) {
        ++errors;
        ADD_FAILURE() << e.what();
      }
    });
  }
  for (auto& t : nodes) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(fresh.load(), 1);
}

TEST(ClusterSchemaTest, RefusesASchemaFromANewerVersion) {
  std::string conninfo = testing::PostgresServer::Shared().NewDatabase();
  auto connection = Connect(conninfo);
  MigrateSchema(*connection);
  connection->Exec("UPDATE schema_version SET version = 99");
  try {
    MigrateSchema(*connection);
    FAIL() << "migrated";
  } catch (const PgError& e) {
    EXPECT_NE(std::string(e.what()).find("version 99, newer than this Dorm knows"),
              std::string::npos)
        << e.what();
  }
  // Nothing was changed, and the connection is usable (the transaction was rolled back).
  EXPECT_EQ(connection->Exec("SELECT version FROM schema_version").Int(0, 0), 99);
}

}  // namespace
}  // namespace dorm::cluster
