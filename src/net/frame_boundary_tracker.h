// Follows the frames of the bytes a client sends (RFC 6455 §5.2) by their headers alone, so that a
// connection can tell when Beast's stream holds none of them unread: Beast reads ahead into a
// buffer of its own, which it does not show, and an idle connection would rather wait for the
// socket to become readable than keep a read of Beast's pending (see WebSocketConnection::Read).
//
// Beast consumes frames in order and ends a message with its final data frame, so once it has
// completed as many messages as final data frames arrived, and the bytes so far end with a whole
// final data frame, nothing is left in its buffer. Bytes that are not valid frames make Beast fail
// the connection; here they only make AtMessageEnd() false or skew the count, which keeps a read
// of Beast's pending as before.
//
// Pure bookkeeping: no I/O, no allocation, never throws. Not thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace dorm::net {

class FrameBoundaryTracker {
 public:
  // Takes the next `size` bytes read from the client, in order.
  void Consume(const uint8_t* data, size_t size);

  // Data frames with FIN set (the end of a message) that have arrived whole.
  uint64_t final_frames() const { return final_frames_; }
  // True when the bytes so far end exactly after a whole final data frame, or when none came yet.
  bool AtMessageEnd() const { return at_message_end_; }

 private:
  // The header under way (at most 2 + 8 length bytes + 4 mask bytes), and how many bytes of it
  // arrived; 0 between frames.
  std::array<uint8_t, 14> header_{};
  uint8_t header_bytes_ = 0;
  bool in_payload_ = false;
  bool at_message_end_ = true;
  uint64_t payload_left_ = 0;
  uint64_t final_frames_ = 0;
};

}  // namespace dorm::net
