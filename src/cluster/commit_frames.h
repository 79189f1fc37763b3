// One committed SQLite transaction as the pages it wrote, in the form stored in the cluster's
// log (log.frames), and the checksum chain that ties a log together.
//
// Encoding (all integers big-endian): "DWC1", page_size u32, db_size u32 (pages in the database
// after the transaction), count u32, then count times (page number u32, page_size bytes). Decoding
// checks every length: the bytes come from the network.
//
// Chain: checksum(n) = SHA-256(checksum(n−1) || encoding(n)), starting from the empty string (or
// from the checksum stored with the snapshot a restore starts from). A restore that recomputes
// the chain detects a missing, reordered or altered row.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dorm::cluster {

struct CommitPage {
  uint32_t page_number = 0;  // 1-based, as in SQLite
  std::string data;          // page_size bytes
};

struct CapturedCommit {
  uint32_t page_size = 0;
  uint32_t db_size = 0;  // database size in pages after the commit
  // Each page at most once, with its last content of the transaction; none past db_size.
  std::vector<CommitPage> pages;
  // The transaction wrote more than the capture's byte limit: `pages` is empty, and the object's
  // database must be shipped whole (a snapshot) instead.
  bool overflow = false;
};

std::string EncodeCommit(const CapturedCommit& commit);
// Parses `bytes`; false (with `error`) if they are not a well-formed encoding. An overflowed
// commit cannot be encoded (EncodeCommit throws std::invalid_argument).
bool DecodeCommit(std::string_view bytes, CapturedCommit* commit, std::string* error);

// The commits of `commits`, applied in order, as one commit: replaying the result (wal_replay.h)
// leaves a file exactly as replaying each in turn would. A page cut off by a commit that shrank
// the database and not written again before the database grew back is carried as zeros, as the
// file would hold it after the cut and the growth. Throws std::invalid_argument for no commits,
// an overflowed commit, or commits of different page sizes.
CapturedCommit MergeCommits(const std::vector<CapturedCommit>& commits);

// The next link of the chain: 32 bytes.
std::string ChainChecksum(std::string_view previous, std::string_view encoded_commit);

}  // namespace dorm::cluster
