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

long long CountRows(const std::string& dir) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open((dir + "/usage.sqlite").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM usage_minutes", -1, &st, nullptr),
            SQLITE_OK);
  EXPECT_EQ(sqlite3_step(st), SQLITE_ROW);
  long long n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

// Minute rows older than the retention become hour rows, hour rows older than it day rows; the
// sums over any period that starts at a unit's first minute are unchanged, and each pass merges
// only what the last one did not.
TEST_F(UsageStoreTest, OldMinutesRollUpIntoHoursAndDaysWithTheSameSums) {
  UsageRetention retention;
  retention.minute_rows_minutes = 120;     // two hours of minute rows
  retention.hour_rows_minutes = 3 * 1440;  // three days of hour rows
  UsageStore store(dir_, retention);
  // One request every 10 minutes for 10 days, from day 100 on (minute 144,000).
  const long long start = 100 * 1440;
  const long long end = start + 10 * 1440;
  for (long long m = start; m < end; m += 10) store.Record(m, {Delta(1, 0, 0)});
  const long long now = end;  // the last Record() rolled up as of end - 10
  store.RollUp(now);
  // Ten days of minutes: 1,440 rows before. After: the last 2 hours as minutes (12 rows), the
  // hours back to 3 days (3*24 - 2 = 70 hour rows), then 7 day rows.
  EXPECT_EQ(CountRows(dir_), 12 + 70 + 7);
  auto sum_since = [&](long long since) {
    auto rows = store.Query("app", "", since);
    return rows.empty() ? 0ull : rows[0].totals.http_requests;
  };
  EXPECT_EQ(sum_since(0), 1440u);
  EXPECT_EQ(sum_since(start + 7 * 1440), 3u * 144);  // from the first day kept as hours
  EXPECT_EQ(sum_since(now - 60), 6u);                // the last hour, still minutes
  EXPECT_EQ(sum_since(now - 5 * 60), 30u);           // the last five hours: three as hour rows
  // Again at the same time: nothing more to merge.
  store.RollUp(now);
  EXPECT_EQ(CountRows(dir_), 12 + 70 + 7);
  EXPECT_EQ(sum_since(0), 1440u);
  // A day later the oldest hours become a day and the rest moves on by a day.
  for (long long m = end; m < end + 1440; m += 10) store.Record(m, {Delta(1, 0, 0)});
  store.RollUp(end + 1440);
  EXPECT_EQ(CountRows(dir_), 12 + 70 + 8);
  EXPECT_EQ(sum_since(0), 1584u);
}

// The dashboard's charts: sums per step from `since`, empty steps left out, other apps and (when
// asked) other classes not counted.
TEST_F(UsageStoreTest, SeriesSumsEachStepFromSince) {
  UsageStore store(dir_);
  store.Record(100, {Delta(1, 0, 0)});   // before since: not counted
  store.Record(120, {Delta(2, 0, 0)});   // step 0 (minutes 120..124)
  store.Record(124, {Delta(3, 0, 0)});   // step 0
  store.Record(125, {Delta(4, 1, 10)});  // step 1
  store.Record(137, {Delta(5, 0, 0)});   // step 3
  runtime::ObjectUsageDelta other = Delta(100, 0, 0);
  other.app = "other-app";
  store.Record(121, {other});
  runtime::ObjectUsageDelta hall = Delta(7, 0, 0);
  hall.class_name = "hall";
  store.Record(126, {hall});  // step 1, another class
  auto rows = store.Series("app", "", 120, 5);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].bucket, 0);
  EXPECT_EQ(rows[0].totals.http_requests, 5u);
  EXPECT_EQ(rows[1].bucket, 1);
  EXPECT_EQ(rows[1].totals.http_requests, 11u);
  EXPECT_EQ(rows[1].totals.outbound_bytes, 10u);
  EXPECT_EQ(rows[2].bucket, 3);
  EXPECT_EQ(rows[2].totals.http_requests, 5u);
  auto room = store.Series("app", "room", 120, 5);
  ASSERT_EQ(room.size(), 3u);
  EXPECT_EQ(room[1].totals.http_requests, 4u);
  EXPECT_TRUE(store.Series("app", "", 138, 1).empty());
}

}  // namespace
}  // namespace dorm::control

namespace dorm::control {
namespace {

runtime::ObjectUsageDelta Sized(const std::string& class_name, const std::string& object,
                                long long bytes) {
  runtime::ObjectUsageDelta d;
  d.app = "app";
  d.class_name = class_name;
  d.instance_name = object;
  d.storage_bytes = bytes;
  return d;
}

// The storage history: each class's total whenever one of its objects' sizes was measured,
// carried forward between readings, summed over the app's classes.
TEST_F(UsageStoreTest, StorageSeriesCarriesEachClassSizeForward) {
  UsageStore store(dir_);
  store.Record(100, {Sized("room", "a", 1000), Sized("room", "b", 500)});
  store.Record(103, {Sized("room", "a", 3000)});  // room: 3500
  store.Record(103, {Sized("chat", "c", 40)});
  store.Record(105, {Sized("room", "b", 0)});  // room: 3000
  // Buckets of one minute from 99: nothing yet, then the sizes as they were at each end.
  EXPECT_EQ(store.StorageSeries("app", "room", 99, 1, 8),
            (std::vector<long long>{0, 1500, 1500, 1500, 3500, 3500, 3000, 3000}));
  EXPECT_EQ(store.StorageSeries("app", "", 99, 1, 8),
            (std::vector<long long>{0, 1500, 1500, 1500, 3540, 3540, 3040, 3040}));
  // Buckets of 3 minutes: the size at each bucket's last minute; a period starting later takes
  // the size recorded before it.
  EXPECT_EQ(store.StorageSeries("app", "room", 99, 3, 3),
            (std::vector<long long>{1500, 3500, 3000}));
  EXPECT_EQ(store.StorageSeries("app", "room", 104, 1, 2), (std::vector<long long>{3500, 3000}));
  EXPECT_EQ(store.StorageSeries("other", "", 99, 1, 2), (std::vector<long long>{0, 0}));
}

// Rolled up, an hour keeps its last size, dated by its first minute; a deleted class is 0 from
// then on.
TEST_F(UsageStoreTest, StorageHistoryRollsUpToTheLastSizeOfEachHour) {
  UsageRetention retention;
  retention.minute_rows_minutes = 60;
  retention.hour_rows_minutes = 24 * 60;
  UsageStore store(dir_, retention);
  store.Record(600, {Sized("room", "a", 100)});
  store.Record(610, {Sized("room", "a", 200)});
  store.Record(659, {Sized("room", "a", 300)});
  store.Record(700, {Sized("room", "a", 400)});
  store.RollUp(780);  // the hour from minute 600 is past the minute rows' retention
  EXPECT_EQ(store.StorageSeries("app", "room", 600, 60, 2), (std::vector<long long>{300, 400}));
  EXPECT_EQ(store.StorageSeries("app", "room", 600, 1, 1), (std::vector<long long>{300}));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/usage.sqlite").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT group_concat(minute || ':' || bytes) FROM"
                               " (SELECT minute, bytes FROM storage_history ORDER BY minute)",
                               -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "600:300,660:400");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

}  // namespace
}  // namespace dorm::control
