#include "cluster/wal_replay.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace dorm::cluster {
namespace {

[[noreturn]] void ThrowErrno(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

ReplayTarget::ReplayTarget(const std::string& path, std::string chain, long long max_bytes)
    : path_(path),
      fd_(::open(path.c_str(), O_RDWR | O_CLOEXEC)),
      chain_(std::move(chain)),
      max_bytes_(max_bytes) {
  if (fd_ < 0) ThrowErrno("cannot open", path);
}

ReplayTarget::~ReplayTarget() { ::close(fd_); }

void ReplayTarget::Apply(std::string_view encoded, std::string_view checksum) {
  std::string next = ChainChecksum(chain_, encoded);
  if (next != checksum) {
    throw std::runtime_error("checksum chain broken replaying " + path_);
  }
  CapturedCommit commit;
  std::string error;
  if (!DecodeCommit(encoded, &commit, &error)) {
    throw std::runtime_error("cannot replay into " + path_ + ": " + error);
  }
  ApplyPages(commit);
  chain_ = std::move(next);
}

void ReplayTarget::ApplyPages(const CapturedCommit& commit) {
  if (commit.overflow) throw std::runtime_error("an overflowed commit has no pages to replay");
  if (static_cast<long long>(commit.db_size) * commit.page_size > max_bytes_) {
    throw std::runtime_error("replaying into " + path_ + ": database of " +
                             std::to_string(commit.db_size) + " pages is over the limit");
  }
  for (const CommitPage& page : commit.pages) {
    if (page.page_number > commit.db_size) {
      throw std::runtime_error("replaying into " + path_ + ": page " +
                               std::to_string(page.page_number) + " past the database's " +
                               std::to_string(commit.db_size));
    }
  }
  // A database file's page size (bytes 16-17 of its header; 1 means 65536) must be the
  // commit's.
  unsigned char header[18];
  ssize_t got = ::pread(fd_, header, sizeof header, 0);
  if (got < 0) ThrowErrno("cannot read", path_);
  if (got == sizeof header && std::memcmp(header, "SQLite format 3", 16) == 0) {
    uint32_t size = (uint32_t{header[16]} << 8) | header[17];
    if (size == 1) size = 65536;
    if (size != commit.page_size) {
      throw std::runtime_error("page size " + std::to_string(commit.page_size) +
                               " does not match " + path_ + "'s " + std::to_string(size));
    }
  }
  for (const CommitPage& page : commit.pages) {
    if (page.data.size() != commit.page_size) throw std::runtime_error("page of the wrong size");
    off_t at = static_cast<off_t>(page.page_number - 1) * commit.page_size;
    size_t done = 0;
    while (done < page.data.size()) {
      ssize_t n = ::pwrite(fd_, page.data.data() + done, page.data.size() - done, at + done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ThrowErrno("cannot write", path_);
      done += static_cast<size_t>(n);
    }
  }
  if (::ftruncate(fd_, static_cast<off_t>(commit.db_size) * commit.page_size) != 0) {
    ThrowErrno("cannot truncate", path_);
  }
}

void ReplayTarget::Sync() {
  if (::fsync(fd_) != 0) ThrowErrno("cannot fsync", path_);
}

}  // namespace dorm::cluster
