// ZlibStream: round trips in each format, bounded output pieces, workerd's errors for corrupt,
// truncated and trailing input, and its state held against the memory budget.
#include "runtime/zlib_stream.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codec_test_support.h"

namespace dorm::runtime {
namespace {

TEST(ZlibStream, RoundTripsEachFormat) {
  js::ByteBudget budget(64 << 20, nullptr);
  for (const char* format : {"gzip", "deflate", "deflate-raw"}) {
    for (size_t size : {size_t{0}, size_t{1}, size_t{70000}, size_t{300000}}) {
      const std::string data = codec_test::CodecTestData(size);
      auto deflater = ZlibStream::Create(true, format, &budget, {});
      ASSERT_TRUE(deflater);
      std::string error;
      const std::string packed = codec_test::PumpThrough(deflater.get(), data, 1000, 4096, &error);
      ASSERT_EQ(error, "") << format;
      auto inflater = ZlibStream::Create(false, format, &budget, {});
      const std::string back = codec_test::PumpThrough(inflater.get(), packed, 777, 1000, &error);
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
      codec_test::PumpThrough(deflater.get(), std::string(64 << 20, '\0'), 1 << 20, 65536, &error);
  ASSERT_LT(packed.size(), 100000u);
  auto inflater = ZlibStream::Create(false, "gzip", &budget, {});
  size_t largest = 0;
  const std::string back =
      codec_test::PumpThrough(inflater.get(), packed, packed.size(), 65536, &error, &largest);
  EXPECT_EQ(error, "");
  EXPECT_EQ(back.size(), size_t{64} << 20);
  EXPECT_EQ(largest, 65536u);
}

TEST(ZlibStream, CorruptTruncatedAndTrailingInputFailAsInWorkerd) {
  js::ByteBudget budget(64 << 20, nullptr);
  std::string error;
  auto deflater = ZlibStream::Create(true, "gzip", &budget, {});
  const std::string packed = codec_test::PumpThrough(
      deflater.get(), codec_test::CodecTestData(50000), 50000, 65536, &error);

  auto junk = ZlibStream::Create(false, "gzip", &budget, {});
  codec_test::PumpThrough(junk.get(), "not compressed at all", 100, 65536, &error);
  EXPECT_EQ(error, "Decompression failed.");

  error.clear();
  auto cut = ZlibStream::Create(false, "gzip", &budget, {});
  codec_test::PumpThrough(cut.get(), packed.substr(0, packed.size() - 1), 100000, 65536, &error);
  EXPECT_EQ(error, "Called close() on a decompression stream with incomplete data");

  error.clear();
  auto empty = ZlibStream::Create(false, "deflate", &budget, {});
  codec_test::PumpThrough(empty.get(), "", 1, 65536, &error);
  EXPECT_EQ(error, "Called close() on a decompression stream with incomplete data");

  error.clear();
  auto trailing = ZlibStream::Create(false, "gzip", &budget, {});
  codec_test::PumpThrough(trailing.get(), packed + "x", 100000, 65536, &error);
  EXPECT_EQ(error, "Trailing bytes after end of compressed data");

  error.clear();
  auto later = ZlibStream::Create(false, "gzip", &budget, {});
  const std::string back =
      codec_test::PumpThrough(later.get(), packed + "x", packed.size(), 65536, &error);
  EXPECT_EQ(error, "Trailing bytes after end of compressed data");
  EXPECT_EQ(back, codec_test::CodecTestData(50000));
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
