// The WAL capture shim and replay: random transactions on an object's database (opened the way
// the runtime opens it) are captured frame by frame, replayed onto a copy, and the copy must be
// byte-identical to the checkpointed original, pass integrity_check and answer the same queries.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "cluster/wal_capture_vfs.h"
#include "cluster/wal_replay.h"
#include "storage/object_database.h"
#include "util/crypto.h"

namespace dorm::cluster {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void Exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  ASSERT_EQ(rc, SQLITE_OK) << sql << ": " << message;
}

// Every table's rows (sorted) and the schema, as text: equal dumps answer every query alike.
std::string Dump(sqlite3* db) {
  std::string out;
  std::vector<std::pair<std::string, std::string>> tables;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY name",
                     -1, &st, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string type = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    std::string name = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
    out +=
        type + " " + name + ": " + reinterpret_cast<const char*>(sqlite3_column_text(st, 2)) + "\n";
    if (type == "table") tables.emplace_back(name, type);
  }
  sqlite3_finalize(st);
  for (const auto& [name, _] : tables) {
    std::vector<std::string> rows;
    std::string sql = "SELECT * FROM \"" + name + "\"";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      out += name + ": " + sqlite3_errmsg(db) + "\n";
      continue;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        const void* blob = sqlite3_column_blob(st, c);
        int length = sqlite3_column_bytes(st, c);
        // Values by length and hash: a failure prints a line per row, not the blobs.
        std::string value(static_cast<const char*>(blob ? blob : ""), length);
        row += std::to_string(sqlite3_column_type(st, c)) + ":" + std::to_string(length) + ":" +
               ToHex(Sha256(value)).substr(0, 16) + "|";
      }
      rows.push_back(std::move(row));
    }
    sqlite3_finalize(st);
    std::sort(rows.begin(), rows.end());
    out += name + " (" + std::to_string(rows.size()) + " rows)\n";
    for (const auto& row : rows) out += row + "\n";
  }
  return out;
}

std::string QueryText(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    return std::string("error: ") + sqlite3_errmsg(db);
  }
  std::string out;
  while (sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char* text = sqlite3_column_text(st, 0);
    out += std::string(text ? reinterpret_cast<const char*>(text) : "NULL") + "\n";
  }
  sqlite3_finalize(st);
  return out;
}

