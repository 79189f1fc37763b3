#include "control/usage_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>

namespace dorm::control {
namespace {

class UsageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-usage-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static runtime::ObjectUsageDelta Delta(unsigned requests, unsigned outbound, unsigned bytes) {
    runtime::ObjectUsageDelta d;
    d.app = "app";
    d.class_name = "room";
    d.instance_name = "lobby";
    d.http_requests = requests;
    d.outbound_requests = outbound;
    d.outbound_bytes = bytes;
    return d;
  }

  std::string dir_;
};

TEST_F(UsageStoreTest, OutboundMetersAddUpPerObject) {
  UsageStore store(dir_);
  store.Record(10, {Delta(1, 2, 300)});
  store.Record(11, {Delta(0, 1, 50)});
  store.Record(11, {Delta(4, 0, 0)});
  auto rows = store.Query("app", "", 0);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].totals.http_requests, 5u);
  EXPECT_EQ(rows[0].totals.outbound_requests, 3u);
  EXPECT_EQ(rows[0].totals.outbound_bytes, 350u);
}

// A usage database written before the outbound meters existed keeps its rows and gains the
// columns, zero for its past minutes.
TEST_F(UsageStoreTest, OlderDatabaseGainsTheOutboundColumns) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/usage.sqlite").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE usage_minutes (app TEXT NOT NULL, class TEXT NOT NULL,"
                         " object TEXT NOT NULL, minute INTEGER NOT NULL,"
                         " http_requests INTEGER NOT NULL DEFAULT 0,"
                         " websocket_messages INTEGER NOT NULL DEFAULT 0,"
                         " alarms INTEGER NOT NULL DEFAULT 0, cpu_ns INTEGER NOT NULL DEFAULT 0,"
                         " wall_ns INTEGER NOT NULL DEFAULT 0,"
                         " PRIMARY KEY (app, class, object, minute)) WITHOUT ROWID;"
                         "INSERT INTO usage_minutes VALUES ('app','room','lobby',1,7,0,0,0,0);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);

  {
    UsageStore store(dir_);
    store.Record(2, {Delta(1, 1, 10)});
  }
  UsageStore reopened(dir_);  // the columns are there now: adding them again must not fail
  auto rows = reopened.Query("app", "room", 0);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].totals.http_requests, 8u);
  EXPECT_EQ(rows[0].totals.outbound_requests, 1u);
  EXPECT_EQ(rows[0].totals.outbound_bytes, 10u);
}

}  // namespace
}  // namespace dorm::control
