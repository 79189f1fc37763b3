#include "net/frame_boundary_tracker.h"

#include <algorithm>

namespace dorm::net {

namespace {
// The header's length once its first two bytes are known.
size_t HeaderLength(uint8_t second) {
  uint8_t length = second & 0x7f;
  return 2 + (length == 126 ? 2 : length == 127 ? 8 : 0) + ((second & 0x80) ? 4 : 0);
}
}  // namespace

void FrameBoundaryTracker::Consume(const uint8_t* data, size_t size) {
  while (size > 0) {
    if (in_payload_) {
      uint64_t take = std::min<uint64_t>(payload_left_, size);
      payload_left_ -= take;
      data += take;
      size -= take;
    } else {
      at_message_end_ = false;
      header_[header_bytes_++] = *data++;
      --size;
      if (header_bytes_ < 2 || header_bytes_ < HeaderLength(header_[1])) continue;
      uint8_t length = header_[1] & 0x7f;
      payload_left_ = length;
      if (length >= 126) {
        size_t bytes = length == 126 ? 2 : 8;
        payload_left_ = 0;
        for (size_t i = 0; i < bytes; ++i) payload_left_ = (payload_left_ << 8) | header_[2 + i];
      }
      in_payload_ = true;
    }
    if (in_payload_ && payload_left_ == 0) {
      // A whole frame: a data frame (opcode below 8) with FIN ends its message.
      bool final_data = (header_[0] & 0x80) && (header_[0] & 0x08) == 0;
      if (final_data) ++final_frames_;
      at_message_end_ = final_data;
      in_payload_ = false;
      header_bytes_ = 0;
    }
  }
}

}  // namespace dorm::net
