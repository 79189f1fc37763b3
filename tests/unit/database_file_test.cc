#include "storage/database_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "storage/object_database.h"

namespace dorm::storage {
namespace {

class DatabaseFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-database-file-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
};

TEST_F(DatabaseFileTest, StoredAlarmReadsTheAlarmOfACopy) {
  auto db = ObjectDatabase::Open(dir_ + "/object.sqlite", true);
  db->Put("k", "v");
  db->Commit();
  // A snapshot as an export takes it: no alarm yet.
  CopyDatabase(db->handle(), dir_ + "/none.sqlite");
  EXPECT_EQ(StoredAlarm(dir_ + "/none.sqlite"), std::nullopt);
  db->SetAlarm(1796476146923LL);
  db->Commit();
  CopyDatabase(db->handle(), dir_ + "/set.sqlite");
  EXPECT_EQ(StoredAlarm(dir_ + "/set.sqlite"), 1796476146923LL);
  // Reading creates nothing next to the file.
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/set.sqlite-wal"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/set.sqlite-shm"));
}

TEST_F(DatabaseFileTest, StoredAlarmOfAFileThatIsNoDatabaseThrows) {
  {
    std::ofstream out(dir_ + "/garbage.sqlite");
    out << std::string(4096, 'x');
  }
  EXPECT_THROW(StoredAlarm(dir_ + "/garbage.sqlite"), StorageError);
  EXPECT_THROW(StoredAlarm(dir_ + "/missing.sqlite"), StorageError);
}

}  // namespace
}  // namespace dorm::storage
