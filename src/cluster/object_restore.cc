#include "cluster/object_restore.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
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
  const std::string batch = std::to_string(kRowsPerRead);
  for (;;) {
    const std::string after = std::to_string(restored.seq);
    PgResult rows = connection.Exec(
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
      target->Apply(rows.Bytes(i, 1), checksum);
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

}  // namespace dorm::cluster