long long FileSize(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

class WalCaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterWalCaptureVfs());
    char tmpl[] = "/tmp/dorm-wal-capture-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    source_ = dir_ + "/source.sqlite";
    replica_ = dir_ + "/replica.sqlite";
    // Opened as the runtime opens an object's database in cluster mode: through the shim.
    storage::OpenSettings settings;
    settings.vfs = kWalCaptureVfs;
    db_ = storage::ObjectDatabase::Open(source_, true, nullptr, std::string(), settings);
    ASSERT_TRUE(db_);
    h_ = db_->handle();
    // The copy starts from the checkpointed original; from here on, commits are captured.
    Exec(h_, "PRAGMA wal_checkpoint(TRUNCATE)");
    std::filesystem::copy_file(source_, replica_);
    ASSERT_TRUE(SetCommitCallback(h_, [this](const CapturedCommit& commit) {
      ASSERT_FALSE(commit.overflow);
      commits_.push_back(commit);
      std::string encoded = EncodeCommit(commit);
      chain_ = ChainChecksum(chain_, encoded);
      log_.push_back({std::move(encoded), chain_});
    }));
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Replays the log onto the copy and compares it with the checkpointed original.
  void ExpectReplicaIdentical() {
    {
      ReplayTarget target(replica_, "");
      for (const auto& [encoded, checksum] : log_) target.Apply(encoded, checksum);
      EXPECT_EQ(target.chain(), chain_);
    }
    Exec(h_, "PRAGMA wal_checkpoint(TRUNCATE)");
    std::string original = ReadFile(source_);
    std::string copy = ReadFile(replica_);
    EXPECT_EQ(original.size(), copy.size());
    EXPECT_TRUE(original == copy) << "the replayed copy differs from the original";

    sqlite3* replica = nullptr;
    std::string uri = "file:" + replica_ + "?immutable=1";
    ASSERT_EQ(
        sqlite3_open_v2(uri.c_str(), &replica, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr),
        SQLITE_OK);
    EXPECT_EQ(QueryText(replica, "PRAGMA integrity_check"), "ok\n");
    EXPECT_EQ(Dump(replica), Dump(h_));
    for (const char* query : {"SELECT rowid FROM docs WHERE docs MATCH 'alpha' ORDER BY rowid",
                              "SELECT count(*) FROM docs WHERE docs MATCH 'beta OR gamma'"}) {
      EXPECT_EQ(QueryText(replica, query), QueryText(h_, query)) << query;
    }
    sqlite3_close(replica);
  }

  // Random transactions of every kind the runtime's databases see.
  void RandomWorkload(unsigned seed, int steps) {
    std::mt19937 random(seed);
    auto pick = [&](int n) { return static_cast<int>(random() % n); };
    const char* words[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta"};
    auto sentence = [&] {
      std::string s;
      for (int i = 0, n = 1 + pick(8); i < n; ++i) s += std::string(words[pick(6)]) + " ";
      return s;
    };
    Exec(h_, "CREATE VIRTUAL TABLE docs USING fts5(body)");
    Exec(h_, "CREATE TABLE t0 (id INTEGER PRIMARY KEY, a TEXT, b BLOB)");
    std::vector<std::string> live = {"t0"};
    int created = 1;
    for (int step = 0; step < steps; ++step) {
      std::string t = live[pick(static_cast<int>(live.size()))];
      switch (pick(12)) {
        case 0:
          live.push_back("t" + std::to_string(created++));
          Exec(h_, "CREATE TABLE " + live.back() + " (id INTEGER PRIMARY KEY, a TEXT, b BLOB)");
          break;
        case 1:
          Exec(h_, "CREATE INDEX IF NOT EXISTS " + t + "_a ON " + t + " (a)");
          break;
        case 2:  // overflow pages
          Exec(h_, "INSERT INTO " + t + " (a, b) VALUES ('big', randomblob(" +
                       std::to_string(5000 + pick(300000)) + "))");
          break;
        case 3:
          Exec(h_, "BEGIN");
          for (int i = 0, n = 1 + pick(50); i < n; ++i) {
            Exec(h_, "INSERT INTO " + t + " (a, b) VALUES ('" + sentence() + "', randomblob(" +
                         std::to_string(pick(400)) + "))");
          }
          Exec(h_, "COMMIT");
          break;
        case 4:
          Exec(h_, "UPDATE " + t + " SET a = a || 'x', b = randomblob(" +
                       std::to_string(pick(3000)) + ") WHERE id % 3 = " + std::to_string(pick(3)));
          break;
        case 5:
          Exec(h_, "DELETE FROM " + t + " WHERE id % 4 = " + std::to_string(pick(4)));
          break;
        case 6:
          Exec(h_, "INSERT INTO docs (body) VALUES ('" + sentence() + "')");
          if (pick(3) == 0) Exec(h_, "DELETE FROM docs WHERE rowid % 5 = 0");
          break;
        case 7:
          // The SQL guard allows no attached database, which VACUUM needs for its copy.
          sqlite3_limit(h_, SQLITE_LIMIT_ATTACHED, 1);
          Exec(h_, "VACUUM");
          sqlite3_limit(h_, SQLITE_LIMIT_ATTACHED, 0);
          break;
        case 8: {  // rolled back, large enough to spill pages into the log first
          Exec(h_, "BEGIN");
          Exec(h_, "INSERT INTO " + t + " (a, b) SELECT 'gone', randomblob(1000) FROM " +
                       "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE "
                       "x < 1500) SELECT x FROM c)");
          Exec(h_, "ROLLBACK");
          break;
        }
        case 9:  // a savepoint rolled back inside a committed transaction
          Exec(h_, "BEGIN");
          Exec(h_, "INSERT INTO " + t + " (a) VALUES ('kept')");
          Exec(h_, "SAVEPOINT s");
          Exec(h_, "INSERT INTO " + t + " (a, b) VALUES ('undone', randomblob(50000))");
          Exec(h_, "ROLLBACK TO s");
          Exec(h_, "RELEASE s");
          Exec(h_, "COMMIT");
          break;
        case 10:  // the runtime's own key-value path
          db_->Put("key" + std::to_string(pick(100)), std::string(pick(5000), 'v'));
          db_->Commit();
          break;
        case 11:  // checkpoints, and logs started over
          Exec(h_, pick(2) ? "PRAGMA wal_checkpoint(PASSIVE)" : "PRAGMA wal_checkpoint(TRUNCATE)");
          if (pick(4) == 0 && live.size() > 1) {
            Exec(h_, "DROP TABLE " + t);
            live.erase(std::find(live.begin(), live.end(), t));
          }
          break;
      }
    }
  }

  std::string dir_, source_, replica_;
  std::unique_ptr<storage::ObjectDatabase> db_;
  sqlite3* h_ = nullptr;
  std::vector<std::pair<std::string, std::string>> log_;  // (encoded commit, chain checksum)
  std::vector<CapturedCommit> commits_;                   // the same commits, decoded
  std::string chain_;
};

