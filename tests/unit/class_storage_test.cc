// Moving a transferred class's folder (control/class_storage.h): the objects end up under exactly
// one of the two names, a finished move is a no-op when repeated (a crash before the registry
// forgot it), and nothing is ever overwritten.
#include "control/class_storage.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace dorm::control {
namespace {

namespace fs = std::filesystem;

class ClassStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() /
        ("dorm-class-storage-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void WriteObject(const std::string& app, const std::string& storage, const std::string& text) {
    fs::path folder = dir_ / "objects" / app / storage / "ab";
    fs::create_directories(folder);
    std::ofstream(folder / "ab01.sqlite") << text;
  }
  std::string ReadObject(const std::string& app, const std::string& storage) {
    std::ifstream in(dir_ / "objects" / app / storage / "ab" / "ab01.sqlite");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
};

TEST_F(ClassStorageTest, MovesTheFolderIntoAnAppThatHadNoneAndRepeatsAsANoOp) {
  WriteObject("shop", "cart", "data");
  MoveClassStorage(dir_.string(), "shop", "cart", "store", "cart@shop");
  EXPECT_FALSE(fs::exists(dir_ / "objects" / "shop" / "cart"));
  EXPECT_EQ(ReadObject("store", "cart@shop"), "data");
  // Finishing the same move again (after a crash) changes nothing.
  MoveClassStorage(dir_.string(), "shop", "cart", "store", "cart@shop");
  EXPECT_EQ(ReadObject("store", "cart@shop"), "data");
}

TEST_F(ClassStorageTest, AClassWithNoObjectsHasNothingToMove) {
  MoveClassStorage(dir_.string(), "shop", "cart", "store", "cart@shop");
  EXPECT_FALSE(fs::exists(dir_ / "objects" / "store" / "cart@shop"));
}

TEST_F(ClassStorageTest, NeverOverwritesAFolderAlreadyThere) {
  WriteObject("shop", "cart", "source");
  WriteObject("store", "cart@shop", "target");
  EXPECT_THROW(MoveClassStorage(dir_.string(), "shop", "cart", "store", "cart@shop"),
               std::runtime_error);
  EXPECT_EQ(ReadObject("shop", "cart"), "source");
  EXPECT_EQ(ReadObject("store", "cart@shop"), "target");
}

}  // namespace
}  // namespace dorm::control
