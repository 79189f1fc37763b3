#include "storage/held_log.h"

#include <cstring>

namespace dorm::storage {

bool HeldLog::Read(void* out, size_t amount, uint64_t offset) const {
  auto* bytes = static_cast<unsigned char*>(out);
  size_t available = 0;
  if (offset < bytes_.size()) {
    available = static_cast<size_t>(bytes_.size() - offset);
    if (available > amount) available = amount;
    std::memcpy(bytes, bytes_.data() + offset, available);
  }
  if (available == amount) return true;
  std::memset(bytes + available, 0, amount - available);
  return false;
}

bool HeldLog::Write(const void* data, size_t amount, uint64_t offset) {
  if (offset > kMaxBytes || amount > kMaxBytes - offset) return false;
  if (amount == 0) return true;
  const size_t end = static_cast<size_t>(offset) + amount;
  if (end > bytes_.size()) bytes_.resize(end, '\0');
  std::memcpy(bytes_.data() + offset, data, amount);
  return true;
}

bool HeldLog::Truncate(uint64_t size) {
  if (size > kMaxBytes) return false;
  bytes_.resize(static_cast<size_t>(size), '\0');
  return true;
}

}  // namespace dorm::storage
