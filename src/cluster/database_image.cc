#include "cluster/database_image.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "util/unique_fd.h"

namespace dorm::cluster {
namespace {

constexpr long long kWalHeaderBytes = 32;
constexpr long long kFrameHeaderBytes = 24;

[[noreturn]] void Fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

uint32_t ReadU32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

void ReadAt(int fd, void* buffer, size_t size, off_t offset, const std::string& path) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::pread(fd, static_cast<char*>(buffer) + got, size - got, offset + got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Fail("cannot read", path);
    if (n == 0) {
      errno = EIO;
      Fail("short log copy", path);
    }
    got += static_cast<size_t>(n);
  }
}

void WriteAt(int fd, const void* buffer, size_t size, off_t offset, const std::string& path) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pwrite(fd, static_cast<const char*>(buffer) + done, size - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail("cannot write", path);
    done += static_cast<size_t>(n);
  }
}

// Copies the first `length` bytes of `from` (all of it when negative) to a new file `to`.
void CopyFile(const std::string& from, const std::string& to, long long length) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.get() < 0) Fail("cannot open", from);
  if (length < 0) {
    struct stat st;
    if (::fstat(in.get(), &st) != 0) Fail("cannot stat", from);
    length = st.st_size;
  }
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (out.get() < 0) Fail("cannot create", to);
  long long left = length;
  while (left > 0) {
    ssize_t n =
        ::copy_file_range(in.get(), nullptr, out.get(), nullptr, static_cast<size_t>(left), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) Fail("cannot copy to", to);
    if (n == 0) {
      errno = EIO;
      Fail("shorter than expected:", from);
    }
    left -= n;
  }
}

}  // namespace

void CopyDatabaseFiles(const std::string& db_path, uint32_t wal_frames,
                       const std::string& image_path) {
  RemoveDatabaseImage(image_path);
  try {
    CopyFile(db_path, image_path, -1);
    if (wal_frames == 0) return;
    const std::string wal = db_path + "-wal";
    UniqueFd in(::open(wal.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) Fail("cannot open", wal);
    unsigned char header[kWalHeaderBytes];
    ReadAt(in.get(), header, sizeof header, 0, wal);
    const long long page_size = ReadU32(header + 8);
    if (page_size < 512 || page_size > 65536 || (page_size & (page_size - 1)) != 0) {
      errno = EINVAL;
      Fail("bad page size in", wal);
    }
    CopyFile(wal, image_path + "-frames",
             kWalHeaderBytes + wal_frames * (kFrameHeaderBytes + page_size));
  } catch (...) {
    RemoveDatabaseImage(image_path);
    throw;
  }
}

void BuildDatabaseImage(const std::string& image_path, long long max_bytes) {
  const std::string frames_path = image_path + "-frames";
  UniqueFd frames(::open(frames_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (frames.get() < 0) {
    if (errno == ENOENT) return;  // no committed frame: the main file is the database
    Fail("cannot open", frames_path);
  }
  struct stat st;
  if (::fstat(frames.get(), &st) != 0) Fail("cannot stat", frames_path);
  unsigned char header[kWalHeaderBytes];
  ReadAt(frames.get(), header, sizeof header, 0, frames_path);
  const long long page_size = ReadU32(header + 8);
  const long long frame_bytes = kFrameHeaderBytes + page_size;
  const long long count = (st.st_size - kWalHeaderBytes) / frame_bytes;
  UniqueFd image(::open(image_path.c_str(), O_RDWR | O_CLOEXEC));
  if (image.get() < 0) Fail("cannot open", image_path);
  std::string frame(static_cast<size_t>(frame_bytes), '\0');
  auto* bytes = reinterpret_cast<const unsigned char*>(frame.data());
  uint32_t db_size = 0;
  for (long long i = 0; i < count; ++i) {
    ReadAt(frames.get(), frame.data(), frame.size(), kWalHeaderBytes + i * frame_bytes,
           frames_path);
    const uint32_t page_number = ReadU32(bytes);
    if (page_number == 0 || page_number * page_size > max_bytes) {
      errno = ERANGE;
      Fail("a frame's page past the object size limit in", frames_path);
    }
    WriteAt(image.get(), bytes + kFrameHeaderBytes, static_cast<size_t>(page_size),
            (page_number - 1) * page_size, image_path);
    db_size = ReadU32(bytes + 4);
  }
  // The copy ends with a commit frame, which says the database's size in pages.
  if (count == 0 || db_size == 0) {
    errno = EINVAL;
    Fail("the log copy does not end with a commit:", frames_path);
  }
  if (::ftruncate(image.get(), static_cast<off_t>(db_size) * page_size) != 0) {
    Fail("cannot cut", image_path);
  }
  ::unlink(frames_path.c_str());
}

void RemoveDatabaseImage(const std::string& image_path) noexcept {
  ::unlink(image_path.c_str());
  ::unlink((image_path + "-frames").c_str());
}

}  // namespace dorm::cluster
