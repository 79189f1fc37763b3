// What the zlib and Brotli stream tests share: pushing input through a stream in pieces, and
// test data that compresses in parts and not in others.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace dorm::runtime::codec_test {

// Pushes `input` through `stream` (ZlibStream or BrotliStream) in pieces of `piece` bytes, then
// finishes, taking output `capacity` bytes at a time; the output, or what came before the error
// (set in `*error`). `*largest`, if given, becomes the largest piece of output.
template <typename Stream>
std::string PumpThrough(Stream* stream, const std::string& input, size_t piece, size_t capacity,
                        std::string* error, size_t* largest = nullptr) {
  std::string out;
  std::vector<uint8_t> buffer(capacity);
  auto drain = [&](bool finish) {
    for (;;) {
      const char* failure = nullptr;
      const size_t made = stream->Pump(finish, buffer.data(), buffer.size(), &failure);
      if (failure) {
        *error = failure;
        return false;
      }
      if (made == 0) return true;
      if (largest) *largest = std::max(*largest, made);
      out.append(reinterpret_cast<const char*>(buffer.data()), made);
    }
  };
  for (size_t at = 0; at < input.size(); at += piece) {
    stream->SetInput(input.substr(at, piece));
    if (!drain(false)) return out;
    EXPECT_FALSE(stream->has_input());
  }
  drain(true);
  return out;
}

// `size` bytes alternating, every 1 KiB, between a small alphabet and pseudo-random bytes.
inline std::string CodecTestData(size_t size) {
  std::string data(size, '\0');
  uint32_t x = 7;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1664525u + 1013904223u;
    data[i] = static_cast<char>((i & 1024) ? (x >> 24) : 'a' + ((x >> 28) & 7));
  }
  return data;
}

}  // namespace dorm::runtime::codec_test
