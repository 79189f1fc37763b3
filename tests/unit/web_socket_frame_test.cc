#include "net/web_socket_frame.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
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

TEST(EncodeServerCloseFrame, CodeReasonAndTheEmptyClose) {
  EXPECT_EQ(EncodeServerCloseFrame(1005, "ignored"), std::string("\x88\x00", 2));
  EXPECT_EQ(EncodeServerCloseFrame(4000, "Closing"),
            std::string("\x88\x09\x0f\xa0", 4) + "Closing");
  EXPECT_EQ(EncodeServerCloseFrame(1000, ""), std::string("\x88\x02\x03\xe8", 4));
  // At most 123 bytes of reason, cut before a character rather than inside one.
  EXPECT_EQ(EncodeServerCloseFrame(1000, std::string(200, 'r')).size(), 2u + 125u);
  std::string euros;
  for (int i = 0; i < 41; ++i) euros += "\xe2\x82\xac";  // 123 bytes of "€"
  EXPECT_EQ(EncodeServerCloseFrame(1000, "a" + euros).substr(4), "a" + euros.substr(0, 120));
}

// A client's frame as it arrives: masked with `mask`.
std::string MaskedClientFrame(uint8_t first, const std::string& payload, uint32_t mask = 0x37fa213d,
                              bool masked = true) {
  std::string frame;
  frame.push_back(static_cast<char>(first));
  frame.push_back(static_cast<char>((masked ? 0x80 : 0) | payload.size()));
  const char key[4] = {static_cast<char>(mask >> 24), static_cast<char>(mask >> 16),
                       static_cast<char>(mask >> 8), static_cast<char>(mask)};
  if (masked) frame.append(key, 4);
  for (size_t i = 0; i < payload.size(); ++i) {
    frame.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
  }
  return frame;
}

TEST(AnswerClientPing, OnlyOneWholeValidPingIsAnswered) {
  std::string pong = "untouched";
  ASSERT_TRUE(AnswerClientPing(MaskedClientFrame(0x89, "are you there"), &pong));
  EXPECT_EQ(pong, std::string("\x8a\x0d", 2) + "are you there");
  ASSERT_TRUE(AnswerClientPing(MaskedClientFrame(0x89, ""), &pong));
  EXPECT_EQ(pong, std::string("\x8a\x00", 2));
  const std::string longest(125, 'p');
  ASSERT_TRUE(AnswerClientPing(MaskedClientFrame(0x89, longest), &pong));
  EXPECT_EQ(pong, "\x8a\x7d" + longest);

  const std::string ping = MaskedClientFrame(0x89, "ping");
  pong = "untouched";
  EXPECT_FALSE(AnswerClientPing(ping.substr(0, ping.size() - 1), &pong));  // a part of one
  EXPECT_FALSE(AnswerClientPing(ping.substr(0, 1), &pong));
  EXPECT_FALSE(AnswerClientPing("", &pong));
  EXPECT_FALSE(AnswerClientPing(ping + ping, &pong));                                // two
  EXPECT_FALSE(AnswerClientPing(ping + MaskedClientFrame(0x81, "text"), &pong));     // and more
  EXPECT_FALSE(AnswerClientPing(MaskedClientFrame(0x81, "text"), &pong));            // text
  EXPECT_FALSE(AnswerClientPing(MaskedClientFrame(0x8a, "pong"), &pong));            // a pong
  EXPECT_FALSE(AnswerClientPing(MaskedClientFrame(0x88, "\x03\xe8"), &pong));        // a close
  EXPECT_FALSE(AnswerClientPing(MaskedClientFrame(0x09, "no fin"), &pong));          // no FIN
  EXPECT_FALSE(AnswerClientPing(MaskedClientFrame(0xc9, "rsv1"), &pong));            // RSV1
  EXPECT_FALSE(AnswerClientPing(MaskedClientFrame(0x89, "bare", 0, false), &pong));  // unmasked
  // A payload length of 126 announces a longer form: invalid for a control frame.
  std::string too_long = MaskedClientFrame(0x89, std::string(125, 'x'));
  too_long[1] = static_cast<char>(0x80 | 126);
  EXPECT_FALSE(AnswerClientPing(too_long, &pong));
  EXPECT_EQ(pong, "untouched");
}

