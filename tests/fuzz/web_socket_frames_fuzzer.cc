// Fuzzes the frames a WebSocket client sends after the handshake: Beast's websocket stream in the
// server role, configured as WebSocketConnection configures it (read_message_max, no automatic
// fragmentation, no permessage-deflate, a close callback), reading messages the way the
// connection does (the first bytes into a small inline chunk, a longer message continued into a
// growing buffer). Pings are answered and a Close is echoed into the in-memory peer, as on a
// real socket.
//
// Each message read is then framed for sending back with net/web_socket_frame.h, and the header
// decoded independently.
//
// Input: one byte choosing how the bytes arrive (ReadStepFor), then the client's bytes, with
// runs (fuzz_input.h) so that small inputs can make large frames.
//
// Besides memory errors, UB and exceptions, it aborts when a message is delivered that Beast and
// the connection's own check (EndsInsideUtf8Character) should have refused: longer than
// read_message_max, or a text message that is not UTF-8; or
// when a frame header Dorm writes does not decode to the message it frames.
#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_input.h"
#include "net/web_socket_connection.h"
#include "net/web_socket_frame.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

// Client bytes at most after expansion: room for messages of a few MiB.
constexpr size_t kMaxClientBytes = 4u << 20;
// As WebSocketConnection's inline first chunk.
constexpr size_t kFirstChunkBytes = 128;
// As WebSocketConnection's first read buffer, for a message longer than the chunk.
constexpr size_t kFirstReadBufferBytes = 4u << 10;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "web_socket_frames_fuzzer: %s\n", what.c_str());
  std::abort();
}

bool IsUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t extra;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

// Frames `payload_size` bytes as the connection does and decodes the header independently.
void CheckServerFrameHeader(bool text, uint64_t payload_size) {
  uint8_t header[dorm::net::kMaxServerFrameHeaderBytes + 8];
  size_t n = dorm::net::EncodeServerFrameHeader(text, payload_size, header);
  if (n != 2 && n != 4 && n != 10) Fail("a frame header of " + std::to_string(n) + " bytes");
  if (header[0] != (0x80 | (text ? 0x1 : 0x2))) Fail("wrong FIN/opcode byte");
  if (header[1] & 0x80) Fail("a server frame is masked");
  uint64_t length = header[1] & 0x7F;
  size_t expected = 2;
  if (length == 126) {
    length = (uint64_t{header[2]} << 8) | header[3];
    expected = 4;
    if (length < 126) Fail("a 16-bit length that fits in 7 bits");
  } else if (length == 127) {
    length = 0;
    for (int i = 0; i < 8; ++i) length = (length << 8) | header[2 + i];
    expected = 10;
    if (length <= 0xFFFF || (length >> 63) != 0) Fail("a 64-bit length out of its range");
  }
  if (n != expected || length != payload_size) Fail("a frame header does not decode to its size");
}

// One connection: the handshake, then messages until the client closes, errs or stops.
void RunConnection(const std::string& client_bytes, size_t step) {
  asio::io_context io;
  beast::test::stream peer(io);  // the client's end: receives the 101, pongs and Closes
  websocket::stream<beast::test::stream, /*deflateSupported=*/false> ws(io);
  ws.next_layer().connect(peer);

  const dorm::net::WebSocketOptions options;
  websocket::stream_base::timeout timeout;
  timeout.handshake_timeout = options.handshake_timeout;
  timeout.idle_timeout = websocket::stream_base::none();
  timeout.keep_alive_pings = false;
  ws.set_option(timeout);
  ws.read_message_max(options.max_message_bytes);
  ws.auto_fragment(false);
  bool peer_closed = false;
  ws.control_callback([&](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::close) peer_closed = true;
  });
  ws.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& response) { response.set(http::field::server, "dorm"); }));

  http::request<http::string_body> upgrade{http::verb::get, "/_do/chat/room", 11};
  upgrade.set(http::field::host, "localhost");
  upgrade.set(http::field::upgrade, "websocket");
  upgrade.set(http::field::connection, "Upgrade");
  upgrade.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  upgrade.set(http::field::sec_websocket_version, "13");
  beast::error_code ec;
  ws.accept(upgrade, ec);
  if (ec) Fail("the handshake failed: " + ec.message());
  peer.clear();

  ws.next_layer().read_size(step);
  ws.next_layer().append(client_bytes);
  ws.next_layer().close_remote();  // the end of the input is the end of the stream

  std::array<char, kFirstChunkBytes> first_chunk;
  for (int messages = 0; messages < 10000; ++messages) {
    size_t n = ws.read_some(asio::buffer(first_chunk), ec);
    if (ec) break;
    std::string message(first_chunk.data(), n);
    if (!ws.is_message_done()) {
      beast::flat_buffer rest;
      rest.commit(asio::buffer_copy(rest.prepare(n), asio::buffer(first_chunk.data(), n)));
      while (!ws.is_message_done()) {
        // Grown as the connection grows it: doubled when full, up to one byte past the largest
        // message, so that a message arriving in small pieces costs linear time.
        size_t size = rest.size();
        if (rest.capacity() == size) {
          size_t capacity =
              std::min(std::max(2 * size, kFirstReadBufferBytes), options.max_message_bytes + 1);
          if (capacity <= size) Fail("a message reached one byte past read_message_max");
          rest.reserve(capacity);
        }
        rest.commit(ws.read_some(rest.prepare(rest.capacity() - size), ec));
        if (ec) break;
      }
      if (ec) break;
      message.assign(static_cast<const char*>(rest.data().data()), rest.size());
    }
    // The connection refuses (1007) what Beast lets through: text that ends inside a character.
    if (ws.got_text() && dorm::net::EndsInsideUtf8Character(message)) break;
    if (message.size() > options.max_message_bytes) Fail("a message over read_message_max");
    if (ws.got_text() && !IsUtf8(message)) Fail("a text message that is not UTF-8");
    CheckServerFrameHeader(ws.got_text(), message.size());
    // What the server sends back must not pile up in memory across a long input.
    peer.clear();
  }
  if (ec == websocket::error::closed) {
    if (!peer_closed) Fail("closed without the peer's Close frame");
    const websocket::close_reason& reason = ws.reason();
    std::string text(reason.reason.data(), reason.reason.size());
    if (!IsUtf8(text)) Fail("a Close reason that is not UTF-8");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  RunConnection(dorm::fuzz::ExpandRuns(data + 1, size - 1, kMaxClientBytes),
                dorm::fuzz::ReadStepFor(data[0]));
  // The header encoder on its own, for any size a message can have (under 2^63 bytes).
  if (size >= 9) {
    uint64_t length = 0;
    for (int i = 1; i < 9; ++i) length = (length << 8) | data[i];
    CheckServerFrameHeader(data[0] & 1, length >> (1 + data[0] % 63));
  }
  return 0;
}
