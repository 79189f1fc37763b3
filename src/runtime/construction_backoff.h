// Objects whose construction failed recently. Until a delay has passed, their events fail at once
// with the failure's message instead of constructing the object again: a constructor that always
// throws, runs out of CPU, or whose blockConcurrencyWhile() callback throws would otherwise be
// retried as fast as events arrive. The delay doubles with each consecutive failure (100 ms, 200
// ms, ... up to 10 s); an event delivered to the object clears its entry.
//
// At most kMaxRemembered objects are remembered (a burst of failing objects past that forgets them
// all, which only makes their next events try again).
//
// Pure: the caller passes the time. Threading: owned by one ThreadEngine, used on its thread.
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>

namespace dorm::runtime {

class ConstructionBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxRemembered = 10000;
  static constexpr std::chrono::milliseconds kFirstDelay{100};
  static constexpr std::chrono::milliseconds kMaxDelay{10000};

  // Records a failed construction of the object `key`; returns how long its events now fail.
  std::chrono::milliseconds RecordFailure(const std::string& key, const std::string& message,
                                          Clock::time_point now);
  // The message the object's events fail with now, or nullptr when it may be constructed.
  const std::string* Refusal(const std::string& key, Clock::time_point now) const;
  // An event was delivered to the object: it constructs fine.
  void Clear(const std::string& key) {
    if (!failures_.empty()) failures_.erase(key);
  }
  bool empty() const { return failures_.empty(); }
  size_t size() const { return failures_.size(); }

 private:
  struct Failure {
    int count = 0;
    Clock::time_point retry_at;
    std::string message;
  };
  std::unordered_map<std::string, Failure> failures_;
};

}  // namespace dorm::runtime
