#include "cluster/object_restore.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>

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

}  // namespace

RestoredObject RestoreObject(PgConnection& connection, const std::string& object,
                             const std::string& path, long long max_bytes) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) RemoveIfPresent(path + suffix);
  RestoredObject restored;
  std::unique_ptr<ReplayTarget> target;
  // Binary rows: images and frames come as stored, not as hex text twice their size.
  PgResult snapshot = connection.ExecBinary(
      "SELECT seq, image, checksum FROM snapshots WHERE object = $1 ORDER BY seq DESC LIMIT 1",
      {PgParam::Text(object)});
  if (snapshot.rows() == 1) {
    std::string image = snapshot.Bytes(0, 1);
    if (static_cast<long long>(image.size()) > max_bytes) {
      throw std::runtime_error("the snapshot of " + object + " is over the object size limit");
    }
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
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
    restored.seq = snapshot.Int(0, 0);
    restored.snapshot_seq = restored.seq;
    restored.chain = snapshot.Bytes(0, 2);
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
  RestoredObject rebuilt;
  std::string image;
  try {
    rebuilt =
        RestoreObject(connection, object, scratch_path, std::min(max_bytes, kMaxSnapshotBytes));
    if (rebuilt.seq > rebuilt.snapshot_seq) {
      std::ifstream in(scratch_path, std::ios::binary);
      image.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      if (in.bad()) throw std::runtime_error("cannot read " + scratch_path);
    }
  } catch (...) {
    remove_scratch();
    throw;
  }
  remove_scratch();
  if (rebuilt.seq <= rebuilt.snapshot_seq) return 0;
  const std::string seq = std::to_string(rebuilt.seq);
  const std::string e = std::to_string(epoch);
  connection.Exec("BEGIN");
  try {
    PgResult owned = connection.Exec(
        "SELECT 1 FROM owners WHERE object = $1 AND node = $2 AND epoch = $3::bigint FOR SHARE",
        {PgParam::Text(object), PgParam::Text(node), PgParam::Text(e)});
    if (owned.rows() == 0) {
      connection.Exec("ROLLBACK");
      return 0;
    }
    connection.Exec(
        "INSERT INTO snapshots (object, seq, image, checksum) VALUES ($1, $2::bigint, $3, $4) "
        "ON CONFLICT (object, seq) DO NOTHING",
        {PgParam::Text(object), PgParam::Text(seq), PgParam::Binary(image),
         PgParam::Binary(rebuilt.chain)});
    connection.Exec("DELETE FROM snapshots WHERE object = $1 AND seq < $2::bigint",
                    {PgParam::Text(object), PgParam::Text(seq)});
    connection.Exec("DELETE FROM log WHERE object = $1 AND seq <= $2::bigint",
                    {PgParam::Text(object), PgParam::Text(seq)});
    connection.Exec("COMMIT");
  } catch (...) {
    connection.RollbackAfterFailure();
    throw;
  }
  return rebuilt.seq;
}

}  // namespace dorm::cluster
