// CRC-32C (Castagnoli, as iSCSI uses it) and CRC-64/NVME, the checksums crypto.DigestStream takes
// besides CRC-32, as the CRC catalogue defines them (reflected, initial value and final XOR all
// ones; check values 0xE3069283 and 0xAE8B14860A799888 for "123456789"). Computed by Debian's
// libcrcutil.
//
// Incremental: start from 0 (the value of no bytes) and pass each result as `crc` to the next
// call; the result after the last piece is the checksum of all of them. Pure functions,
// thread-safe; nothing throws. The tables are built on first use (64 KiB, kept for the process).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dorm {

uint32_t Crc32cUpdate(uint32_t crc, const unsigned char* data, size_t size);
uint64_t Crc64NvmeUpdate(uint64_t crc, const unsigned char* data, size_t size);

}  // namespace dorm
