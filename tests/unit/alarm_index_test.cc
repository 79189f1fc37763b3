#include "storage/alarm_index.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

namespace dorm::storage {
namespace {

class AlarmIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-alarm-index-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs one statement on the index file from outside (no AlarmIndex may be open: it holds the
  // file exclusively).
  void Exec(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/alarms.sqlite").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }

  static AlarmChange Set(const std::string& name, const std::string& id, long long time_ms) {
    return AlarmChange{AlarmEntry{"app", "cls", name, time_ms, id}, false};
  }
  static AlarmChange Remove(const std::string& name, const std::string& id) {
    return AlarmChange{AlarmEntry{"app", "cls", name, 0, id}, true};
  }

  std::string dir_;
};

TEST_F(AlarmIndexTest, ObjectsAreKeyedByIdWithOrWithoutAName) {
  AlarmIndex index(dir_);
  const std::string a(64, 'a'), b(64, 'b');
  index.Apply({Set("lobby", a, 20), Set("", b, 10)});
  auto due = index.DueBy(100, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[0].object_id, b);
  EXPECT_EQ(due[0].instance_name, "");
  EXPECT_EQ(due[1].object_id, a);
  EXPECT_EQ(due[1].instance_name, "lobby");
  // The same object reached by id alone replaces its own row, whatever name it was set with.
  index.Apply({Set("", a, 30)});
  due = index.DueBy(100, 10);
  ASSERT_EQ(due.size(), 2u);
  EXPECT_EQ(due[1].time_ms, 30);
  index.Apply({Remove("", a), Remove("", b)});
  EXPECT_TRUE(index.DueBy(100, 10).empty());
}

TEST_F(AlarmIndexTest, AChangeWithoutANameKeepsTheNameRecorded) {
  AlarmIndex index(dir_);
  const std::string a(64, 'a');
  index.Apply({Set("lobby", a, 20)});
  // An import or a restore knows the object by id; the name it was reached by stays.
  index.Apply({Set("", a, 40)});
  auto due = index.DueBy(100, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].time_ms, 40);
  EXPECT_EQ(due[0].instance_name, "lobby");
  index.Apply({Set("hall", a, 50)});
  due = index.DueBy(100, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].instance_name, "hall");
}

TEST_F(AlarmIndexTest, RowsWrittenBeforeIdsAreReadAndReplacedOnTheObjectsNextChange) {
  { AlarmIndex created(dir_); }
  Exec("INSERT INTO alarms (app, class, name, time_ms) VALUES ('app', 'cls', 'old', 5)");
  AlarmIndex index(dir_);
  auto due = index.DueBy(100, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].instance_name, "old");
  EXPECT_EQ(due[0].object_id, "") << "the reader derives it from the name";
  const std::string id(64, 'c');
  index.Apply({Set("old", id, 50)});
  due = index.DueBy(100, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].object_id, id);
  EXPECT_EQ(due[0].time_ms, 50);
}

TEST_F(AlarmIndexTest, AnIndexWithoutOldRowsNeverFindsOneAfterwards) {
  // Opened with an empty table of old rows, the index skips looking for an object's old row on
  // each change; nothing but an older server writes there, so none can appear while it is open.
  AlarmIndex index(dir_);
  index.Apply({Set("a", std::string(64, 'e'), 10), Set("b", std::string(64, 'f'), 20)});
  index.Apply({Remove("a", std::string(64, 'e'))});
  auto due = index.DueBy(100, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].instance_name, "b");
  EXPECT_EQ(due[0].time_ms, 20);
  EXPECT_EQ(index.Find("app", "cls", std::string(64, 'e'), "a"), std::nullopt);
  EXPECT_EQ(index.Find("app", "cls", std::string(64, 'f'), "b"), 20);
}

TEST_F(AlarmIndexTest, RemovingAClassRemovesOldAndNewRows) {
  { AlarmIndex created(dir_); }
  Exec("INSERT INTO alarms (app, class, name, time_ms) VALUES ('app', 'cls', 'old', 5)");
  AlarmIndex index(dir_);
  index.Apply({Set("", std::string(64, 'd'), 7)});
  index.RemoveClass("app", "cls");
  EXPECT_TRUE(index.DueBy(100, 10).empty());
}

TEST_F(AlarmIndexTest, AnEntryWithoutAnIdIsRefused) {
  AlarmIndex index(dir_);
  EXPECT_THROW(index.Apply({Set("lobby", "", 5)}), StorageError);
}

}  // namespace
}  // namespace dorm::storage
