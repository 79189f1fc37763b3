// BrotliStream: round trips, bounded output pieces, the zlib streams' errors for corrupt,
// truncated and trailing input, and its state held against the memory budget.
#include "runtime/brotli_stream.h"

#include <brotli/decode.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "codec_test_support.h"

namespace dorm::runtime {
namespace {

TEST(BrotliStream, RoundTrips) {
  js::ByteBudget budget(64 << 20, nullptr);
  for (size_t size : {size_t{0}, size_t{1}, size_t{70000}, size_t{300000}}) {
    const std::string data = codec_test::CodecTestData(size);
    auto encoder = BrotliStream::Create(true, &budget, {});
    ASSERT_TRUE(encoder);
    std::string error;
    const std::string packed = codec_test::PumpThrough(encoder.get(), data, 1000, 4096, &error);
    ASSERT_EQ(error, "");
    // Brotli's own one-shot decoder reads it.
    std::string direct(size, '\0');
    size_t direct_size = direct.size();
    ASSERT_EQ(
        BrotliDecoderDecompress(packed.size(), reinterpret_cast<const uint8_t*>(packed.data()),
                                &direct_size, reinterpret_cast<uint8_t*>(direct.data())),
        BROTLI_DECODER_RESULT_SUCCESS);
    EXPECT_EQ(direct_size, size);
    auto decoder = BrotliStream::Create(false, &budget, {});
    const std::string back = codec_test::PumpThrough(decoder.get(), packed, 777, 1000, &error);
    ASSERT_EQ(error, "");
    EXPECT_EQ(back, data) << size;
  }
  EXPECT_EQ(budget.used(), 0u);
}

TEST(BrotliStream, ABombComesOutInBoundedPieces) {
  js::ByteBudget budget(64 << 20, nullptr);
  auto encoder = BrotliStream::Create(true, &budget, {});
  std::string error;
  const std::string packed =
      codec_test::PumpThrough(encoder.get(), std::string(64 << 20, '\0'), 1 << 20, 65536, &error);
  ASSERT_LT(packed.size(), 100000u);
  auto decoder = BrotliStream::Create(false, &budget, {});
  size_t largest = 0;
  const std::string back =
      codec_test::PumpThrough(decoder.get(), packed, packed.size(), 65536, &error, &largest);
  EXPECT_EQ(error, "");
  EXPECT_EQ(back.size(), size_t{64} << 20);
  EXPECT_EQ(largest, 65536u);
}

TEST(BrotliStream, CorruptTruncatedAndTrailingInputFail) {
  js::ByteBudget budget(64 << 20, nullptr);
  std::string error;
  auto encoder = BrotliStream::Create(true, &budget, {});
  const std::string packed = codec_test::PumpThrough(
      encoder.get(), codec_test::CodecTestData(50000), 50000, 65536, &error);

  auto junk = BrotliStream::Create(false, &budget, {});
  codec_test::PumpThrough(junk.get(), std::string(6, '\xff'), 100, 65536, &error);
  EXPECT_EQ(error, "Decompression failed.");

  error.clear();
  auto cut = BrotliStream::Create(false, &budget, {});
  codec_test::PumpThrough(cut.get(), packed.substr(0, packed.size() - 1), 100000, 65536, &error);
  EXPECT_EQ(error, "Called close() on a decompression stream with incomplete data");

  error.clear();
  auto empty = BrotliStream::Create(false, &budget, {});
  codec_test::PumpThrough(empty.get(), "", 1, 65536, &error);
  EXPECT_EQ(error, "Called close() on a decompression stream with incomplete data");

  error.clear();
  auto later = BrotliStream::Create(false, &budget, {});
  const std::string back =
      codec_test::PumpThrough(later.get(), packed + "x", packed.size(), 65536, &error);
  EXPECT_EQ(error, "Trailing bytes after end of compressed data");
  EXPECT_EQ(back, codec_test::CodecTestData(50000));
}

TEST(BrotliStream, StateIsChargedToTheBudgetAndGivenBack) {
  js::ByteBudget budget(64 << 20, nullptr);
  int64_t external = 0;
  std::string packed;
  {
    auto encoder =
        BrotliStream::Create(true, &budget, {nullptr, [&](int64_t change) { external += change; }});
    ASSERT_TRUE(encoder);
    std::string error;
    packed = codec_test::PumpThrough(encoder.get(), codec_test::CodecTestData(300000), 300000,
                                     65536, &error);
    EXPECT_EQ(budget.used(), BrotliStream::kEncoderReserve);
    EXPECT_GT(external, 0);  // what it holds now: its state, window and tables
  }
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(external, 0);
  {
    auto decoder = BrotliStream::Create(false, &budget,
                                        {nullptr, [&](int64_t change) { external += change; }});
    std::string error;
    std::vector<uint8_t> out(65536);
    decoder->SetInput(packed);
    const char* failure = nullptr;
    decoder->Pump(false, out.data(), out.size(), &failure);
    EXPECT_GT(budget.used(), 0u);  // its state and window
    EXPECT_EQ(external, static_cast<int64_t>(budget.used()));
  }
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(external, 0);
}

TEST(BrotliStream, AnEncoderIsChargedItsReserveUpFrontAndNeverRefused) {
  // libbrotli's encoder exits the process on a refused allocation: it must get every one.
  int collected = 0;
  js::ByteBudget small(BrotliStream::kEncoderReserve - 1, nullptr);
  EXPECT_FALSE(BrotliStream::Create(true, &small, {[&] { ++collected; }, nullptr}));
  EXPECT_EQ(collected, 1);
  EXPECT_EQ(small.used(), 0u);

  js::ByteBudget budget(BrotliStream::kEncoderReserve, nullptr);
  auto encoder = BrotliStream::Create(true, &budget, {});
  ASSERT_TRUE(encoder);
  EXPECT_EQ(budget.used(), BrotliStream::kEncoderReserve);
  std::string error;
  const std::string data = codec_test::CodecTestData(8 << 20);
  const std::string packed = codec_test::PumpThrough(encoder.get(), data, 1 << 20, 65536, &error);
  EXPECT_EQ(error, "");
  EXPECT_EQ(budget.used(), BrotliStream::kEncoderReserve);
  encoder.reset();
  EXPECT_EQ(budget.used(), 0u);
  auto decoder = BrotliStream::Create(false, &budget, {});
  EXPECT_EQ(codec_test::PumpThrough(decoder.get(), packed, 100000, 65536, &error), data);
}

TEST(BrotliStream, ARefusedChargeFailsTheDecoder) {
  js::ByteBudget plenty(64 << 20, nullptr);
  auto encoder = BrotliStream::Create(true, &plenty, {});
  std::string error;
  const std::string packed = codec_test::PumpThrough(
      encoder.get(), codec_test::CodecTestData(1 << 20), 1 << 20, 65536, &error);
  // Enough for the decoder's state, not for its window.
  js::ByteBudget budget(64 * 1024, nullptr);
  int collected = 0;
  auto decoder = BrotliStream::Create(false, &budget, {[&] { ++collected; }, nullptr});
  ASSERT_TRUE(decoder);
  codec_test::PumpThrough(decoder.get(), packed, packed.size(), 65536, &error);
  EXPECT_EQ(error, "Decompression failed.");
  EXPECT_GE(collected, 1);
  decoder.reset();
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace dorm::runtime
