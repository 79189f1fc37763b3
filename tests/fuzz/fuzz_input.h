// Helpers shared by the fuzz targets of tests/fuzz. Header-only; not a fuzz target itself.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

namespace dorm::fuzz {

// The byte that starts a run in ExpandRuns.
inline constexpr uint8_t kRunMarker = 0xFE;

// Expands runs so that a small input can stand for a large one (a 70 KiB trailer, a frame of
// several MiB): kRunMarker, a 16-bit big-endian count and a byte stand for count * 16 copies of
// the byte. Every other byte is copied. The result is cut at `max_bytes`.
inline std::string ExpandRuns(const uint8_t* data, size_t size, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < size && out.size() < max_bytes;) {
    if (data[i] == kRunMarker && i + 3 < size) {
      size_t count = ((static_cast<size_t>(data[i + 1]) << 8) | data[i + 2]) * 16;
      out.append(std::min(count, max_bytes - out.size()), static_cast<char>(data[i + 3]));
      i += 4;
      continue;
    }
    out.push_back(static_cast<char>(data[i]));
    ++i;
  }
  return out;
}

// Sizes in which a peer's bytes arrive, chosen by one input byte: single bytes, small pieces
// that split every token, and the server's own read step.
inline size_t ReadStepFor(uint8_t selector) {
  static constexpr size_t kSteps[] = {1, 2, 3, 7, 64, 1000, 4096, 16384};
  return kSteps[selector % (sizeof kSteps / sizeof kSteps[0])];
}

}  // namespace dorm::fuzz
