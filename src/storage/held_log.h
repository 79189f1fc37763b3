// The content of a new database's write-ahead log, kept in memory until its database's image is
// durable.
//
// A new object database starts as a copy of a prepared image (storage/new_database_image.h). For
// that copy to be recognisable after power is lost, its first page must be durable before the log
// on disk holds a frame: a database file that is a damaged copy of the image with an empty log is
// a new database that never acknowledged anything, while one with frames in its log may hold
// acknowledged commits. Syncing the image where it is written costs the event loop a whole
// fdatasync (about 2 ms on an idle disk) per new object, in the middle of a turn. Instead the
// image is synced by the flush threads, and until then the log's writes are kept here: the
// connection reads its log from this copy, the file on disk stays empty, and the copy is written
// out once the image is synced, before the first commit's flush (parkable_vfs.h, HoldLog).
//
// HeldLog answers reads, writes, truncations and size queries as the file would, from offset 0:
// the log is held only while it is empty on disk, so the copy is the whole file. It holds at most
// kMaxBytes; a write past that is refused (Write returns false) so that the caller can make the
// image durable at once and write through instead, which bounds what one new object can keep in
// memory.
//
// Not thread-safe: used by the thread that uses its connection (SQLite's rule).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace dorm::storage {

class HeldLog {
 public:
  // A first commit of a counter or a few rows takes a frame or two (a page and a 24-byte header
  // each, after a 32-byte log header); sixteen pages leave room for a first turn's larger writes.
  static constexpr size_t kMaxBytes = 16 * 4096 + 16 * 24 + 32;

  // Copies `amount` bytes at `offset` into `out`. Bytes past the end read as zeros, and then the
  // read is short (returns false), as a file's read would be.
  bool Read(void* out, size_t amount, uint64_t offset) const;

  // Writes `amount` bytes at `offset`, the file growing with zeros up to it if needed. Returns
  // false, changing nothing, when the file would grow past kMaxBytes.
  bool Write(const void* data, size_t amount, uint64_t offset);

  // Sets the file's size (shorter: the end is cut off; longer: zeros are added, within kMaxBytes;
  // returns false, changing nothing, past it).
  bool Truncate(uint64_t size);

  uint64_t size() const { return bytes_.size(); }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

}  // namespace dorm::storage