TEST_F(WalCaptureTest, RandomTransactionsReplayByteForByte) {
  RandomWorkload(1, 150);
  EXPECT_GT(log_.size(), 50u);
  ExpectReplicaIdentical();
}

// The runtime ships the commits made while a flush is in flight as one log row (MergeCommits):
// groups of random sizes, replayed, must give the same file as the commits one by one.
TEST_F(WalCaptureTest, MergedGroupsOfCommitsReplayByteForByte) {
  std::string sequential_copy = dir_ + "/sequential.sqlite";
  std::filesystem::copy_file(replica_, sequential_copy);
  RandomWorkload(3, 200);
  ASSERT_GT(commits_.size(), 50u);
  std::mt19937 random(7);
  {
    ReplayTarget merged(replica_, "");
    ReplayTarget sequential(sequential_copy, "");
    size_t groups = 0;
    for (size_t at = 0; at < commits_.size();) {
      size_t n = std::min<size_t>(commits_.size() - at, 1 + random() % 9);
      std::vector<CapturedCommit> group(commits_.begin() + at, commits_.begin() + at + n);
      CapturedCommit one = MergeCommits(group);
      EXPECT_EQ(one.db_size, group.back().db_size);
      merged.ApplyPages(one);
      for (const CapturedCommit& commit : group) sequential.ApplyPages(commit);
      at += n;
      ++groups;
    }
    EXPECT_LT(groups, commits_.size());
  }
  Exec(h_, "PRAGMA wal_checkpoint(TRUNCATE)");
  const std::string original = ReadFile(source_);
  EXPECT_TRUE(ReadFile(replica_) == original) << "merged groups replay differently";
  EXPECT_TRUE(ReadFile(sequential_copy) == original);
}

TEST(CommitFramesTest, MergedCommitsCarryZerosForPagesCutAndNotWrittenAgain) {
  auto page = [](uint32_t number, char fill) { return CommitPage{number, std::string(512, fill)}; };
  CapturedCommit grow{512, 3, {page(1, 'a'), page(2, 'b'), page(3, 'c')}};
  CapturedCommit shrink{512, 1, {page(1, 'd')}};
  CapturedCommit regrow{512, 3, {page(2, 'e')}};
  CapturedCommit merged = MergeCommits({grow, shrink, regrow});
  EXPECT_EQ(merged.db_size, 3u);
  ASSERT_EQ(merged.pages.size(), 3u);
  EXPECT_EQ(merged.pages[0].data, std::string(512, 'd'));
  EXPECT_EQ(merged.pages[1].data, std::string(512, 'e'));
  EXPECT_EQ(merged.pages[2].data, std::string(512, '\0'));  // cut by `shrink`, never rewritten
  EXPECT_THROW(MergeCommits({}), std::invalid_argument);
  CapturedCommit overflowed;
  overflowed.overflow = true;
  EXPECT_THROW(MergeCommits({grow, overflowed}), std::invalid_argument);
  CapturedCommit other_size{1024, 1, {CommitPage{1, std::string(1024, 'x')}}};
  EXPECT_THROW(MergeCommits({grow, other_size}), std::invalid_argument);
}

