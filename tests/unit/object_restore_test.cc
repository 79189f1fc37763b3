// Restoring an object from the cluster's log (RestoreObject) and replacing the log by a snapshot
// (CompactLog), against a real PostgreSQL: a database written through the WAL capture (opened as
// the runtime opens it in cluster mode) has its commits stored as log rows; the file rebuilt from
// the log, before and after a snapshot, must equal the checkpointed original byte for byte.
#include "cluster/object_restore.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cluster/cluster_schema.h"
#include "cluster/commit_snapshot.h"
#include "cluster/database_image.h"
#include "cluster/snapshot_image.h"
#include "cluster/wal_capture_vfs.h"
#include "postgres_server.h"
#include "storage/object_database.h"

namespace dorm::cluster {
namespace {

std::string FileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ObjectRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterWalCaptureVfs());
    connection_ = PgConnection::Connect(testing::PostgresServer::Shared().NewDatabase(),
                                        std::chrono::seconds(10));
    MigrateSchema(*connection_);
    connection_->Exec("INSERT INTO owners (object, node, epoch) VALUES ($1, 'n1', 3)",
                      {PgParam::Text(kObject)});
    char tmpl[] = "/tmp/dorm-restore-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    source_ = dir_ + "/source.sqlite";
    storage::OpenSettings settings;
    settings.vfs = kWalCaptureVfs;
    settings.on_connection = [this](sqlite3* db) {
      ASSERT_TRUE(SetCommitCallback(db, [this](const CapturedCommit& commit) {
        ASSERT_FALSE(commit.overflow);
        pending_.push_back(commit);
      }));
    };
    db_ = storage::ObjectDatabase::Open(source_, true, nullptr, std::string(), settings);
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Exec(const std::string& sql) {
    ASSERT_EQ(sqlite3_exec(db_->handle(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sql << ": " << sqlite3_errmsg(db_->handle());
  }

  // Ships what was committed since the last call as one log row, as the runtime does per flush.
  void Ship() {
    if (pending_.empty()) return;
    std::string frames = EncodeCommit(MergeCommits(pending_));
    pending_.clear();
    chain_ = ChainChecksum(chain_, frames);
    ++seq_;
    std::string seq = std::to_string(seq_);
    connection_->Exec(
        "INSERT INTO log (object, seq, epoch, node, frames, db_size, checksum) "
        "VALUES ($1, $2::bigint, 3, 'n1', $3, 0, $4)",
        {PgParam::Text(kObject), PgParam::Text(seq), PgParam::Binary(frames),
         PgParam::Binary(chain_)});
  }

  void Workload(int round) {
    Exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, a TEXT, b BLOB)");
    Exec("CREATE VIRTUAL TABLE IF NOT EXISTS docs USING fts5(body)");
    for (int i = 0; i < 20; ++i) {
      Exec("INSERT INTO t (a, b) VALUES ('row " + std::to_string(round * 100 + i) +
           "', randomblob(" + std::to_string(50 + (i * 997) % 3000) + "))");
      if (i % 3 == 0) Ship();
    }
    Exec("INSERT INTO t (a, b) VALUES ('big', randomblob(700000))");
    Exec("INSERT INTO docs (body) VALUES ('alpha beta round " + std::to_string(round) + "')");
    Ship();
    Exec("DELETE FROM t WHERE id % 4 = " + std::to_string(round % 4));
    db_->Put("k" + std::to_string(round), std::string(5000, 'v'));
    db_->Commit();
    Ship();
  }

  void ExpectRestoredIdentical(const RestoredObject& restored, const std::string& path) {
    EXPECT_EQ(restored.seq, seq_);
    EXPECT_EQ(restored.chain, chain_);
    ASSERT_EQ(
        sqlite3_exec(db_->handle(), "PRAGMA wal_checkpoint(TRUNCATE)", nullptr, nullptr, nullptr),
        SQLITE_OK);
    EXPECT_TRUE(FileBytes(path) == FileBytes(source_)) << "the restored file differs";
  }

  static constexpr const char* kObject = "app\nclass\nobject-1";
  std::unique_ptr<PgConnection> connection_;
  std::string dir_, source_;
  std::unique_ptr<storage::ObjectDatabase> db_;
  std::vector<CapturedCommit> pending_;
  std::string chain_;
  long long seq_ = 0;
};

TEST_F(ObjectRestoreTest, AnObjectWithoutRowsHasNoFile) {
  const std::string path = dir_ + "/none/restored.sqlite";
  RestoredObject restored = RestoreObject(*connection_, "app\nclass\nnever", path, 1LL << 30);
  EXPECT_EQ(restored.seq, 0);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(ObjectRestoreTest, RestoresFromTheLogThenFromASnapshotAndTheRowsAfterIt) {
  // The table creation of Open() is the first commit: shipped with the first rows.
  for (int round = 0; round < 3; ++round) Workload(round);
  const std::string restored_path = dir_ + "/objects/restored.sqlite";
  RestoredObject restored = RestoreObject(*connection_, kObject, restored_path, 1LL << 30);
  EXPECT_EQ(restored.snapshot_seq, 0);
  EXPECT_GT(restored.tail_bytes, 2000000);
  ExpectRestoredIdentical(restored, restored_path);

  // A node that no longer owns the object at its epoch leaves the log alone.
  EXPECT_EQ(CompactLog(*connection_, kObject, "n1", 2, dir_ + "/scratch", 1LL << 30), 0);
  EXPECT_EQ(CompactLog(*connection_, kObject, "n2", 3, dir_ + "/scratch", 1LL << 30), 0);
  EXPECT_EQ(connection_->Exec("SELECT count(*) FROM snapshots").Int(0, 0), 0);

  const long long before = seq_;
  EXPECT_EQ(CompactLog(*connection_, kObject, "n1", 3, dir_ + "/scratch", 1LL << 30), before);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/scratch"));
  EXPECT_EQ(connection_->Exec("SELECT count(*) FROM log").Int(0, 0), 0);
  // Nothing new: no second snapshot.
  EXPECT_EQ(CompactLog(*connection_, kObject, "n1", 3, dir_ + "/scratch", 1LL << 30), 0);

  for (int round = 3; round < 5; ++round) Workload(round);
  // VACUUM renumbers pages (only the captured pages can say so); the SQL guard allows no
  // attached database, which VACUUM needs for its copy.
  sqlite3_limit(db_->handle(), SQLITE_LIMIT_ATTACHED, 1);
  Exec("VACUUM");
  sqlite3_limit(db_->handle(), SQLITE_LIMIT_ATTACHED, 0);
  Ship();
  restored = RestoreObject(*connection_, kObject, restored_path, 1LL << 30);
  EXPECT_EQ(restored.snapshot_seq, before);
  ExpectRestoredIdentical(restored, restored_path);

  // A second snapshot replaces the first.
  EXPECT_EQ(CompactLog(*connection_, kObject, "n1", 3, dir_ + "/scratch", 1LL << 30), seq_);
  EXPECT_EQ(connection_->Exec("SELECT count(*) FROM snapshots").Int(0, 0), 1);
  restored = RestoreObject(*connection_, kObject, restored_path, 1LL << 30);
  ExpectRestoredIdentical(restored, restored_path);
}

TEST_F(ObjectRestoreTest, AGapOrAnAlteredRowFailsTheRestore) {
  Workload(0);
  const std::string restored_path = dir_ + "/restored.sqlite";
  connection_->Exec("UPDATE log SET checksum = '\\x00'::bytea WHERE object = $1 AND seq = 2",
                    {PgParam::Text(kObject)});
  EXPECT_THROW(RestoreObject(*connection_, kObject, restored_path, 1LL << 30), std::runtime_error);
  connection_->Exec("DELETE FROM log WHERE object = $1 AND seq = 2", {PgParam::Text(kObject)});
  try {
    RestoreObject(*connection_, kObject, restored_path, 1LL << 30);
    FAIL() << "a gap was not noticed";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("has no row 2"), std::string::npos) << e.what();
  }
}

TEST_F(ObjectRestoreTest, ASnapshotGoesInPiecesThatARestoreChecks) {
  for (int round = 0; round < 2; ++round) Workload(round);
  for (int i = 0; i < 3; ++i) Exec("INSERT INTO t (a, b) VALUES ('more', randomblob(3000000))");
  Ship();
  EXPECT_EQ(CompactLog(*connection_, kObject, "n1", 3, dir_ + "/scratch", 1LL << 30), seq_);
  PgResult snapshot = connection_->Exec(
      "SELECT image IS NULL, image_bytes, (SELECT count(*) FROM snapshot_pieces p WHERE p.object = "
      "s.object AND p.seq = s.seq), (SELECT max(length(bytes)) FROM snapshot_pieces) "
      "FROM snapshots s");
  ASSERT_EQ(snapshot.rows(), 1);
  EXPECT_TRUE(snapshot.Bool(0, 0));
  const long long bytes = snapshot.Int(0, 1);
  EXPECT_EQ(snapshot.Int(0, 2), (bytes + kSnapshotPieceBytes - 1) / kSnapshotPieceBytes);
  EXPECT_GT(snapshot.Int(0, 2), 1);
  EXPECT_EQ(snapshot.Int(0, 3), static_cast<long long>(kSnapshotPieceBytes));
  const std::string path = dir_ + "/restored.sqlite";
  ExpectRestoredIdentical(RestoreObject(*connection_, kObject, path, 1LL << 30), path);

  // Below the image's size: refused before a piece is read.
  EXPECT_THROW(RestoreObject(*connection_, kObject, path, bytes - 1), std::runtime_error);
  // A piece altered, or missing: the size or digest does not match.
  connection_->Exec(
      "UPDATE snapshot_pieces SET bytes = overlay(bytes placing '\\x01'::bytea "
      "from 5000) WHERE piece = 1");
  EXPECT_THROW(RestoreObject(*connection_, kObject, path, 1LL << 30), std::runtime_error);
  connection_->Exec("DELETE FROM snapshot_pieces WHERE piece = 1");
  try {
    RestoreObject(*connection_, kObject, path, 1LL << 30);
    FAIL() << "a missing piece was not noticed";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("does not match its size and digest"), std::string::npos)
        << e.what();
  }
}

// A transaction past the capture's limit: the database as of its commit (the main file and the
// log's committed frames, copied aside) is shipped as a snapshot at its seq, under the owners
// fence, with its alarm; the rows after it extend its chain value, and a restore rebuilds it all.
TEST_F(ObjectRestoreTest, AnOverflowedCommitIsShippedWhole) {
  bool overflowed = false;
  ASSERT_TRUE(SetCommitCallback(
      db_->handle(),
      [this, &overflowed](const CapturedCommit& commit) {
        if (commit.overflow) {
          overflowed = true;
        } else {
          pending_.push_back(commit);
        }
      },
      1 << 20));
  Workload(0);
  Exec("BEGIN");
  Exec("INSERT INTO t (a, b) VALUES ('huge', randomblob(3000000))");
  Exec("DELETE FROM t WHERE id % 5 = 1");
  Exec("COMMIT");
  ASSERT_TRUE(overflowed);
  ASSERT_TRUE(pending_.empty());
  std::optional<uint32_t> frames = CommittedWalFrames(db_->handle());
  ASSERT_TRUE(frames);
  EXPECT_GT(*frames, 0u);
  const std::string image = dir_ + "/image";
  CopyDatabaseFiles(source_, *frames, image);
  // The object goes on writing (and a transaction is open) while the copy is shipped.
  Exec("BEGIN");
  Exec("INSERT INTO t (a, b) VALUES ('later', randomblob(2000))");

  LogRow row;
  row.object = kObject;
  row.seq = seq_ + 1;
  row.epoch = 2;  // not the owner's epoch: fenced, nothing written
  row.checksum = chain_;
  row.alarm = LogRow::Alarm::kSet;
  row.alarm_ms = 1234567;
  row.alarm_name = "named";
  BuildDatabaseImage(image, 1LL << 30);
  EXPECT_FALSE(ShipSnapshotCommit(*connection_, "n1", row, image));
  EXPECT_EQ(connection_->Exec("SELECT count(*) FROM snapshots").Int(0, 0), 0);
  row.epoch = 3;
  std::optional<std::string> chain = ShipSnapshotCommit(*connection_, "n1", row, image);
  ASSERT_TRUE(chain);
  RemoveDatabaseImage(image);
  seq_ = row.seq;
  chain_ = *chain;
  EXPECT_EQ(connection_->Exec("SELECT count(*) FROM log").Int(0, 0), 0);
  EXPECT_EQ(
      connection_->Exec("SELECT (extract(epoch FROM at) * 1000)::bigint || ' ' || name FROM alarms")
          .Text(0, 0),
      "1234567 named");

  Exec("COMMIT");
  Workload(1);
  const std::string path = dir_ + "/restored.sqlite";
  RestoredObject restored = RestoreObject(*connection_, kObject, path, 1LL << 30);
  EXPECT_EQ(restored.snapshot_seq, row.seq);
  ExpectRestoredIdentical(restored, path);
}

}  // namespace
}  // namespace dorm::cluster
