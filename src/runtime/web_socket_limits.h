// The limits of the WebSocket hibernation API, with Cloudflare's values. The one place they are
// defined: the JavaScript runtime reads them through the `wsLimits` native
// (js/prelude/web_socket.js, js/runtime/web_sockets.js), the registry enforces the socket count.
#pragma once

#include <cstddef>

namespace dorm::runtime {

inline constexpr size_t kMaxHibernatableSocketsPerObject = 32768;
inline constexpr size_t kMaxTagsPerSocket = 10;
inline constexpr size_t kMaxTagLength = 256;
inline constexpr size_t kMaxAttachmentBytes = 16384;
inline constexpr size_t kMaxAutoResponseBytes = 2048;
inline constexpr long long kMaxEventTimeoutMs = 604800000;

// Dorm's own bound (Cloudflare publishes none): what one app's hibernatable sockets may hold in
// native memory on one runtime thread, as their tags and attachments plus a fixed cost per socket.
// Sockets from a WebSocketPair can be accepted for hibernation without any connection, so the
// connection limit does not bound them: three requests held 2 GiB (32,768 sockets per object, each
// with a 16 KiB attachment) outside every limit, for as long as their objects lived.
inline constexpr size_t kMaxHibernationBytesPerApp = size_t{64} << 20;
inline constexpr size_t kHibernatableSocketCostBytes = 256;

// What an object may send on a socket whose connection has not come yet (a WebSocketPair end
// returned in a 101, or never returned at all) before it is treated as a client that does not
// read: what waits is dropped and the connection, if it comes, is closed with 1013. As
// --ws-max-buffered-bytes's default; a single message alone is always kept. Without it, sends on
// an end that no client ever connected to held 500 MiB per request for as long as the object
// lived.
inline constexpr size_t kMaxPendingSocketBytes = size_t{16} << 20;

}  // namespace dorm::runtime

namespace dorm::runtime {

// Outbound WebSockets (`new WebSocket(url)`): the largest message accepted from the peer (a larger
// one closes the connection with 1009), as the server's own sockets default to, and the bytes of
// messages waiting to be written before the connection is closed with 1013.
inline constexpr size_t kMaxOutboundMessageBytes = size_t{32} << 20;
inline constexpr size_t kMaxOutboundBufferedBytes = size_t{16} << 20;

}  // namespace dorm::runtime