TEST_F(WalCaptureTest, RandomTransactionsReplayByteForByteOtherSeed) {
  RandomWorkload(2, 150);
  ExpectReplicaIdentical();
}

TEST_F(WalCaptureTest, RandomTransactionsReplayWithFullSync) {
  Exec(h_, "PRAGMA synchronous=FULL");
  RandomWorkload(3, 100);
  ExpectReplicaIdentical();
}

TEST_F(WalCaptureTest, RolledBackFramesAreNotCaptured) {
  Exec(h_, "CREATE VIRTUAL TABLE docs USING fts5(body)");
  Exec(h_, "CREATE TABLE t (b BLOB)");
  Exec(h_, "BEGIN");
  for (int i = 0; i < 20; ++i) Exec(h_, "INSERT INTO t VALUES (randomblob(100000))");
  Exec(h_, "COMMIT");
  size_t before = log_.size();
  long long committed_log = FileSize(source_ + "-wal");
  // Rewrites every existing page, more than the page cache holds: the rolled-back transaction's
  // pages go into the log after the committed frames before it rolls back.
  Exec(h_, "BEGIN");
  Exec(h_, "UPDATE t SET b = randomblob(100000)");
  Exec(h_, "INSERT INTO t SELECT randomblob(100000) FROM t");
  EXPECT_GT(FileSize(source_ + "-wal"), committed_log + (1 << 20));
  Exec(h_, "ROLLBACK");
  EXPECT_EQ(log_.size(), before);
  // The next transaction writes over the first of those frames; the rest must not be taken
  // for its own.
  Exec(h_, "INSERT INTO t VALUES (x'01')");
  ASSERT_EQ(log_.size(), before + 1);
  CapturedCommit commit;
  std::string error;
  ASSERT_TRUE(DecodeCommit(log_.back().first, &commit, &error)) << error;
  EXPECT_LE(commit.pages.size(), 3u);
  ExpectReplicaIdentical();
}

TEST_F(WalCaptureTest, PagesRewrittenInPlaceByALargeTransactionReplay) {
  Exec(h_, "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB)");
  Exec(h_, "INSERT INTO t (b) VALUES (randomblob(10))");
  // The transaction spills its pages into the log, then changes some of them again: SQLite
  // writes those frames over in place and rewrites the checksums of the frames after them once
  // the commit frame is written.
  Exec(h_, "BEGIN");
  for (int i = 0; i < 30; ++i) Exec(h_, "INSERT INTO t (b) VALUES (randomblob(60000))");
  for (int i = 0; i < 5; ++i) {
    Exec(h_, "UPDATE t SET b = randomblob(60000) WHERE id % 7 = " + std::to_string(i));
  }
  Exec(h_, "COMMIT");
  Exec(h_, "INSERT INTO t (b) VALUES (x'02')");
  Exec(h_, "UPDATE t SET b = randomblob(100) WHERE id = 1");
  ASSERT_EQ(log_.size(), 5u);
  ExpectReplicaIdentical();
}

