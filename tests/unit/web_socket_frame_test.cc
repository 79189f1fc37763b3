#include "net/web_socket_frame.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "net/serialized_write_socket.h"

namespace dorm::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
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

// A Beast server stream over SerializedWriteSocket and a Beast client over a plain socket,
// connected on loopback and handshaken, on one event loop.
struct Pair {
  asio::io_context io;
  websocket::stream<SerializedWriteSocket> server{tcp::socket(io)};
  websocket::stream<tcp::socket> client{io};

  Pair() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.next_layer().connect(acceptor.local_endpoint());
    server.next_layer().next_layer() = acceptor.accept();
    bool accepted = false, handshaken = false;
    server.async_accept([&](beast::error_code ec) { accepted = !ec; });
    client.async_handshake("localhost", "/", [&](beast::error_code ec) { handshaken = !ec; });
    io.run();
    io.restart();
    EXPECT_TRUE(accepted && handshaken);
  }
};

// Frames and their payloads as WebSocketConnection lays out a batch.
struct Batch {
  std::vector<std::string> payloads;
  std::vector<bool> text;
  std::vector<std::string> headers;
  std::vector<asio::const_buffer> buffers;

  void Add(bool is_text, std::string payload) {
    text.push_back(is_text);
    payloads.push_back(std::move(payload));
  }
  const std::vector<asio::const_buffer>& Buffers() {
    headers.clear();
    buffers.clear();
    headers.reserve(payloads.size());
    for (size_t i = 0; i < payloads.size(); ++i) {
      std::string h(kMaxServerFrameHeaderBytes, '\0');
      h.resize(EncodeServerFrameHeader(text[i], payloads[i].size(),
                                       reinterpret_cast<uint8_t*>(h.data())));
      headers.push_back(std::move(h));
      buffers.emplace_back(headers.back().data(), headers.back().size());
      buffers.emplace_back(payloads[i].data(), payloads[i].size());
    }
    return buffers;
  }
};

TEST(SerializedWriteSocket, BeastReadsEveryFrameOfABatch) {
  Pair pair;
  Batch batch;
  for (size_t size : {0, 1, 125, 126, 127, 0xFFFF, 0x10000, 70000}) {
    batch.Add(size % 2 == 0, std::string(size, static_cast<char>('a' + size % 26)));
  }
  ASSERT_TRUE(pair.server.next_layer().CanWriteFrames());
  beast::error_code written = asio::error::would_block;
  pair.server.next_layer().WriteFrames(batch.Buffers(),
                                       [&](beast::error_code ec) { written = ec; });
  std::vector<std::string> got;
  std::vector<bool> got_text;
  beast::flat_buffer buffer;
  std::function<void()> read_next = [&] {
    pair.client.async_read(buffer, [&](beast::error_code ec, size_t) {
      ASSERT_FALSE(ec) << ec.message();
      got.push_back(beast::buffers_to_string(buffer.data()));
      got_text.push_back(pair.client.got_text());
      buffer.consume(buffer.size());
      if (got.size() < batch.payloads.size()) read_next();
    });
  };
  read_next();
  pair.io.run();
  EXPECT_FALSE(written);
  EXPECT_EQ(got, batch.payloads);
  EXPECT_EQ(got_text, batch.text);
  EXPECT_TRUE(pair.server.next_layer().CanWriteFrames());
}

// A ping arriving while a batch is still being written is answered after the batch, never inside
// one of its frames; the next batch waits for the pong.
TEST(SerializedWriteSocket, PongWaitsForTheBatchUnderWay) {
  Pair pair;
  // Larger than what loopback's socket buffers take at once, so that the write is still under
  // way when the ping arrives.
  Batch first;
  for (int i = 0; i < 64; ++i) first.Add(false, std::string(512 * 1024, static_cast<char>(i)));
  Batch second;
  second.Add(true, "after the pong");

  bool deferred_seen = false;
  bool second_started = false;
  auto& layer = pair.server.next_layer();
  layer.SetStreamIdleCallback([&] {
    // Beast's pong has been written: the next batch may go.
    if (second_started || !layer.CanWriteFrames()) return;
    second_started = true;
    layer.WriteFrames(second.Buffers(), [](beast::error_code ec) { ASSERT_FALSE(ec); });
  });
  layer.WriteFrames(first.Buffers(), [&](beast::error_code ec) {
    ASSERT_FALSE(ec);
    // The pong was queued behind this batch and has started before this handler.
    deferred_seen = !layer.CanWriteFrames();
  });

  // The server reads, which is how Beast notices the ping and answers it.
  beast::flat_buffer server_buffer;
  pair.server.async_read(server_buffer, [](beast::error_code, size_t) {});

  std::vector<size_t> pongs_after;  // messages read when each pong arrived
  size_t messages = 0;
  pair.client.control_callback([&](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::pong) pongs_after.push_back(messages);
  });
  pair.client.async_ping({}, [](beast::error_code ec) { ASSERT_FALSE(ec); });
  beast::flat_buffer buffer;
  std::string last;
  std::function<void()> read_next = [&] {
    pair.client.async_read(buffer, [&](beast::error_code ec, size_t) {
      ASSERT_FALSE(ec) << ec.message();
      ++messages;
      if (messages <= first.payloads.size()) {
        ASSERT_EQ(buffer.size(), first.payloads[messages - 1].size());
        ASSERT_EQ(beast::buffers_to_string(buffer.data()), first.payloads[messages - 1]);
      } else {
        last = beast::buffers_to_string(buffer.data());
      }
      buffer.consume(buffer.size());
      if (messages < first.payloads.size() + 1) {
        read_next();
      } else {
        beast::get_lowest_layer(pair.server).close();
      }
    });
  };
  read_next();
  pair.io.run();
  EXPECT_TRUE(deferred_seen);
  EXPECT_EQ(pongs_after, std::vector<size_t>{first.payloads.size()});
  EXPECT_EQ(last, "after the pong");
}

// The peer's Close arriving while a batch is being written: Beast's answering Close waits for the
// batch, so the peer reads every data frame whole and then a valid Close, and the server's stream
// is no longer open, which is what keeps WebSocketConnection from writing another batch.
TEST(SerializedWriteSocket, AnsweringCloseWaitsForTheBatchUnderWay) {
  Pair pair;
  Batch batch;
  for (int i = 0; i < 64; ++i) batch.Add(true, std::string(512 * 1024, 'c'));
  auto& layer = pair.server.next_layer();
  bool still_open_after_batch = true;
  layer.WriteFrames(batch.Buffers(), [&](beast::error_code ec) {
    ASSERT_FALSE(ec);
    still_open_after_batch = pair.server.is_open();
  });
  beast::flat_buffer server_buffer;
  beast::error_code server_read = asio::error::would_block;
  pair.server.async_read(server_buffer, [&](beast::error_code ec, size_t) { server_read = ec; });
  // The client's close reads (and discards) the data frames until the server's Close comes.
  beast::error_code client_closed = asio::error::would_block;
  pair.client.async_close(websocket::close_code::going_away,
                          [&](beast::error_code ec) { client_closed = ec; });
  pair.io.run();
  EXPECT_FALSE(still_open_after_batch);
  EXPECT_FALSE(client_closed) << client_closed.message();
  EXPECT_EQ(server_read, websocket::error::closed);
  EXPECT_EQ(pair.server.reason().code, websocket::close_code::going_away);
}

}  // namespace
}  // namespace dorm::net
