#include "runtime/construction_backoff.h"

#include <algorithm>

namespace dorm::runtime {

std::chrono::milliseconds ConstructionBackoff::RecordFailure(const std::string& key,
                                                             const std::string& message,
                                                             Clock::time_point now) {
  if (failures_.size() >= kMaxRemembered && failures_.count(key) == 0) failures_.clear();
  Failure& failure = failures_[key];
  failure.count = std::min(failure.count + 1, 30);
  std::chrono::milliseconds delay = kFirstDelay * (1LL << std::min(failure.count - 1, 10));
  if (delay > kMaxDelay) delay = kMaxDelay;
  failure.retry_at = now + delay;
  failure.message = message;
  return delay;
}

const std::string* ConstructionBackoff::Refusal(const std::string& key,
                                                Clock::time_point now) const {
  if (failures_.empty()) return nullptr;
  auto it = failures_.find(key);
  if (it == failures_.end() || now >= it->second.retry_at) return nullptr;
  return &it->second.message;
}

}  // namespace dorm::runtime
