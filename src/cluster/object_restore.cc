#include "cluster/object_restore.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <stdexcept>

#include "cluster/snapshot_image.h"
#include "cluster/wal_replay.h"

namespace dorm::cluster {
namespace {

// Rows fetched per statement: bounds the memory a restore holds (a row carries one flush's
// pages).
constexpr int kRowsPerRead = 16;

constexpr const char* kReadRows = R"sql(
SELECT seq, frames, checksum FROM log
WHERE object = $1 AND seq > $2::bigint ORDER BY seq LIMIT $3::integer)sql";

void RemoveIfPresent(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw std::runtime_error("cannot remove " + path + ": " + std::strerror(errno));
  }
}

void CheckIntegrity(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  std::string result;
  if (rc == SQLITE_OK) {
    // Exclusive: no shared-memory index beside the file, which the object then opens alone.
    rc = sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE", nullptr, nullptr, nullptr);
  }
  if (rc == SQLITE_OK) {
    sqlite3_stmt* st = nullptr;
    rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr);
    if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(st, 0);
      result = text ? reinterpret_cast<const char*>(text) : "";
    }
    sqlite3_finalize(st);
  }
  std::string error = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  sqlite3_close_v2(db);
  if (result != "ok") {
    throw std::runtime_error("restored database fails its integrity check: " +
                             (result.empty() ? error : result.substr(0, 200)));
  }
}

// A snapshot stored whole in `snapshots.image` (before pieces) written to `path`.
void WriteInlineImage(PgConnection& connection, const std::string& object, long long seq,
                      const std::string& path, long long max_bytes) {
  const std::string s = std::to_string(seq);
  PgResult row =
      connection.ExecBinary("SELECT image FROM snapshots WHERE object = $1 AND seq = $2::bigint",
                            {PgParam::Text(object), PgParam::Text(s)});
  if (row.rows() != 1) throw std::runtime_error("the snapshot of " + object + " went away");
  std::string image = row.Bytes(0, 0);
  if (static_cast<long long>(image.size()) > max_bytes) {
    throw std::runtime_error("the snapshot of " + object + " is over the object size limit");
  }
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  size_t written = 0;
  while (written < image.size()) {
    ssize_t n = ::write(fd, image.data() + written, image.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    }
    written += static_cast<size_t>(n);
  }
  ::close(fd);
}

}  // namespace

RestoredObject RestoreObject(PgConnection& connection, const std::string& object,
                             const std::string& path, long long max_bytes) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) RemoveIfPresent(path + suffix);
  RestoredObject restored;
  std::unique_ptr<ReplayTarget> target;
  // Binary rows: images and frames come as stored, not as hex text twice their size. The image
  // itself is read here only for a snapshot from before pieces (schema version 9 and older).
  PgResult snapshot = connection.ExecBinary(
      "SELECT seq, checksum, image_bytes, image_digest, image IS NULL FROM snapshots "
      "WHERE object = $1 ORDER BY seq DESC LIMIT 1",
      {PgParam::Text(object)});
  if (snapshot.rows() == 1) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
    restored.seq = snapshot.Int(0, 0);
    restored.snapshot_seq = restored.seq;
    restored.chain = snapshot.Bytes(0, 1);
    if (snapshot.Bool(0, 4)) {
      SnapshotImage image;
      image.bytes = snapshot.IsNull(0, 2) ? -1 : snapshot.Int(0, 2);
      image.digest = snapshot.IsNull(0, 3) ? std::string() : snapshot.Bytes(0, 3);
      LoadSnapshotImage(connection, object, restored.seq, image, path, max_bytes);
    } else {
      WriteInlineImage(connection, object, restored.seq, path, max_bytes);
    }
    target = std::make_unique<ReplayTarget>(path, restored.chain, max_bytes);
  }
  const std::string batch = std::to_string(kRowsPerRead);
  for (;;) {
    const std::string after = std::to_string(restored.seq);
    PgResult rows = connection.ExecBinary(
        kReadRows, {PgParam::Text(object), PgParam::Text(after), PgParam::Text(batch)});
    if (rows.rows() == 0) break;
    if (!target) {
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
      int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
      ::close(fd);
      target = std::make_unique<ReplayTarget>(path, std::string(), max_bytes);
    }
    for (int i = 0; i < rows.rows(); ++i) {
      long long seq = rows.Int(i, 0);
      if (seq != restored.seq + 1) {
        throw std::runtime_error("the log of " + object + " has no row " +
                                 std::to_string(restored.seq + 1));
      }
      std::string checksum = rows.Bytes(i, 2);
      std::string frames = rows.Bytes(i, 1);
      target->Apply(frames, checksum);
      restored.tail_bytes += static_cast<long long>(frames.size());
      restored.seq = seq;
      restored.chain = std::move(checksum);
    }
    if (rows.rows() < kRowsPerRead) break;
  }
  if (!target) return restored;
  target->Sync();
  target.reset();
  CheckIntegrity(path);
  return restored;
}

long long CompactLog(PgConnection& connection, const std::string& object, const std::string& node,
                     long long epoch, const std::string& scratch_path, long long max_bytes) {
  auto remove_scratch = [&scratch_path] {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
      ::unlink((scratch_path + suffix).c_str());
    }
  };
  try {
    RestoredObject rebuilt = RestoreObject(connection, object, scratch_path, max_bytes);
    if (rebuilt.seq <= rebuilt.snapshot_seq) {
      remove_scratch();
      return 0;
    }
    const std::string e = std::to_string(epoch);
    const std::string seq = std::to_string(rebuilt.seq);
    connection.Exec("BEGIN");
    try {
      PgResult owned = connection.Exec(
          "SELECT 1 FROM owners WHERE object = $1 AND node = $2 AND epoch = $3::bigint FOR SHARE",
          {PgParam::Text(object), PgParam::Text(node), PgParam::Text(e)});
      // A newer snapshot (an overflowed commit shipped whole meanwhile) makes this one moot.
      PgResult newer =
          connection.Exec("SELECT 1 FROM snapshots WHERE object = $1 AND seq >= $2::bigint",
                          {PgParam::Text(object), PgParam::Text(seq)});
      if (owned.rows() == 0 || newer.rows() > 0) {
        connection.Exec("ROLLBACK");
        remove_scratch();
        return 0;
      }
      // Streamed from the scratch file, a piece at a time.
      InsertSnapshot(connection, object, rebuilt.seq, scratch_path,
                     [&rebuilt](const SnapshotImage&) { return rebuilt.chain; });
      connection.Exec("COMMIT");
    } catch (...) {
      connection.RollbackAfterFailure();
      throw;
    }
    remove_scratch();
    return rebuilt.seq;
  } catch (...) {
    remove_scratch();
    throw;
  }
}

}  // namespace dorm::cluster
