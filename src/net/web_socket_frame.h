// Headers of the data frames a server writes (RFC 6455 §5.2). Beast reads every frame and writes
// the control frames; the connection writes its messages' frames itself so that several queued
// messages leave in one system call (Beast's stream writes one frame per call).
//
// Pure functions: no I/O, no allocation, never throw.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dorm::net {

// The longest header of an unmasked frame: 2 bytes and a 64-bit length.
inline constexpr size_t kMaxServerFrameHeaderBytes = 10;

// Writes into `out` (at least kMaxServerFrameHeaderBytes long) the header of one complete,
// unfragmented, unmasked server-to-client message of `payload_size` bytes: FIN set, no extension
// bits, opcode text (0x1) or binary (0x2), the length in its shortest form. Returns the header's
// length (2, 4 or 10).
size_t EncodeServerFrameHeader(bool text, uint64_t payload_size, uint8_t* out);

}  // namespace dorm::net
