#include "storage/sync_pool.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

namespace dorm::storage {
namespace {

class SyncPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dorm-sync-pool-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A file with some content under the test's folder; its path.
  std::string MakeFile(const std::string& name) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << "frames of " << name;
    return path;
  }

  static std::unique_ptr<SyncTarget> Target(const std::string& data_path) {
    auto target = std::make_unique<SyncTarget>();
    target->data_paths.push_back(data_path);
    return target;
  }

  // Submits `targets` as one batch and waits for its outcomes.
  static std::vector<SyncOutcome> Flush(SyncPool& pool,
                                        std::vector<std::unique_ptr<SyncTarget>> targets) {
    std::promise<std::vector<SyncOutcome>> outcomes;
    pool.Submit(std::move(targets),
                [&](std::vector<SyncOutcome> result) { outcomes.set_value(std::move(result)); });
    return outcomes.get_future().get();
  }

  std::string dir_;
};

TEST_F(SyncPoolTest, ALoneTargetIsFlushed) {
  SyncPool pool(2);
  std::vector<std::unique_ptr<SyncTarget>> targets;
  targets.push_back(Target(MakeFile("a-wal")));
  std::vector<SyncOutcome> outcomes = Flush(pool, std::move(targets));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_TRUE(outcomes[0].ok) << outcomes[0].error;
  EXPECT_EQ(pool.flush_latency().Read().count, 1u);
}

TEST_F(SyncPoolTest, ALoneTargetWhoseFileIsGoneFails) {
  SyncPool pool(1);
  std::vector<std::unique_ptr<SyncTarget>> targets;
  targets.push_back(Target(dir_ + "/gone-wal"));
  std::vector<SyncOutcome> outcomes = Flush(pool, std::move(targets));
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_FALSE(outcomes[0].ok);
  EXPECT_EQ(outcomes[0].error, "open " + dir_ + "/gone-wal: No such file or directory");
}

TEST_F(SyncPoolTest, AGroupGivesEachTargetItsOwnOutcomeInOrder) {
  SyncPool pool(2);
  std::vector<std::unique_ptr<SyncTarget>> targets;
  targets.push_back(Target(MakeFile("a-wal")));
  targets.push_back(Target(dir_ + "/gone-wal"));
  auto with_new_file = Target(MakeFile("c-wal"));
  with_new_file->fsync_paths.push_back(MakeFile("c"));
  with_new_file->fsync_paths.push_back(dir_);
  targets.push_back(std::move(with_new_file));
  std::vector<SyncOutcome> outcomes = Flush(pool, std::move(targets));
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0].ok) << outcomes[0].error;
  // A removed file fails its own target only: the others' commits are durable.
  EXPECT_FALSE(outcomes[1].ok);
  EXPECT_EQ(outcomes[1].error, "stat " + dir_ + "/gone-wal: No such file or directory");
  EXPECT_TRUE(outcomes[2].ok) << outcomes[2].error;
}

// A log checked through its descriptor when its target was made (SyncTarget::checked_data_paths)
// is taken as found, on the device it was found on: its path is not looked up again (here it no
// longer exists, which only a lookup could tell). A file several targets name is looked up once,
// and a failed lookup fails each of them.
TEST_F(SyncPoolTest, AGroupTakesCheckedLogsAsFoundAndLooksASharedFileUpOnce) {
  SyncPool pool(1);
  const std::string shared = MakeFile("index-wal");
  struct stat st {};
  ASSERT_EQ(::stat(shared.c_str(), &st), 0);
  std::vector<std::unique_ptr<SyncTarget>> targets;
  auto checked = Target(dir_ + "/checked-then-removed-wal");
  checked->checked_data_paths = 1;
  checked->checked_device = static_cast<uint64_t>(st.st_dev);
  checked->data_paths.push_back(shared);  // not checked: looked up
  targets.push_back(std::move(checked));
  targets.push_back(Target(shared));
  targets.push_back(Target(dir_ + "/gone-wal"));
  targets.push_back(Target(dir_ + "/gone-wal"));
  std::vector<SyncOutcome> outcomes = Flush(pool, std::move(targets));
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_TRUE(outcomes[0].ok) << outcomes[0].error;
  EXPECT_TRUE(outcomes[1].ok) << outcomes[1].error;
  for (size_t i : {2u, 3u}) {
    EXPECT_FALSE(outcomes[i].ok);
    EXPECT_EQ(outcomes[i].error, "stat " + dir_ + "/gone-wal: No such file or directory");
  }
}

TEST_F(SyncPoolTest, AnEmptyBatchIsAnsweredEmpty) {
  SyncPool pool(1);
  EXPECT_TRUE(Flush(pool, {}).empty());
  EXPECT_EQ(pool.flush_latency().Read().count, 0u);
}

TEST_F(SyncPoolTest, BatchesFromSeveralThreadsEachGetTheirOutcomesOnce) {
  constexpr int kSubmitters = 4;
  constexpr int kBatches = 50;
  std::vector<std::string> files;
  for (int i = 0; i < 8; ++i) files.push_back(MakeFile("wal-" + std::to_string(i)));
  std::mutex mu;
  int answered = 0;
  int targets_answered = 0;
  int failed = 0;
  std::atomic<int> targets_sent{0};
  {
    SyncPool pool(2);
    std::vector<std::thread> submitters;
    for (int s = 0; s < kSubmitters; ++s) {
      submitters.emplace_back([&, s] {
        for (int b = 0; b < kBatches; ++b) {
          const size_t n = 1 + static_cast<size_t>((s + b) % 5);
          std::vector<std::unique_ptr<SyncTarget>> targets;
          for (size_t i = 0; i < n; ++i) targets.push_back(Target(files[(b + i) % files.size()]));
          targets_sent += static_cast<int>(n);
          pool.Submit(std::move(targets), [&, n](std::vector<SyncOutcome> outcomes) {
            std::lock_guard<std::mutex> lock(mu);
            EXPECT_EQ(outcomes.size(), n);
            for (const SyncOutcome& outcome : outcomes) failed += outcome.ok ? 0 : 1;
            targets_answered += static_cast<int>(outcomes.size());
            ++answered;
          });
        }
      });
    }
    for (auto& t : submitters) t.join();
    // The pool's destructor finishes every submitted batch before it returns.
  }
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(answered, kSubmitters * kBatches);
  EXPECT_EQ(targets_answered, targets_sent.load());
  EXPECT_EQ(failed, 0);
}

}  // namespace
}  // namespace dorm::storage
