// Compiled without RTTI: it subclasses a V8 type, for which libnode has no type information.
#include "js/array_buffer_allocator.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace dorm::js {
namespace {

class BudgetedAllocator : public v8::ArrayBuffer::Allocator {
 public:
  BudgetedAllocator(size_t budget, std::function<void()> on_exhausted)
      : budget_(budget), on_exhausted_(std::move(on_exhausted)) {}

  void* Allocate(size_t length) override {
    if (!Reserve(length)) return nullptr;
    void* p = std::calloc(length ? length : 1, 1);
    if (!p) used_.fetch_sub(length);
    return p;
  }
  void* AllocateUninitialized(size_t length) override {
    if (!Reserve(length)) return nullptr;
    void* p = std::malloc(length ? length : 1);
    if (!p) used_.fetch_sub(length);
    return p;
  }
  void Free(void* data, size_t length) override {
    std::free(data);
    used_.fetch_sub(length);
  }

 private:
  bool Reserve(size_t length) {
    size_t now = used_.fetch_add(length) + length;
    if (now > budget_) {
      used_.fetch_sub(length);
      if (on_exhausted_) on_exhausted_();
      return false;
    }
    return true;
  }
  const size_t budget_;
  const std::function<void()> on_exhausted_;
  std::atomic<size_t> used_{0};
};

}  // namespace

std::unique_ptr<v8::ArrayBuffer::Allocator> NewBudgetedAllocator(
    size_t budget_bytes, std::function<void()> on_exhausted) {
  return std::make_unique<BudgetedAllocator>(budget_bytes, std::move(on_exhausted));
}

}  // namespace dorm::js
