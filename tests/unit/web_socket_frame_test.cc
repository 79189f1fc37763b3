#include "net/web_socket_frame.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "net/serialized_write_socket.h"

namespace dorm::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::ip::tcp;

std::vector<uint8_t> Header(bool text, uint64_t size) {
  std::vector<uint8_t> out(kMaxServerFrameHeaderBytes);
  out.resize(EncodeServerFrameHeader(text, size, out.data()));
  return out;
}

TEST(EncodeServerFrameHeader, LengthFormsAtTheirBoundaries) {
  EXPECT_EQ(Header(true, 0), (std::vector<uint8_t>{0x81, 0}));
  EXPECT_EQ(Header(false, 0), (std::vector<uint8_t>{0x82, 0}));
  EXPECT_EQ(Header(true, 125), (std::vector<uint8_t>{0x81, 125}));
  EXPECT_EQ(Header(true, 126), (std::vector<uint8_t>{0x81, 126, 0, 126}));
  EXPECT_EQ(Header(false, 0xFFFF), (std::vector<uint8_t>{0x82, 126, 0xFF, 0xFF}));
  EXPECT_EQ(Header(false, 0x10000), (std::vector<uint8_t>{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}));
  EXPECT_EQ(Header(true, 0x0102030405060708ull),
            (std::vector<uint8_t>{0x81, 127, 1, 2, 3, 4, 5, 6, 7, 8}));
}

// Beast's side of SerializedWriteSocket is driven here by calling async_write_some as Beast does
// (the end-to-end tests drive it with Beast's pongs and Close frames); a plain socket reads what
// reaches the wire.
class SerializedWriteSocketTest : public ::testing::Test {
 protected:
  SerializedWriteSocketTest() {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer_.connect(acceptor.local_endpoint());
    layer_.next_layer() = acceptor.accept();
  }

  // Reads until `bytes` have arrived (or the connection fails) once the loop runs.
  void ReadAll(size_t bytes) {
    peer_.async_read_some(asio::buffer(chunk_), [this, bytes](beast::error_code ec, size_t n) {
      if (ec) return;
      received_.append(chunk_.data(), n);
      if (received_.size() < bytes) ReadAll(bytes);
    });
  }

  asio::io_context io_;
  tcp::socket peer_{io_};
  SerializedWriteSocket layer_{tcp::socket(io_)};
  std::array<char, 65536> chunk_;
  std::string received_;
};

// A control frame written while a batch is under way waits for the whole batch, starts before
// the batch's handler runs, and the idle callback follows it.
TEST_F(SerializedWriteSocketTest, AControlWriteWaitsForTheBatchUnderWay) {
  // Larger than loopback's socket buffers take at once: nothing reads until the loop runs.
  const std::string batch(32 << 20, 'b');
  const std::vector<asio::const_buffer> buffers{asio::buffer(batch)};
  const std::string control = "CONTROL";
  std::vector<std::string> events;
  layer_.SetStreamIdleCallback([&] { events.push_back("idle"); });
  ASSERT_TRUE(layer_.CanWriteFrames());
  layer_.WriteFrames(buffers, [&](beast::error_code ec) {
    EXPECT_FALSE(ec);
    events.push_back(layer_.CanWriteFrames() ? "batch written, no control"
                                             : "batch written, control started");
  });
  EXPECT_FALSE(layer_.CanWriteFrames());
  layer_.async_write_some(asio::buffer(control), [&](beast::error_code ec, size_t n) {
    EXPECT_FALSE(ec);
    events.push_back("control written: " + std::to_string(n));
  });
  EXPECT_FALSE(layer_.CanWriteFrames());
  ReadAll(batch.size() + control.size());
  io_.run();
  EXPECT_EQ(events, (std::vector<std::string>{"batch written, control started",
                                              "control written: 7", "idle"}));
  ASSERT_EQ(received_.size(), batch.size() + control.size());
  EXPECT_TRUE(received_ == batch + control);
  EXPECT_TRUE(layer_.CanWriteFrames());
}

// With nothing under way a control frame goes at once; a batch may start only after it.
TEST_F(SerializedWriteSocketTest, ABatchWaitsForAControlWriteInFlight) {
  const std::string control = "PONG";
  const std::string batch = "frames";
  const std::vector<asio::const_buffer> buffers{asio::buffer(batch)};
  bool batch_written = false;
  layer_.SetStreamIdleCallback([&] {
    ASSERT_TRUE(layer_.CanWriteFrames());
    layer_.WriteFrames(buffers, [&](beast::error_code ec) { batch_written = !ec; });
  });
  layer_.async_write_some(asio::buffer(control),
                          [](beast::error_code ec, size_t) { EXPECT_FALSE(ec); });
  EXPECT_FALSE(layer_.CanWriteFrames());
  ReadAll(control.size() + batch.size());
  io_.run();
  EXPECT_TRUE(batch_written);
  EXPECT_EQ(received_, control + batch);
}

}  // namespace
}  // namespace dorm::net
