// The client behind `new WebSocket(url)` and fetch() with `Upgrade: websocket`: one outbound
// WebSocket connection, RFC 6455 framing by Boost.Beast (without permessage-deflate) over TCP or
// TLS, driven by the caller's Asio event loop. Nothing here blocks the loop: DNS goes through
// Asio's asynchronous resolver, and every read and write is asynchronous.
//
// Connecting follows fetch()'s rules (outbound/http_client.h): every address the host resolves to
// is checked against the AddressPolicy, and only permitted ones are tried; TLS verifies the peer's
// certificate against the system's CA store (plus ClientOptions::extra_ca_file) and its host name,
// and sends SNI.
//
// Memory is bounded: a message longer than max_message_bytes closes the connection with 1009, and
// messages waiting to be written may not pass max_buffered_bytes (past it the connection is closed
// with 1013), except that a single message larger than that is still sent when nothing else waits.
//
// Threading: a client belongs to the thread running its io_context. Every method must be called
// on that thread, and every callback runs on it, never from inside a method. Owned by its pending
// operations and by whoever holds the shared_ptr; Abort() ends it without further callbacks.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "outbound/client_options.h"
#include "outbound/exchange.h"

namespace dorm::outbound {

struct WebSocketRequest {
  std::string host;  // the URL's host, as serialized (an IPv6 address in brackets)
  uint16_t port = 0;
  std::string target;  // path and query, "/" at least
  bool tls = false;
  // Sent with the handshake (Sec-WebSocket-Protocol among them); the handshake's own headers
  // (Host, Upgrade, Connection, Sec-WebSocket-Key/-Version/-Extensions) are set by the client.
  std::vector<std::pair<std::string, std::string>> headers;
  size_t max_message_bytes = 32u << 20;
  size_t max_buffered_bytes = 16u << 20;
};

// The server's answer to the handshake: 101 when the connection is open, another status (with
// the body read so far) when the server refused to switch protocols.
struct WebSocketAnswer {
  int status = 0;
  std::string status_text;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class WebSocketClient {
 public:
  struct Callbacks {
    // Once: the answer (open when its status is 101) or why the connection could not be made.
    // Exactly one argument is set. After anything but an open answer, nothing else is called.
    std::function<void(WebSocketAnswer*, ExchangeError*)> on_handshake;
    // A complete message (a text one holds valid UTF-8), after StartReading().
    std::function<void(bool text, std::string data)> on_message;
    // Once, after an open answer: the connection ended. `clean` with the peer's Close (code 1005
    // if it gave none); otherwise the code says why (1006 lost, 1009 too big, 1013 not read) and
    // `error` is the message the object's error event carries ("" for none).
    std::function<void(int code, std::string reason, bool clean, std::string error)> on_closed;
  };

  virtual ~WebSocketClient() = default;

  // Starts connecting. Throws std::runtime_error only if TLS cannot be set up.
  static std::shared_ptr<WebSocketClient> Connect(boost::asio::io_context& io,
                                                  std::shared_ptr<const ClientOptions> options,
                                                  WebSocketRequest request, Callbacks callbacks);

  // Starts delivering messages (after an open answer). Until then the peer's messages wait in
  // the kernel's buffers, which bounds what a peer can make this side hold.
  virtual void StartReading() = 0;
  // Queues one message; messages leave in call order. Ignored once closing.
  virtual void Send(bool text, std::shared_ptr<const std::string> payload) = 0;
  // Starts the close handshake after the queued messages; 1005 sends a Close without a code.
  // Only the first call counts.
  virtual void Close(int code, const std::string& reason) = 0;
  // Drops the connection at once; no callback runs after it.
  virtual void Abort() = 0;

  virtual uint64_t bytes_sent() const = 0;
  virtual uint64_t bytes_received() const = 0;
};

}  // namespace dorm::outbound
