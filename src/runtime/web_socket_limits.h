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

}  // namespace dorm::runtime

namespace dorm::runtime {

// Outbound WebSockets (`new WebSocket(url)`): the largest message accepted from the peer (a larger
// one closes the connection with 1009), as the server's own sockets default to, and the bytes of
// messages waiting to be written before the connection is closed with 1013.
inline constexpr size_t kMaxOutboundMessageBytes = size_t{32} << 20;
inline constexpr size_t kMaxOutboundBufferedBytes = size_t{16} << 20;

}  // namespace dorm::runtime