TEST(EndsInsideUtf8Character, OnlyAnUnfinishedLastCharacterCounts) {
  EXPECT_FALSE(EndsInsideUtf8Character(""));
  EXPECT_FALSE(EndsInsideUtf8Character("Hello"));
  EXPECT_FALSE(EndsInsideUtf8Character("caf\xc3\xa9"));        // é, 2 bytes
  EXPECT_FALSE(EndsInsideUtf8Character("\xe2\x82\xac"));       // €, 3 bytes
  EXPECT_FALSE(EndsInsideUtf8Character("x\xf0\x9f\x98\x80"));  // 😀, 4 bytes
  EXPECT_TRUE(EndsInsideUtf8Character("caf\xc3"));
  EXPECT_TRUE(EndsInsideUtf8Character("Hello \xe2\x9c"));
  EXPECT_TRUE(EndsInsideUtf8Character("\xe2"));
  EXPECT_TRUE(EndsInsideUtf8Character("x\xf0\x9f\x98"));
  EXPECT_TRUE(EndsInsideUtf8Character("\xf0"));
  // Continuation bytes with no lead were refused by Beast's own check; here they are not
  // taken for an unfinished character.
  EXPECT_FALSE(EndsInsideUtf8Character("\x80\x80\x80\x80"));
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

  // Tells `fn` each time the layer is idle after a write of Beast's.
  void OnIdle(std::function<void()> fn) {
    listener_ = std::make_shared<Listener>();
    listener_->fn = std::move(fn);
    layer_.SetObserver(listener_);
  }
  struct Listener final : SerializedWriteSocket::Observer {
    void OnStreamIdle() override { fn(); }
    void OnBytesRead(const uint8_t*, size_t) override {}
    std::function<void()> fn;
  };

  asio::io_context io_;
  tcp::socket peer_{io_};
  SerializedWriteSocket layer_{tcp::socket(io_)};
  std::shared_ptr<Listener> listener_;
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
  OnIdle([&] { events.push_back("idle"); });
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
  OnIdle([&] {
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

// Beast's answer to the peer's Close is held until the owner's answer, which goes out in its
// place; Beast's handler is told its own frame was written whole.
TEST_F(SerializedWriteSocketTest, AHeldCloseAnswerIsReplacedByTheOwners) {
  const std::string beast_answer("\x88\x02\x0f\xa0", 4);
  const std::string owner_answer = EncodeServerCloseFrame(4000, "Closing");
  std::vector<std::string> events;
  OnIdle([&] { events.push_back("idle"); });
  layer_.HoldCloseAnswer();
  layer_.async_write_some(asio::buffer(beast_answer), [&](beast::error_code ec, size_t n) {
    EXPECT_FALSE(ec);
    events.push_back("answer written: " + std::to_string(n));
  });
  EXPECT_FALSE(layer_.CanWriteFrames());
  io_.poll();
  EXPECT_TRUE(events.empty()) << "nothing goes out before the owner answers";
  io_.restart();  // poll() ran out of work, which stops the loop
  layer_.AnswerClose(owner_answer);
  layer_.AnswerClose(EncodeServerCloseFrame(1000, "too late"));  // ignored
  ReadAll(owner_answer.size());
  io_.run();
  EXPECT_EQ(events, (std::vector<std::string>{"answer written: 4", "idle"}));
  EXPECT_EQ(received_, owner_answer);
}

// An answer given before Beast writes its own goes out when Beast does, after the batch under way.
TEST_F(SerializedWriteSocketTest, AnAnswerGivenEarlyWaitsForBeastAndTheBatch) {
  const std::string batch(32 << 20, 'b');
  const std::vector<asio::const_buffer> buffers{asio::buffer(batch)};
  const std::string owner_answer = EncodeServerCloseFrame(1005, "");
  layer_.HoldCloseAnswer();
  layer_.AnswerClose(owner_answer);
  layer_.WriteFrames(buffers, [](beast::error_code ec) { EXPECT_FALSE(ec); });
  bool answered = false;
  const std::string beast_answer("\x88\x00", 2);
  layer_.async_write_some(asio::buffer(beast_answer), [&](beast::error_code ec, size_t n) {
    answered = !ec && n == beast_answer.size();
  });
  ReadAll(batch.size() + owner_answer.size());
  io_.run();
  EXPECT_TRUE(answered);
  ASSERT_EQ(received_.size(), batch.size() + owner_answer.size());
  EXPECT_TRUE(received_ == batch + owner_answer);
}

}  // namespace
}  // namespace dorm::net
