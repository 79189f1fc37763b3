// One outbound HTTP exchange (a request and its response, or why it failed), as the runtime and
// the HTTP client pass it. Plain data; no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dorm::outbound {

// Response bytes that several exchanges (one app's, on one thread) hold received but not yet read
// by the app. Shared by the exchanges it bounds and touched on their loop only.
struct ByteBudget {
  size_t limit = 0;
  size_t used = 0;
};

// A request body sent as it is produced: the app's side Write()s chunks, the HTTP client takes
// them as the socket accepts them. Single-threaded (the exchange's loop); shared by the two sides,
// either of which may go first or go away.
//
// Backpressure: Write() returns false once kHighWater bytes wait to be sent; the writer then
// waits for `on_room`, called once they are under kLowWater (or the exchange ended).
struct UploadBody {
  static constexpr size_t kHighWater = 64u << 10;
  static constexpr size_t kLowWater = 16u << 10;

  // Returns whether the writer may go on at once. Ignored after End() or Close().
  bool Write(std::string_view bytes) {
    if (ended || closed) return true;
    queued.append(bytes.data(), bytes.size());
    if (on_data) on_data();
    if (queued.size() < high_water) return true;
    writer_waiting = true;
    return false;
  }
  // Lets the writer queue up to `limit` bytes without waiting (for a body gathered whole).
  void Gather(size_t limit) {
    high_water = limit;
    if (writer_waiting) {
      writer_waiting = false;
      if (on_room) on_room();
    }
  }
  // The body is complete (`ok`) or failed: the exchange then ends with an error.
  void End(bool ok) {
    if (ended || closed) return;
    ended = true;
    failed = !ok;
    if (on_data) on_data();
  }
  // The reader took `n` bytes from the front of `queued`.
  void Took(size_t n) {
    queued.erase(0, n);
    if (writer_waiting && queued.size() < kLowWater) {
      writer_waiting = false;
      if (on_room) on_room();
    }
  }
  // The exchange is over: nothing more is sent, and a waiting writer is woken.
  void Close() {
    closed = true;
    queued.clear();
    queued.shrink_to_fit();
    on_data = nullptr;
    if (writer_waiting) {
      writer_waiting = false;
      if (on_room) on_room();
    }
  }

  // Total length when known (sent as Content-Length), or -1 (sent chunked).
  int64_t length = -1;
  size_t high_water = kHighWater;
  std::string queued;
  bool ended = false;
  bool failed = false;
  bool closed = false;
  bool writer_waiting = false;
  // Set by the reader: called when bytes are queued or the body ends. Must not call back into
  // this object synchronously.
  std::function<void()> on_data;
  // Set by the writer (see above). Must not call back into this object synchronously.
  std::function<void()> on_room;
};

struct ExchangeRequest {
  std::string method;  // as given (case kept), validated by the caller
  std::string url;     // absolute http: or https: URL, serialized by the URL parser
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool has_body = false;
  // If set, the body is sent from it as it is written, and `body` is unused.
  std::shared_ptr<UploadBody> upload;
  // If set, response bytes received and not yet read count against it; an exchange whose bytes
  // would take it past its limit waits (unless nothing of its own is waiting to be read).
  std::shared_ptr<ByteBudget> budget;
  // Whether a compressed response body is decoded (fetch()'s default); false gives the body's
  // bytes as they came, for `encodeResponseBody: 'manual'`.
  bool decode_body = true;
};

// A response's head; its body is read from the client as it comes (HttpClient::Read), except for
// responses served by the server itself, whose whole body is in `body`.
struct ExchangeResponse {
  int status = 0;
  std::string status_text;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// Why an exchange failed, for fetch()'s error (js/prelude/fetch.js knows the kinds by number).
struct ExchangeError {
  enum class Kind {
    kRefusedAddress = 0,  // the address policy refused every address the host resolved to
    kNetwork = 1,         // DNS, connect, protocol or reset errors
    kTls = 2,             // the peer's certificate or the handshake failed
    kTimeout = 3,
    kTooLarge = 4,      // (no longer produced: bodies are streamed)
    kBadEncoding = 5,   // a compressed body could not be decoded
    kOverBudget = 6,    // (no longer produced: the ByteBudget makes exchanges wait)
    kUploadFailed = 7,  // the streamed request body failed; the app knows its error
  };
  Kind kind = Kind::kNetwork;
  std::string message;
};

}  // namespace dorm::outbound
