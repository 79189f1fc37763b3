#include "runtime/input_gate.h"

#include <utility>

namespace dorm::runtime {

void InputGate::Enqueue(ObjectEvent event) { queue_.push_back(std::move(event)); }

ObjectEvent InputGate::TakeNext() {
  ObjectEvent event = std::move(queue_.front());
  queue_.pop_front();
  return event;
}

std::list<ObjectEvent> InputGate::TakeAll() {
  std::list<ObjectEvent> all;
  all.swap(queue_);
  return all;
}

bool InputGate::Lock() {
  if (depth_ >= kMaxDepth) return false;
  ++depth_;
  return true;
}

bool InputGate::Unlock() {
  if (depth_ == 0) return false;
  return --depth_ == 0 && !queue_.empty();
}

}  // namespace dorm::runtime
