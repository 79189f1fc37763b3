// Compiled without RTTI: it subclasses a V8 type, for which libnode has no type information.
#include "js/array_buffer_allocator.h"

#include <cstdlib>
#include <cstring>

namespace dorm::js {
namespace {

class BudgetedAllocator : public v8::ArrayBuffer::Allocator {
 public:
  explicit BudgetedAllocator(std::shared_ptr<ByteBudget> budget) : budget_(std::move(budget)) {}

  void* Allocate(size_t length) override {
    if (!budget_->ReserveOrDefer(length)) return nullptr;
    void* p = std::calloc(length ? length : 1, 1);
    if (!p) budget_->Release(length);
    return p;
  }
  void* AllocateUninitialized(size_t length) override {
    if (!budget_->ReserveOrDefer(length)) return nullptr;
    void* p = std::malloc(length ? length : 1);
    if (!p) budget_->Release(length);
    return p;
  }
  void Free(void* data, size_t length) override {
    std::free(data);
    budget_->Release(length);
  }

 private:
  const std::shared_ptr<ByteBudget> budget_;
};

}  // namespace

std::unique_ptr<v8::ArrayBuffer::Allocator> NewBudgetedAllocator(
    std::shared_ptr<ByteBudget> budget) {
  return std::make_unique<BudgetedAllocator>(std::move(budget));
}

}  // namespace dorm::js
