// Headers of the data frames a server writes (RFC 6455 §5.2). Beast reads every frame and writes
// the control frames; the connection writes its messages' frames itself so that several queued
// messages leave in one system call (Beast's stream writes one frame per call), and answers a
// Ping that arrives alone on an idle connection itself (see WebSocketConnection::OnReadable).
//
// Pure functions: no I/O, no allocation, never throw.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dorm::net {

// The longest header of an unmasked frame: 2 bytes and a 64-bit length.
inline constexpr size_t kMaxServerFrameHeaderBytes = 10;

// Writes into `out` (at least kMaxServerFrameHeaderBytes long) the header of one complete,
// unfragmented, unmasked server-to-client message of `payload_size` bytes: FIN set, no extension
// bits, opcode text (0x1) or binary (0x2), the length in its shortest form. Returns the header's
// length (2, 4 or 10).
size_t EncodeServerFrameHeader(bool text, uint64_t payload_size, uint8_t* out);

// The longest reason a Close frame carries: its payload is at most 125 bytes, two of them the code.
inline constexpr size_t kMaxCloseReasonBytes = 123;

// One whole unmasked server-to-client Close frame (RFC 6455 §5.5.1): `code` and `reason` (cut to
// kMaxCloseReasonBytes, before a UTF-8 character), or an empty body when `code` is 1005 ("no
// status"), the code that stands for a Close without one. Allocates; never throws except
// std::bad_alloc.
std::string EncodeServerCloseFrame(int code, std::string_view reason);

// The longest Ping frame a client may send: 2 header bytes, its 4-byte mask and at most 125 bytes
// of payload.
inline constexpr size_t kMaxClientPingFrameBytes = 2 + 4 + 125;

// If `bytes` are exactly one whole, valid client Ping frame (RFC 6455 §5.5.2: FIN set, no
// extension bits, masked, at most 125 bytes of payload) and nothing else, returns true and sets
// `pong` to the whole unmasked server Pong frame that answers it (the same payload). Anything else
// (another frame, a part of one, more bytes, an invalid Ping) returns false and leaves `pong`
// alone: those are Beast's to read, and to refuse. Allocates; never throws except
// std::bad_alloc.
bool AnswerClientPing(std::string_view bytes, std::string* pong);

// Whether `message`, a text message Beast has read whole, stops inside a UTF-8 character: a lead
// byte (or a lead byte and some of its continuation bytes) with the rest missing. Beast checks
// every byte of a text message as it arrives, but checks that the last character is complete
// only when the final frame carries payload; a message whose last fragment is empty would pass
// unchecked (Boost 1.81, websocket/impl/read.hpp). Looks at the last 3 bytes at most: the ones
// before were checked whole.
bool EndsInsideUtf8Character(std::string_view message);

}  // namespace dorm::net
