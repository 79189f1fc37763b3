// ZlibStream: round trips in each format, bounded output pieces, workerd's errors for corrupt,
// truncated and trailing input, and its state held against the memory budget.
#include "runtime/zlib_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dorm::runtime {
namespace {

// Pushes `input` in pieces of `piece` bytes, then finishes; the output, or the error.
std::string ZlibThrough(ZlibStream* stream, const std::string& input, size_t piece, size_t capacity,
                        std::string* error, size_t* largest = nullptr) {
  std::string out;
  std::vector<Bytef> buffer(capacity);
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

std::string ZlibTestData(size_t size) {
  std::string data(size, '\0');
  uint32_t x = 7;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1664525u + 1013904223u;
    data[i] = static_cast<char>((i & 1024) ? (x >> 24) : 'a' + ((x >> 28) & 7));
  }
  return data;
}

TEST(ZlibStream, RoundTripsEachFormat) {
  js::ByteBudget budget(64 << 20, nullptr);
  for (const char* format : {"gzip", "deflate", "deflate-raw"}) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{70000}, size_t{300000}}) {
      const std::string data = ZlibTestData(size);
      auto deflater = ZlibStream::Create(true, format, &budget, {});
      ASSERT_TRUE(deflater);
      std::string error;
      const std::string packed = ZlibThrough(deflater.get(), data, 1000, 4096, &error);
      ASSERT_EQ(error, "") << format;
      auto inflater = ZlibStream::Create(false, format, &budget, {});
      const std::string back = ZlibThrough(inflater.get(), packed, 777, 1000, &error);
      ASSERT_EQ(error, "") << format;
      EXPECT_EQ(back, data) << format << " " << size;
    }
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(ZlibStream, UnknownFormats) {
  js::ByteBudget budget(1 << 20, nullptr);
  for (const char* format : {"br", "GZIP", "", "deflate64"}) {
    EXPECT_FALSE(ZlibStream::Create(true, format, &budget, {})) << format;
  }
}

TEST(ZlibStream, ABombComesOutInBoundedPieces) {
  js::ByteBudget budget(64 << 20, nullptr);
  auto deflater = ZlibStream::Create(true, "gzip", &budget, {});
  std::string error;
  const std::string packed =
      ZlibThrough(deflater.get(), std::string(64 << 20, '\0'), 1 << 20, 65536, &error);
  ASSERT_LT(packed.size(), 100000u);
  auto inflater = ZlibStream::Create(false, "gzip", &budget, {});
  size_t largest = 0;
  const std::string back =
      ZlibThrough(inflater.get(), packed, packed.size(), 65536, &error, &largest);
  EXPECT_EQ(error, "");
  EXPECT_EQ(back.size(), size_t{64} << 20);
  EXPECT_EQ(largest, 65536u);
}

TEST(ZlibStream, CorruptTruncatedAndTrailingInputFailAsInWorkerd) {
  js::ByteBudget budget(64 << 20, nullptr);
  std::string error;
  auto deflater = ZlibStream::Create(true, "gzip", &budget, {});
  const std::string packed = ZlibThrough(deflater.get(), ZlibTestData(50000), 50000, 65536, &error);

  auto junk = ZlibStream::Create(false, "gzip", &budget, {});
  ZlibThrough(junk.get(), "not compressed at all", 100, 65536, &error);
  EXPECT_EQ(error, "Decompression failed.");

  error.clear();
  auto cut = ZlibStream::Create(false, "gzip", &budget, {});
  ZlibThrough(cut.get(), packed.substr(0, packed.size() - 1), 100000, 65536, &error);
  EXPECT_EQ(error, "Called close() on a decompression stream with incomplete data");

  error.clear();
  auto empty = ZlibStream::Create(false, "deflate", &budget, {});
  ZlibThrough(empty.get(), "", 1, 65536, &error);
  EXPECT_EQ(error, "Called close() on a decompression stream with incomplete data");

  error.clear();
  auto trailing = ZlibStream::Create(false, "gzip", &budget, {});
  ZlibThrough(trailing.get(), packed + "x", 100000, 65536, &error);
  EXPECT_EQ(error, "Trailing bytes after end of compressed data");

  error.clear();
  auto later = ZlibStream::Create(false, "gzip", &budget, {});
  const std::string back = ZlibThrough(later.get(), packed + "x", packed.size(), 65536, &error);
  EXPECT_EQ(error, "Trailing bytes after end of compressed data");
  EXPECT_EQ(back, ZlibTestData(50000));
}

TEST(ZlibStream, StateIsChargedToTheBudgetAndGivenBack) {
  js::ByteBudget budget(64 << 20, nullptr);
  int64_t external = 0;
  {
    auto deflater = ZlibStream::Create(true, "gzip", &budget,
                                       {nullptr, [&](int64_t change) { external += change; }});
    ASSERT_TRUE(deflater);
    EXPECT_GT(budget.used(), 200000u);  // window, hash chains and pending buffer
    EXPECT_EQ(external, static_cast<int64_t>(budget.used()));
  }
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(external, 0);
}

TEST(ZlibStream, ARefusedChargeCollectsFirstThenFails) {
  int exhausted = 0;
  js::ByteBudget budget(100000, [&] { ++exhausted; });
  int collected = 0;
  auto deflater = ZlibStream::Create(true, "gzip", &budget, {[&] { ++collected; }, nullptr});
  EXPECT_FALSE(deflater);
  // Each refused allocation (zlib makes several before it checks them) collects first.
  EXPECT_GE(collected, 1);
  EXPECT_EQ(exhausted, collected);
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace dorm::runtime
