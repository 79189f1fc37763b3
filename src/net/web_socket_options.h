// The limits and timeouts of the server's WebSocket connections (net/web_socket_connection.h), in
// a header of their own so that what configures them (serve, the HTTP server's options) does not
// compile Beast's WebSocket stream.
#pragma once

#include <chrono>
#include <cstddef>

namespace dorm::net {

struct WebSocketOptions {
  // Largest message accepted from a client; a larger one closes the connection with 1009.
  size_t max_message_bytes = 32u << 20;
  // Bytes the server may hold for a client that does not read; past it the connection is closed
  // with 1013 ("Try Again Later") and the object's close handler is told. A single message
  // larger than this is still sent when nothing else waits.
  size_t max_buffered_bytes = 16u << 20;
  // How long the opening and closing handshakes may take.
  std::chrono::seconds handshake_timeout{10};
  // Server-wide: bytes all connections may hold at once for messages still arriving (each
  // connection's buffer counts with its capacity). A message that would pass it closes its
  // connection with 1013. `dorm serve` sets it to --max-buffered-body-bytes.
  size_t max_incoming_bytes = 256u << 20;
  // A message still arriving must receive bytes at least this often, or the connection is
  // dropped. Between messages a connection may stay silent for ever. `dorm serve` sets it to
  // --body-timeout-seconds.
  std::chrono::seconds message_timeout{60};
};

}  // namespace dorm::net
