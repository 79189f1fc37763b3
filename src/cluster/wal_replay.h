// Applies captured commits to a copy of an object's database file.
//
// The copy is a database file with no write-ahead log of its own (a snapshot, or the result of
// earlier replays). Each commit's pages are written at (page number − 1) × page size and the
// file is cut (or extended) to the commit's db_size pages: exactly what SQLite's checkpoint does
// with the same frames, so after the same commits the copy equals the checkpointed original byte
// for byte. The chain of checksums is checked before anything is written.
//
// Threading: a ReplayTarget is used by one thread at a time. Methods throw std::runtime_error.
#pragma once

#include <string>
#include <string_view>

#include "cluster/commit_frames.h"

namespace dorm::cluster {

class ReplayTarget {
 public:
  // Opens the file at `path` (which must exist). `chain` is the checksum the next commit's
  // chain link extends (empty at the start of a log). A commit that would make the file larger
  // than `max_bytes` (by default the largest object database, --max-object-storage-mb) is
  // refused: the bytes come from the network.
  ReplayTarget(const std::string& path, std::string chain, long long max_bytes = 10240LL << 20);
  ~ReplayTarget();
  ReplayTarget(const ReplayTarget&) = delete;
  ReplayTarget& operator=(const ReplayTarget&) = delete;

  // Checks that ChainChecksum(chain, encoded) == checksum, decodes and applies the commit.
  // Throws (writing nothing) on a broken chain, a malformed encoding, or a page size that
  // differs from the file's; throws on an I/O error (the file is then in an unknown state).
  void Apply(std::string_view encoded, std::string_view checksum);
  // Applies a decoded commit without a chain check. Throws, writing nothing, for a commit past
  // `max_bytes` or with a page past its db_size.
  void ApplyPages(const CapturedCommit& commit);
  // fsyncs the file.
  void Sync();

  const std::string& chain() const { return chain_; }

 private:
  std::string path_;
  int fd_;
  std::string chain_;
  long long max_bytes_;
};

}  // namespace dorm::cluster
