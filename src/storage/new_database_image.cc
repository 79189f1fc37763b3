#include "storage/new_database_image.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace dorm::storage {

const char kObjectTablesSql[] =
    "CREATE TABLE IF NOT EXISTS _cf_KV (key TEXT PRIMARY KEY, value BLOB) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS _cf_METADATA (key TEXT PRIMARY KEY, value) WITHOUT ROWID;";

namespace {

std::string BuildImage() {
  sqlite3* db = nullptr;
  std::string image;
  std::string problem;
  if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    problem = db ? sqlite3_errmsg(db) : "out of memory";
  } else if (sqlite3_exec(db, kObjectTablesSql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    problem = sqlite3_errmsg(db);
  } else {
    sqlite3_int64 size = 0;
    unsigned char* bytes = sqlite3_serialize(db, "main", &size, 0);
    // The header's first 100 bytes and at least the schema page: anything else is not what
    // SQLite writes for a database with tables.
    if (!bytes || size < 4096) {
      problem = "cannot serialize the new database";
    } else {
      image.assign(reinterpret_cast<const char*>(bytes), static_cast<size_t>(size));
      // Bytes 18 and 19, the file format's write and read versions: 2 means WAL, which is all
      // that PRAGMA journal_mode=WAL changes in the file.
      image[18] = 2;
      image[19] = 2;
    }
    sqlite3_free(bytes);
  }
  sqlite3_close_v2(db);
  if (!problem.empty()) throw std::runtime_error("cannot build a new database's image: " + problem);
  return image;
}

}  // namespace

const std::string& NewDatabaseImage() {
  static const std::string image = BuildImage();
  return image;
}

bool WriteNewDatabase(const std::string& path, bool sync, std::string* error) {
  const std::string* built = nullptr;
  try {
    built = &NewDatabaseImage();
  } catch (const std::exception& e) {
    *error = e.what();
    return false;
  }
  const std::string& image = *built;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    *error = "cannot create " + path + ": " + std::strerror(errno);
    return false;
  }
  size_t done = 0;
  while (done < image.size()) {
    ssize_t n = ::pwrite(fd, image.data() + done, image.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error = "cannot write " + path + ": " + std::strerror(n < 0 ? errno : EIO);
      ::close(fd);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (sync && ::fdatasync(fd) != 0) {
    *error = "fdatasync " + path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  ::close(fd);
  return true;
}

bool IsUnfinishedNewDatabase(const std::string& path) {
  const std::string* built = nullptr;
  try {
    built = &NewDatabaseImage();
  } catch (const std::exception&) {
    return false;
  }
  const std::string& image = *built;
  struct stat wal {};
  if (::stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0) return false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  struct stat st {};
  // Not zero-filled first (a std::string would be): this runs on every open of a checkpointed
  // database whose first page still is the image's, and filling the buffer cost as much as the
  // rest of the check.
  std::unique_ptr<char[]> bytes;
  size_t size = 0;
  bool readable =
      ::fstat(fd, &st) == 0 && st.st_size > 0 && static_cast<size_t>(st.st_size) <= image.size();
  if (readable) {
    size = static_cast<size_t>(st.st_size);
    bytes.reset(new char[size]);
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::pread(fd, bytes.get() + done, size - done, static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
    readable = done == size;
  }
  ::close(fd);
  if (!readable || (size == image.size() && std::memcmp(bytes.get(), image.data(), size) == 0)) {
    return false;
  }
  // Runs equal to the image are skipped by memcmp: a database that was written to and
  // checkpointed usually still has the image's first page, and its first byte of its own comes
  // only after it.
  constexpr size_t kRun = 256;
  for (size_t i = 0; i < size;) {
    const size_t end = std::min(size, i + kRun);
    if (std::memcmp(bytes.get() + i, image.data() + i, end - i) == 0) {
      i = end;
      continue;
    }
    for (; i < end; ++i) {
      if (bytes[i] != image[i] && bytes[i] != '\0') return false;
    }
  }
  return true;
}

bool MayBeUnfinishedNewDatabase(const unsigned char* head, size_t head_bytes, uint64_t file_size) {
  const std::string* built = nullptr;
  try {
    built = &NewDatabaseImage();
  } catch (const std::exception&) {
    return false;
  }
  const std::string& image = *built;
  if (file_size == 0 || file_size > image.size() || head_bytes > file_size) return false;
  for (size_t i = 0; i < head_bytes; ++i) {
    if (head[i] != static_cast<unsigned char>(image[i]) && head[i] != 0) return false;
  }
  return true;
}

}  // namespace dorm::storage
