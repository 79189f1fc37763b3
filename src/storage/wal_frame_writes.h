// Joins the two writes SQLite makes for each write-ahead-log frame into one.
//
// SQLite writes a WAL frame as two writes: its 24-byte header, then the page right after it
// (wal.c, walWriteOneFrame). Each is a pwrite() of its own, and the header's, a partial-page
// write, pays all of a write's fixed costs (the system call, the file system's write path, the
// file's time update) for 24 bytes. A counter's increment commits one frame, so that is half of
// its writes. PendingFrameHeader holds a frame header back until the file's next operation: when
// that is the write of the bytes right after it, header and page go out as one write; before any
// other operation (another write, a read, a sync, a truncation, a size query, a close) the header
// is written alone first, so nothing can observe the file without it.
//
// The joined write is what SQLite asked for, at the same offsets: a crash leaves the log as one of
// the two writes could have (a frame is valid only with its checksum, which covers the page).
//
// Threading: a file's PendingFrameHeader is used by the thread that uses the file (SQLite's rule).
// The buffer that joins the two is per thread.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <cstring>

namespace dorm::storage {

struct PendingFrameHeader {
  static constexpr int kSize = 24;  // WAL_FRAME_HDRSIZE
  bool held = false;
  sqlite3_int64 offset = 0;
  unsigned char bytes[kSize];
};

// The database's size in pages that a frame header records: nonzero only in a transaction's last
// frame, its commit frame (the size after the commit; SQLite's WAL file format). `header` holds
// PendingFrameHeader::kSize bytes.
inline uint32_t CommitSizeInFrameHeader(const void* header) {
  const auto* bytes = static_cast<const unsigned char*>(header);
  return (static_cast<uint32_t>(bytes[4]) << 24) | (static_cast<uint32_t>(bytes[5]) << 16) |
         (static_cast<uint32_t>(bytes[6]) << 8) | static_cast<uint32_t>(bytes[7]);
}

// A per-thread buffer of at least `size` bytes (grown as needed, kept for the thread's life), or
// nullptr if it cannot be allocated.
unsigned char* FrameJoinBuffer(size_t size) noexcept;

// Writes `pending`'s header alone, if one is held. `write(buffer, amount, offset)` is the file's
// own write and returns an SQLite result code. Returns SQLITE_OK or the write's error (the header
// is then dropped: SQLite fails the transaction that wrote it).
template <typename Write>
int WritePendingFrameHeader(PendingFrameHeader* pending, Write&& write) {
  if (!pending->held) return SQLITE_OK;
  pending->held = false;
  return write(pending->bytes, PendingFrameHeader::kSize, pending->offset);
}

// A write of a write-ahead log: a frame header is held back, the page that follows a held header
// is written with it, anything else writes a held header first.
template <typename Write>
int WriteJoiningFrames(PendingFrameHeader* pending, const void* buffer, int amount,
                       sqlite3_int64 offset, Write&& write) {
  if (pending->held) {
    if (offset == pending->offset + PendingFrameHeader::kSize && amount > 0) {
      const size_t joined =
          static_cast<size_t>(PendingFrameHeader::kSize) + static_cast<size_t>(amount);
      if (unsigned char* out = FrameJoinBuffer(joined)) {
        pending->held = false;
        std::memcpy(out, pending->bytes, PendingFrameHeader::kSize);
        std::memcpy(out + PendingFrameHeader::kSize, buffer, static_cast<size_t>(amount));
        return write(out, static_cast<int>(joined), pending->offset);
      }
    }
    if (int rc = WritePendingFrameHeader(pending, write); rc != SQLITE_OK) return rc;
  }
  if (amount == PendingFrameHeader::kSize) {
    std::memcpy(pending->bytes, buffer, PendingFrameHeader::kSize);
    pending->offset = offset;
    pending->held = true;
    return SQLITE_OK;
  }
  return write(buffer, amount, offset);
}

}  // namespace dorm::storage
