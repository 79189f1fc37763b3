#include "storage/database_file.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "storage/object_database.h"

namespace dorm::storage {
namespace {

void FlushPath(const std::string& path, bool folder) {
  int fd = ::open(path.c_str(), (folder ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) throw StorageError("cannot open " + path + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0) throw StorageError("cannot flush " + path + ": " + std::strerror(saved));
}

std::string FolderOf(const std::string& path) {
  return std::filesystem::path(path).parent_path().string();
}

void RemoveFile(const std::string& path) { ::unlink(path.c_str()); }

}  // namespace

void CopyDatabase(sqlite3* source, const std::string& target_path) {
  RemoveFile(target_path);
  RemoveFile(target_path + "-journal");
  sqlite3* target = nullptr;
  int rc =
      sqlite3_open_v2(target_path.c_str(), &target,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::string error;
  if (rc == SQLITE_OK) {
    sqlite3_backup* backup = sqlite3_backup_init(target, "main", source, "main");
    if (!backup) {
      error = sqlite3_errmsg(target);
      rc = SQLITE_ERROR;
    } else {
      // One step copies every page inside one read transaction of `source`.
      rc = sqlite3_backup_step(backup, -1);
      int finish = sqlite3_backup_finish(backup);
      if (rc == SQLITE_DONE) rc = finish;
      if (rc != SQLITE_OK) error = sqlite3_errstr(rc);
    }
  } else {
    error = target ? sqlite3_errmsg(target) : sqlite3_errstr(rc);
  }
  sqlite3_close_v2(target);
  if (rc == SQLITE_OK) {
    try {
      FlushPath(target_path, false);
      return;
    } catch (const StorageError& e) {
      error = e.what();
    }
  }
  RemoveFile(target_path);
  RemoveFile(target_path + "-journal");
  throw StorageError("cannot copy the database to " + target_path + ": " + error, rc);
}

std::string DatabaseFileProblem(const std::string& path) {
  sqlite3* db = nullptr;
  // immutable=1: nothing (no -wal, no -shm, no lock) is created next to the file being checked.
  const std::string uri = "file:" + path + "?immutable=1";
  int rc = sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return "not a database: " + message;
  }
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  std::string problem;
  sqlite3_stmt* st = nullptr;
  rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(1)", -1, &st, nullptr);
  if (rc != SQLITE_OK) {
    problem = std::string("not a database: ") + sqlite3_errmsg(db);
  } else if (sqlite3_step(st) != SQLITE_ROW) {
    problem = std::string("the integrity check failed: ") + sqlite3_errmsg(db);
  } else {
    const unsigned char* text = sqlite3_column_text(st, 0);
    std::string result = text ? reinterpret_cast<const char*>(text) : "";
    if (result != "ok") problem = "the integrity check failed: " + result.substr(0, 200);
  }
  sqlite3_finalize(st);
  if (problem.empty()) {
    st = nullptr;
    rc = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE type='table' AND name='_cf_KV'",
                            -1, &st, nullptr);
    if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
      problem = "not a Durable Object database (it has no _cf_KV table)";
    }
    sqlite3_finalize(st);
  }
  sqlite3_close_v2(db);
  return problem;
}

std::optional<long long> StoredAlarm(const std::string& path) {
  sqlite3* db = nullptr;
  const std::string uri = "file:" + path + "?immutable=1";
  int rc = sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  std::optional<long long> alarm;
  sqlite3_stmt* st = nullptr;
  if (rc == SQLITE_OK) {
    // The same row ObjectDatabase::GetAlarm reads. A database without _cf_METADATA never had an
    // alarm.
    rc = sqlite3_prepare_v2(db,
                            "SELECT value FROM _cf_METADATA WHERE key = 'alarm' AND "
                            "value IS NOT NULL",
                            -1, &st, nullptr);
    if (rc != SQLITE_OK && sqlite3_errmsg(db) &&
        std::strstr(sqlite3_errmsg(db), "no such table") != nullptr) {
      sqlite3_close_v2(db);
      return std::nullopt;
    }
  }
  if (rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) alarm = sqlite3_column_int64(st, 0);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE) rc = SQLITE_OK;
  }
  std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  sqlite3_finalize(st);
  sqlite3_close_v2(db);
  if (rc != SQLITE_OK) throw StorageError("cannot read the alarm of " + path + ": " + message, rc);
  return alarm;
}

void ReplaceDatabaseFile(const std::string& replacement, const std::string& database_path) {
  struct stat st;
  if (::stat(database_path.c_str(), &st) == 0) {
    // The old database may keep commits in its log only (objects close without checkpointing).
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(database_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
    if (rc == SQLITE_OK) {
      rc = sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA wal_checkpoint(TRUNCATE)", nullptr,
                        nullptr, nullptr);
    }
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    if (rc != SQLITE_OK) {
      throw StorageError("cannot checkpoint " + database_path + ": " + message, rc);
    }
  }
  const std::string folder = FolderOf(database_path);
  std::error_code ec;
  std::filesystem::create_directories(folder, ec);
  if (ec) throw StorageError("cannot create " + folder + ": " + ec.message());
  if (std::rename(replacement.c_str(), database_path.c_str()) != 0) {
    throw StorageError("cannot move " + replacement + " to " + database_path + ": " +
                       std::strerror(errno));
  }
  RemoveFile(database_path + "-wal");
  RemoveFile(database_path + "-shm");
  RemoveFile(database_path + "-journal");
  FlushPath(folder, true);
  FlushPath(FolderOf(folder), true);
}

}  // namespace dorm::storage
