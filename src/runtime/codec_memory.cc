#include "runtime/codec_memory.h"

#include <cstdlib>
#include <cstring>

namespace dorm::runtime {

namespace {

// Keeps each block's payload aligned as malloc's own.
constexpr size_t kBlockHeader = alignof(std::max_align_t);

void* NewBlock(size_t size) {
  auto* block = static_cast<unsigned char*>(std::malloc(size + kBlockHeader));
  if (!block) return nullptr;
  std::memcpy(block, &size, sizeof size);
  return block + kBlockHeader;
}

// Frees the block at `address`; returns the bytes it took, header included.
size_t DeleteBlock(void* address) {
  unsigned char* block = static_cast<unsigned char*>(address) - kBlockHeader;
  size_t size;
  std::memcpy(&size, block, sizeof size);
  std::free(block);
  return size + kBlockHeader;
}

}  // namespace

bool CodecMemory::ReserveCollecting(size_t bytes) {
  if (budget_->TryReserve(bytes)) return true;
  // Streams dropped without being closed hold their state until collected: collect first.
  if (hooks_.collect) hooks_.collect();
  return budget_->Reserve(bytes);
}

void* CodecMemory::Allocate(size_t size) {
  if (size > SIZE_MAX - kBlockHeader) return nullptr;
  const size_t charged = size + kBlockHeader;
  if (!ReserveCollecting(charged)) return nullptr;
  void* address = NewBlock(size);
  if (!address) {
    budget_->Release(charged);
    return nullptr;
  }
  if (hooks_.external) hooks_.external(static_cast<int64_t>(charged));
  return address;
}

void CodecMemory::Free(void* address) {
  if (!address) return;
  const size_t charged = DeleteBlock(address);
  budget_->Release(charged);
  if (hooks_.external) hooks_.external(-static_cast<int64_t>(charged));
}

void* CodecMemory::AllocateUncharged(size_t size, size_t* charge) {
  if (size > SIZE_MAX - kBlockHeader) return nullptr;
  void* address = NewBlock(size);
  if (!address) return nullptr;
  *charge = size + kBlockHeader;
  if (hooks_.external) hooks_.external(static_cast<int64_t>(*charge));
  return address;
}

size_t CodecMemory::FreeUncharged(void* address) {
  const size_t taken = DeleteBlock(address);
  if (hooks_.external) hooks_.external(-static_cast<int64_t>(taken));
  return taken;
}

}  // namespace dorm::runtime
