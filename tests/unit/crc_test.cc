#include "util/crc.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dorm {
namespace {

const unsigned char* Bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The catalogue's definition, one bit at a time (reflected input and output, all-ones initial
// value and final XOR), to compare the library's tables against.
uint64_t BitwiseReflectedCrc(uint64_t reflected_poly, int width,
                             const std::vector<unsigned char>& data) {
  const uint64_t mask = width == 64 ? ~0ull : ((1ull << width) - 1);
  uint64_t crc = mask;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ reflected_poly : crc >> 1;
  }
  return (crc ^ mask) & mask;
}

TEST(Crc, CatalogueCheckValues) {
  const std::string check = "123456789";
  EXPECT_EQ(Crc32cUpdate(0, Bytes(check), check.size()), 0xE3069283u);
  EXPECT_EQ(Crc64NvmeUpdate(0, Bytes(check), check.size()), 0xAE8B14860A799888ull);
  EXPECT_EQ(Crc32cUpdate(0, nullptr, 0), 0u);
  EXPECT_EQ(Crc64NvmeUpdate(0, nullptr, 0), 0u);
}

TEST(Crc, Rfc3720Vectors) {
  // RFC 3720 appendix B.4: 32 bytes of zeros, of ones, increasing and decreasing.
  std::vector<unsigned char> zeros(32, 0), ones(32, 0xFF), up(32), down(32);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<unsigned char>(i);
    down[i] = static_cast<unsigned char>(31 - i);
  }
  EXPECT_EQ(Crc32cUpdate(0, zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(Crc32cUpdate(0, ones.data(), ones.size()), 0x62A8AB43u);
  EXPECT_EQ(Crc32cUpdate(0, up.data(), up.size()), 0x46DD794Eu);
  EXPECT_EQ(Crc32cUpdate(0, down.data(), down.size()), 0x113FDB5Cu);
}

TEST(Crc, PiecesGiveTheChecksumOfTheWhole) {
  std::vector<unsigned char> data(5000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<unsigned char>(i * 131 + 17);
  const uint32_t whole32 = Crc32cUpdate(0, data.data(), data.size());
  const uint64_t whole64 = Crc64NvmeUpdate(0, data.data(), data.size());
  EXPECT_EQ(whole32, BitwiseReflectedCrc(0x82F63B78u, 32, data));
  EXPECT_EQ(whole64, BitwiseReflectedCrc(0x9A6C9329AC4BC9B5ull, 64, data));
  for (size_t split :
       {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{63}, size_t{4096}, data.size()}) {
    uint32_t c32 = Crc32cUpdate(0, data.data(), split);
    c32 = Crc32cUpdate(c32, data.data() + split, data.size() - split);
    uint64_t c64 = Crc64NvmeUpdate(0, data.data(), split);
    c64 = Crc64NvmeUpdate(c64, data.data() + split, data.size() - split);
    EXPECT_EQ(c32, whole32) << split;
    EXPECT_EQ(c64, whole64) << split;
  }
  // Unaligned starts and short tails.
  for (size_t at = 1; at < 17; ++at) {
    std::vector<unsigned char> part(data.begin() + at, data.begin() + at + 29);
    EXPECT_EQ(Crc32cUpdate(0, data.data() + at, 29), BitwiseReflectedCrc(0x82F63B78u, 32, part));
    EXPECT_EQ(Crc64NvmeUpdate(0, data.data() + at, 29),
              BitwiseReflectedCrc(0x9A6C9329AC4BC9B5ull, 64, part));
  }
}

}  // namespace
}  // namespace dorm
