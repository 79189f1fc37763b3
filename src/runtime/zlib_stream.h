// One zlib stream (deflate or inflate, in the framing of a CompressionStream format) that yields
// its output in bounded pieces and charges its state to a memory budget: the V8-free core of
// CompressionStream and DecompressionStream (compression_natives.cc).
//
// Not thread-safe: one thread uses a stream (the budget itself is thread-safe).
#pragma once

#include <zlib.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "js/byte_budget.h"
#include "runtime/codec_memory.h"

namespace dorm::runtime {

class ZlibStream {
 public:
  // What the stream's allocations report (see CodecMemory::Hooks).
  using MemoryHooks = CodecMemory::Hooks;

  // A stream for `format` ("gzip", "deflate" or "deflate-raw"); nullptr for another format, or
  // when zlib cannot set up its state within `budget` (which must outlive the stream).
  static std::unique_ptr<ZlibStream> Create(bool compress, std::string_view format,
                                            js::ByteBudget* budget, MemoryHooks hooks);
  ~ZlibStream();
  ZlibStream(const ZlibStream&) = delete;
  ZlibStream& operator=(const ZlibStream&) = delete;

  // True while input from the last SetInput is not consumed.
  bool has_input() const { return z_.avail_in > 0; }

  // Takes `bytes` (at most 4 GiB) as the next input; only once the previous input is consumed.
  void SetInput(std::string bytes);

  // Runs zlib over the input (and, with `finish`, to the end of the stream) until `capacity`
  // bytes of output are in `out` or no more can come now; returns the bytes produced (0: nothing
  // more until more input, or, finishing, the stream has ended). On failure sets `*error` to
  // workerd's message (with its strict_compression_checks): "Compression failed.",
  // "Decompression failed.", "Trailing bytes after end of compressed data", "Called close() on a
  // decompression stream with incomplete data"; the stream is then of no further use.
  size_t Pump(bool finish, Bytef* out, size_t capacity, const char** error);

 private:
  ZlibStream(bool compress, js::ByteBudget* budget, MemoryHooks hooks);
  static void* Alloc(void* opaque, uInt items, uInt size);
  static void Free(void* opaque, void* address);

  const bool compress_;
  CodecMemory memory_;
  bool initialized_ = false;
  bool ended_ = false;
  z_stream z_;
  std::string input_;
};

}  // namespace dorm::runtime
