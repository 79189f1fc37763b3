#include "storage/object_file_name.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <string>

#include "storage/temp_file_limit.h"

namespace dorm::storage {
namespace {

// unix-none with ObjectFullPathname, as InstallTempFileLimit wraps it for object databases (that
// one is process-wide and installed once, so not in unit tests). A plain absolute path is its own
// full name; unix-none itself answers SQLITE_OK_SYMLINK and the link's target.
sqlite3_vfs* TestVfs() {
  static sqlite3_vfs vfs;
  static std::once_flag once;
  std::call_once(once, [] {
    sqlite3_vfs* real = sqlite3_vfs_find(kUnlockedVfs);
    vfs = *real;
    vfs.zName = "dorm-object-file-name-test";
    vfs.pNext = nullptr;
    vfs.pAppData = real;
    vfs.xFullPathname = &ObjectFullPathname;
    // The unix VFSs find their file methods through their own pAppData.
    vfs.xOpen = [](sqlite3_vfs* self, const char* name, sqlite3_file* file, int flags,
                   int* out_flags) {
      auto* wrapped = static_cast<sqlite3_vfs*>(self->pAppData);
      return wrapped->xOpen(wrapped, name, file, flags, out_flags);
    };
    sqlite3_vfs_register(&vfs, /*makeDflt=*/0);
  });
  return &vfs;
}

std::string FullPathname(const std::string& name, int size = 4096) {
  std::string out(static_cast<size_t>(size), '\0');
  sqlite3_vfs* vfs = TestVfs();
  int rc = vfs->xFullPathname(vfs, name.c_str(), size, out.data());
  if (rc != SQLITE_OK) return "error " + std::to_string(rc);
  return out.c_str();
}

class ObjectFileNameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-file-name-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    std::filesystem::create_directories(dir_ + "/real/objects");
    std::filesystem::create_directory_symlink(dir_ + "/real", dir_ + "/link");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(ObjectFileNameTest, AnAbsolutePathIsItsOwnFullNameThroughLinkedFolders) {
  // The unix VFS would resolve the link (one lstat per component); the path is kept as given.
  const std::string path = dir_ + "/link/objects/o.sqlite";
  EXPECT_EQ(FullPathname(path), path);
  sqlite3_vfs* unix_none = sqlite3_vfs_find(kUnlockedVfs);
  std::string resolved(4096, '\0');
  ASSERT_EQ(unix_none->xFullPathname(unix_none, path.c_str(), 4096, resolved.data()),
            SQLITE_OK_SYMLINK);
  EXPECT_EQ(std::string(resolved.c_str()), dir_ + "/real/objects/o.sqlite");
}

TEST_F(ObjectFileNameTest, OtherPathsAreLeftToTheWrappedVfs) {
  char cwd[4096];
  ASSERT_NE(getcwd(cwd, sizeof cwd), nullptr);
  EXPECT_EQ(FullPathname("relative.sqlite"), std::string(cwd) + "/relative.sqlite");
  EXPECT_EQ(FullPathname(dir_ + "/real/objects/../o.sqlite"), dir_ + "/real/o.sqlite");
  EXPECT_EQ(FullPathname(dir_ + "/real/./o.sqlite"), dir_ + "/real/o.sqlite");
  // Names that only look like those components are plain.
  EXPECT_EQ(FullPathname(dir_ + "/real/..o/.x.sqlite"), dir_ + "/real/..o/.x.sqlite");
}

TEST_F(ObjectFileNameTest, APathLongerThanTheBufferCannotOpen) {
  const std::string path = dir_ + "/real/objects/o.sqlite";
  EXPECT_EQ(FullPathname(path, static_cast<int>(path.size()) + 1), path);
  EXPECT_EQ(FullPathname(path, static_cast<int>(path.size())),
            "error " + std::to_string(SQLITE_CANTOPEN));
}

TEST_F(ObjectFileNameTest, ADatabaseInALinkedFolderKeepsItsLogBesideIt) {
  const std::string path = dir_ + "/link/objects/o.sqlite";
  // Opened by the VFS's name, which exists once TestVfs() has registered it (this test may run
  // alone).
  const char* vfs_name = TestVfs()->zName;
  sqlite3* db = nullptr;
  ASSERT_EQ(
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs_name),
      SQLITE_OK);
  EXPECT_STREQ(sqlite3_db_filename(db, "main"), path.c_str());
  ASSERT_EQ(sqlite3_exec(db,
                         "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL;"
                         "CREATE TABLE t (v); INSERT INTO t VALUES (42)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  // The log is in the linked folder, which is the real one.
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/real/objects/o.sqlite-wal"));
  sqlite3_close_v2(db);
  // Opened by its real path, it holds the write.
  ASSERT_EQ(sqlite3_open_v2((dir_ + "/real/objects/o.sqlite").c_str(), &db, SQLITE_OPEN_READWRITE,
                            vfs_name),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT v FROM t", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 42);
  sqlite3_finalize(st);
  sqlite3_close_v2(db);
}

}  // namespace
}  // namespace dorm::storage