TEST_F(WalCaptureTest, ACallbackThatThrowsFailsTheCommitEvenAfterReopening) {
  Exec(h_, "CREATE TABLE t (a)");
  Exec(h_, "INSERT INTO t VALUES (1)");
  ASSERT_EQ(log_.size(), 2u);
  ASSERT_TRUE(SetCommitCallback(h_, [](const CapturedCommit&) { throw std::runtime_error("no"); }));
  EXPECT_NE(sqlite3_exec(h_, "INSERT INTO t VALUES (2)", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_extended_errcode(h_), SQLITE_IOERR_WRITE);
  // The runtime resets an object whose commit failed: the database is closed and opened again,
  // and its log recovered. The failed transaction is not there.
  db_.reset();
  db_ = storage::ObjectDatabase::Open(source_, false);
  ASSERT_TRUE(db_);
  EXPECT_EQ(QueryText(db_->handle(), "SELECT group_concat(a) FROM t"), "1\n");
}

TEST_F(WalCaptureTest, ATransactionOverTheLimitIsReportedAsOverflow) {
  std::vector<CapturedCommit> seen;
  ASSERT_TRUE(SetCommitCallback(
      h_, [&](const CapturedCommit& commit) { seen.push_back(commit); }, 256 << 10));
  Exec(h_, "CREATE TABLE t (b BLOB)");
  Exec(h_, "INSERT INTO t VALUES (randomblob(1000000))");
  Exec(h_, "INSERT INTO t VALUES (x'01')");
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_FALSE(seen[0].overflow);
  EXPECT_TRUE(seen[1].overflow);
  EXPECT_TRUE(seen[1].pages.empty());
  EXPECT_FALSE(seen[2].overflow);
  EXPECT_FALSE(seen[2].pages.empty());
  EXPECT_THROW(EncodeCommit(seen[1]), std::invalid_argument);
}

TEST_F(WalCaptureTest, TheChainRejectsAlteredAndReorderedCommits) {
  Exec(h_, "CREATE TABLE t (a)");
  Exec(h_, "INSERT INTO t VALUES (1)");
  Exec(h_, "INSERT INTO t VALUES (2)");
  ASSERT_EQ(log_.size(), 3u);
  {
    ReplayTarget target(replica_, "");
    EXPECT_THROW(target.Apply(log_[1].first, log_[1].second), std::runtime_error);
    std::string altered = log_[0].first;
    altered[altered.size() - 1] ^= 1;
    EXPECT_THROW(target.Apply(altered, log_[0].second), std::runtime_error);
    EXPECT_EQ(target.chain(), "");
  }
  ExpectReplicaIdentical();
}

TEST(CommitFramesTest, DecodeRejectsMalformedBytes) {
  CapturedCommit commit{512, 2, {{1, std::string(512, 'a')}, {2, std::string(512, 'b')}}};
  std::string encoded = EncodeCommit(commit);
  CapturedCommit decoded;
  std::string error;
  ASSERT_TRUE(DecodeCommit(encoded, &decoded, &error));
  EXPECT_EQ(decoded.pages.size(), 2u);
  EXPECT_EQ(decoded.pages[1].data, std::string(512, 'b'));
  EXPECT_FALSE(DecodeCommit(encoded.substr(0, encoded.size() - 1), &decoded, &error));
  EXPECT_FALSE(DecodeCommit("DWC1", &decoded, &error));
  std::string bad_count = encoded;
  bad_count[15] = 100;  // claims 100 pages
  EXPECT_FALSE(DecodeCommit(bad_count, &decoded, &error));
  EXPECT_EQ(error, "length does not match 100 pages");
  std::string bad_size = encoded;
  bad_size[6] = 3;  // page size 0x300
  EXPECT_FALSE(DecodeCommit(bad_size, &decoded, &error));
  std::string page_zero = encoded;
  page_zero[19] = 0;
  EXPECT_FALSE(DecodeCommit(page_zero, &decoded, &error));
  EXPECT_EQ(error, "page number 0");
}

TEST(CommitFramesTest, ReplayRefusesPagesPastTheDatabaseAndOversizedDatabases) {
  char tmpl[] = "/tmp/dorm-replay-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string path = dir + "/copy.sqlite";
  { std::ofstream(path) << std::string(1024, '\0'); }
  ReplayTarget target(path, "", 1 << 20);
  CapturedCommit past{512, 1, {{2, std::string(512, 'a')}}};
  EXPECT_THROW(target.ApplyPages(past), std::runtime_error);
  CapturedCommit huge{512, 4096, {{1, std::string(512, 'a')}}};
  EXPECT_THROW(target.ApplyPages(huge), std::runtime_error);
  EXPECT_EQ(FileSize(path), 1024);  // nothing written
  CapturedCommit fine{512, 3, {{3, std::string(512, 'c')}}};
  target.ApplyPages(fine);
  EXPECT_EQ(ReadFile(path), std::string(1024, '\0') + std::string(512, 'c'));
  std::filesystem::remove_all(dir);
}

TEST(CommitFramesTest, OnlyDatabasesOpenedThroughTheShimTakeACallback) {
  ASSERT_TRUE(RegisterWalCaptureVfs());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  EXPECT_FALSE(SetCommitCallback(db, [](const CapturedCommit&) {}));
  sqlite3_close(db);
}

}  // namespace
}  // namespace dorm::cluster
