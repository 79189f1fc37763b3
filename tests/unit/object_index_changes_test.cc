// The objects index's change tracking, which incremental backups read: a change sequence within a
// change epoch, renewed whenever a change could have gone unseen.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "control/object_index.h"

namespace dorm::control {
namespace {

class ObjectIndexChangesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-object-index-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static runtime::ObjectUsageDelta Delta(const std::string& id, bool changed) {
    runtime::ObjectUsageDelta d;
    d.app = "app";
    d.class_name = "room";
    d.object_id = id;
    d.instance_name = id;
    d.http_requests = 1;
    d.storage_changed = changed;
    return d;
  }

  static std::string Id(char c) { return std::string(64, c); }

  std::string dir_;
};

TEST_F(ObjectIndexChangesTest, EachReadingMarksWhatItSawChanged) {
  ObjectIndex index(dir_);
  index.StartTracking();
  const ObjectIndex::ChangeState start = index.CurrentChanges();
  EXPECT_EQ(start.epoch.size(), 16u);
  index.Record({Delta(Id('a'), true), Delta(Id('b'), false)}, {}, 1000);
  const ObjectIndex::ChangeState first = index.CurrentChanges();
  EXPECT_EQ(first.epoch, start.epoch);
  EXPECT_EQ(first.seq, start.seq + 1);
  auto seqs = index.ChangeSeqs();
  EXPECT_EQ(seqs.at("app/room/" + Id('a')), first.seq);
  // Seen, but never changed by a commit: no sequence (every backup copies it).
  EXPECT_EQ(seqs.count("app/room/" + Id('b')), 0u);

  // A reading without changes leaves the sequence; a later change gets a later value.
  index.Record({Delta(Id('a'), false)}, {}, 2000);
  EXPECT_EQ(index.CurrentChanges().seq, first.seq);
  index.Record({Delta(Id('b'), true)}, {}, 3000);
  seqs = index.ChangeSeqs();
  EXPECT_EQ(seqs.at("app/room/" + Id('a')), first.seq);
  EXPECT_EQ(seqs.at("app/room/" + Id('b')), first.seq + 1);
  // An import is a change.
  index.Imported("app", "room", Id('c'), "", 100, 4000);
  EXPECT_EQ(index.ChangeSeqs().at("app/room/" + Id('c')), first.seq + 2);
  // A transferred class's objects moved: no earlier backup holds them there.
  index.MoveClass("app", "room", "other", "hall");
  EXPECT_TRUE(index.ChangeSeqs().empty());
}

TEST_F(ObjectIndexChangesTest, TheEpochLastsOnlyThroughCleanStops) {
  std::string epoch;
  {
    ObjectIndex index(dir_);
    index.StartTracking();
    epoch = index.CurrentChanges().epoch;
    index.FinishTracking();
  }
  {
    ObjectIndex index(dir_);
    index.StartTracking();
    EXPECT_EQ(index.CurrentChanges().epoch, epoch);  // stopped cleanly
    // No FinishTracking: as after a kill -9.
  }
  std::string after_crash;
  std::string after_loss;
  {
    ObjectIndex index(dir_);
    index.StartTracking();
    after_crash = index.CurrentChanges().epoch;
    EXPECT_NE(after_crash, epoch);
    // A reading that could not be recorded ends the epoch too, and a clean stop after it does not
    // bring it back.
    index.ChangesLost();
    after_loss = index.CurrentChanges().epoch;
    EXPECT_NE(after_loss, after_crash);
    EXPECT_EQ(index.CurrentChanges().epoch, after_loss);
    index.ChangesLost();
    index.FinishTracking();
  }
  ObjectIndex index(dir_);
  index.StartTracking();
  EXPECT_NE(index.CurrentChanges().epoch, after_loss);
}

}  // namespace
}  // namespace dorm::control
