#include "net/frame_boundary_tracker.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dorm::net {
namespace {

// One masked client frame: FIN and `opcode`, the length in the form RFC 6455 requires (7 bits,
// 16 or 64), a mask key and `payload_size` payload bytes.
std::string ClientFrame(bool fin, uint8_t opcode, size_t payload_size) {
  std::string frame;
  frame.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
  if (payload_size < 126) {
    frame.push_back(static_cast<char>(0x80 | payload_size));
  } else if (payload_size <= 0xffff) {
    frame.push_back(static_cast<char>(0x80 | 126));
    for (int shift = 8; shift >= 0; shift -= 8)
      frame.push_back(static_cast<char>(payload_size >> shift));
  } else {
    frame.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      frame.push_back(static_cast<char>(static_cast<uint64_t>(payload_size) >> shift));
    }
  }
  frame.append("\x11\x22\x33\x44", 4);
  frame.append(payload_size, 'p');
  return frame;
}

void Feed(FrameBoundaryTracker& tracker, const std::string& bytes) {
  tracker.Consume(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

TEST(FrameBoundaryTrackerTest, NothingReadIsAMessageEnd) {
  FrameBoundaryTracker tracker;
  EXPECT_TRUE(tracker.AtMessageEnd());
  EXPECT_EQ(tracker.final_frames(), 0u);
}

// Every split of a run of frames (one byte at a time up to all at once) gives the same boundaries:
// a message end only after a whole final data frame, never inside a header or a payload, nor after
// a fragment or a control frame.
TEST(FrameBoundaryTrackerTest, FollowsFramesAcrossAnySplit) {
  const std::vector<std::string> frames = {
      ClientFrame(true, 0x1, 5),      // a short text message
      ClientFrame(false, 0x2, 200),   // a binary message in two fragments (16-bit length) ...
      ClientFrame(true, 0x9, 3),      // ... with a ping between them
      ClientFrame(true, 0x0, 70000),  // ... and its final fragment (64-bit length)
      ClientFrame(true, 0x1, 0),      // an empty message
      ClientFrame(true, 0xA, 0),      // a pong after it
  };
  // After each frame: whether it ends a message, and the final data frames so far.
  const std::vector<std::pair<bool, uint64_t>> after = {{true, 1}, {false, 1}, {false, 1},
                                                        {true, 2}, {true, 3},  {false, 3}};
  std::string all;
  for (const std::string& frame : frames) all += frame;
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{3}, size_t{7}, size_t{1000}, all.size()}) {
    SCOPED_TRACE("chunks of " + std::to_string(chunk));
    FrameBoundaryTracker tracker;
    size_t frame_end = 0;
    size_t next_frame = 0;
    for (size_t at = 0; at < all.size(); at += chunk) {
      std::string part = all.substr(at, chunk);
      Feed(tracker, part);
      size_t read = at + part.size();
      while (next_frame < frames.size() && frame_end + frames[next_frame].size() <= read) {
        frame_end += frames[next_frame++].size();
      }
      if (read == frame_end && next_frame > 0) {
        EXPECT_EQ(tracker.AtMessageEnd(), after[next_frame - 1].first)
            << "after frame " << next_frame;
        EXPECT_EQ(tracker.final_frames(), after[next_frame - 1].second);
      } else {
        EXPECT_FALSE(tracker.AtMessageEnd())
            << "inside frame " << next_frame << " at byte " << read;
      }
    }
    EXPECT_EQ(tracker.final_frames(), 3u);
  }
}

// Two messages in one read count twice: the connection has completed only one after the first.
TEST(FrameBoundaryTrackerTest, CountsMessagesReadTogether) {
  FrameBoundaryTracker tracker;
  Feed(tracker, ClientFrame(true, 0x1, 10) + ClientFrame(true, 0x2, 20));
  EXPECT_TRUE(tracker.AtMessageEnd());
  EXPECT_EQ(tracker.final_frames(), 2u);
}

}  // namespace
}  // namespace dorm::net
