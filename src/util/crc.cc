#include "util/crc.h"

// Included by its folder's name: the library's own include folder holds names (platform.h) that
// would shadow the project's. Its headers include each other by relative path.
#include <crcutil/generic_crc.h>

namespace dorm {
namespace {

// 64-bit tables and words: crcutil's fastest generic form on amd64, for either width.
using Crc64Tables = crcutil::GenericCrc<uint64_t, uint64_t, uint64_t, 4>;

// The polynomials in crcutil's (reflected) form: 0x1EDC6F41 and 0xAD93D23594C93659 bit-reversed.
// "Canonical" inverts the value before and after, which is the catalogue's all-ones initial value
// and final XOR.
const Crc64Tables& Crc32cTables() {
  static const Crc64Tables tables(0x82F63B78u, 32, /*canonical=*/true);
  return tables;
}

const Crc64Tables& Crc64NvmeTables() {
  static const Crc64Tables tables(0x9A6C9329AC4BC9B5ull, 64, /*canonical=*/true);
  return tables;
}

}  // namespace

uint32_t Crc32cUpdate(uint32_t crc, const unsigned char* data, size_t size) {
  if (size == 0) return crc;
  return static_cast<uint32_t>(Crc32cTables().CrcDefault(data, size, crc));
}

uint64_t Crc64NvmeUpdate(uint64_t crc, const unsigned char* data, size_t size) {
  if (size == 0) return crc;
  return Crc64NvmeTables().CrcDefault(data, size, crc);
}

}  // namespace dorm
