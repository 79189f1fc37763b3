#include "storage/read_ahead.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <new>

namespace dorm::storage {

namespace {

std::atomic<uint64_t> g_next_read_ahead_id{1};

// The calling thread's buffer: which file's bytes, from where, at which write generation.
struct ThreadReadAhead {
  std::unique_ptr<char[]> bytes;  // kReadAheadBytes once first used
  uint64_t file_id = 0;
  uint64_t generation = 0;
  sqlite3_int64 start = 0;
  int length = 0;
};

thread_local ThreadReadAhead t_read_ahead;

}  // namespace

uint64_t NewReadAheadId() { return g_next_read_ahead_id.fetch_add(1, std::memory_order_relaxed); }

int ReadWithReadAhead(ReadAheadState* state, void* out, int amount, sqlite3_int64 offset,
                      int (*read)(void* file, void* buffer, int amount, sqlite3_int64 offset),
                      int (*size)(void* file, sqlite3_int64* bytes), void* file) {
  if (state->id == 0 || amount <= 0 || amount > kReadAheadBytes / 4 || offset < 0) {
    return read(file, out, amount, offset);
  }
  ThreadReadAhead& ahead = t_read_ahead;
  const sqlite3_int64 end = offset + amount;
  if (ahead.length > 0 && ahead.file_id == state->id && ahead.generation == state->generation &&
      offset >= ahead.start && end <= ahead.start + ahead.length) {
    std::memcpy(out, ahead.bytes.get() + (offset - ahead.start), static_cast<size_t>(amount));
    state->last_read_end = end;
    return SQLITE_OK;
  }
  const bool sequential = offset == state->last_read_end;
  state->last_read_end = end;
  sqlite3_int64 file_bytes = 0;
  if (sequential && size(file, &file_bytes) == SQLITE_OK) {
    const sqlite3_int64 chunk = std::min<sqlite3_int64>(kReadAheadBytes, file_bytes - offset);
    if (chunk >= 2 * static_cast<sqlite3_int64>(amount)) {
      if (!ahead.bytes) ahead.bytes.reset(new (std::nothrow) char[kReadAheadBytes]);
      ahead.length = 0;  // what it held is overwritten now, whatever the outcome
      if (ahead.bytes &&
          read(file, ahead.bytes.get(), static_cast<int>(chunk), offset) == SQLITE_OK) {
        ahead.file_id = state->id;
        ahead.generation = state->generation;
        ahead.start = offset;
        ahead.length = static_cast<int>(chunk);
        std::memcpy(out, ahead.bytes.get(), static_cast<size_t>(amount));
        return SQLITE_OK;
      }
    }
  }
  return read(file, out, amount, offset);
}

}  // namespace dorm::storage
