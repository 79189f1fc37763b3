// One Brotli stream (an encoder or a decoder) that yields its output in bounded pieces and
// charges its state to a memory budget: the V8-free core of the Brotli bodies
// (compression_natives.cc). The encoder makes what workerd sends for a Response whose
// Content-Encoding is "br": quality 5, a window of 2^19 bytes, with no flush between writes.
//
// Not thread-safe: one thread uses a stream (the budget itself is thread-safe).
#pragma once

#include <brotli/decode.h>
#include <brotli/encode.h>

#include <cstdint>
#include <memory>
#include <string>

#include "js/byte_budget.h"
#include "runtime/codec_memory.h"

namespace dorm::runtime {

class BrotliStream {
 public:
  using MemoryHooks = CodecMemory::Hooks;

  // workerd's encoder settings (checked against its output in tests/e2e/encode_body.test.mjs).
  static constexpr int kQuality = 5;
  static constexpr int kWindowBits = 19;

  // What an encoder charges to its budget from the start. libbrotli's encoder ends the process
  // when an allocation fails, so it must never be refused one: its memory is reserved up front,
  // above the most it holds with these settings (about 8.5 MiB measured, whatever the input's
  // size or nature, with inputs of at most 1 MiB), and what it takes beyond is charged when the
  // budget allows and allocated regardless.
  static constexpr size_t kEncoderReserve = 12u << 20;

  // An encoder (`compress`) or a decoder; nullptr when Brotli cannot set up its state within
  // `budget` (which must outlive the stream). The decoder's allocations are charged one by one
  // and may be refused (the stream then fails).
  static std::unique_ptr<BrotliStream> Create(bool compress, js::ByteBudget* budget,
                                              MemoryHooks hooks);
  ~BrotliStream();
  BrotliStream(const BrotliStream&) = delete;
  BrotliStream& operator=(const BrotliStream&) = delete;

  // True while input from the last SetInput is not consumed.
  bool has_input() const { return available_in_ > 0; }

  // Takes `bytes` as the next input; only once the previous input is consumed.
  void SetInput(std::string bytes);

  // Runs Brotli over the input (and, with `finish`, to the end of the stream) until `capacity`
  // bytes of output are in `out` or no more can come now; returns the bytes produced (0: nothing
  // more until more input, or, finishing, the stream has ended). On failure sets `*error` (the
  // decoder: "Decompression failed.", "Trailing bytes after end of compressed data", "Called
  // close() on a decompression stream with incomplete data", as the zlib streams say them; the
  // encoder: "Compression failed."); the stream is then of no further use.
  size_t Pump(bool finish, uint8_t* out, size_t capacity, const char** error);

 private:
  BrotliStream(bool compress, js::ByteBudget* budget, MemoryHooks hooks);
  static void* Alloc(void* opaque, size_t size);
  static void Free(void* opaque, void* address);

  const bool compress_;
  CodecMemory memory_;
  BrotliEncoderState* encoder_ = nullptr;
  BrotliDecoderState* decoder_ = nullptr;
  bool ended_ = false;
  bool failed_ = false;
  // The encoder's bytes allocated now, and charged to the budget (at least kEncoderReserve).
  size_t held_ = 0;
  size_t charged_ = 0;
  std::string input_;
  const uint8_t* next_in_ = nullptr;
  size_t available_in_ = 0;
};

}  // namespace dorm::runtime
