#include "storage/wal_frame_writes.h"

#include <cstdlib>

namespace dorm::storage {
namespace {

// Freed at the thread's exit.
struct ThreadBuffer {
  unsigned char* data = nullptr;
  size_t size = 0;
  ~ThreadBuffer() { std::free(data); }
};

}  // namespace

unsigned char* FrameJoinBuffer(size_t size) noexcept {
  thread_local ThreadBuffer buffer;
  if (buffer.size < size) {
    void* grown = std::realloc(buffer.data, size);
    if (!grown) return nullptr;
    buffer.data = static_cast<unsigned char*>(grown);
    buffer.size = size;
  }
  return buffer.data;
}

}  // namespace dorm::storage
