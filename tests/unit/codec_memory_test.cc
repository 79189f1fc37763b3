// CodecMemory: blocks charged to the budget with their header, a collection before a refusal
// stands, the external-memory hook told of every change, and uncharged blocks.
#include "runtime/codec_memory.h"

#include <gtest/gtest.h>

#include <cstring>

namespace dorm::runtime {
namespace {

TEST(CodecMemory, ChargesEachBlockAndGivesItBack) {
  js::ByteBudget budget(1 << 20, nullptr);
  int64_t external = 0;
  CodecMemory memory(&budget, {nullptr, [&](int64_t change) { external += change; }});
  void* a = memory.Allocate(1000);
  ASSERT_NE(a, nullptr);
  std::memset(a, 0xab, 1000);  // the whole payload is usable (ASan checks it)
  const size_t charged = budget.used();
  EXPECT_GT(charged, 1000u);  // the header is charged too
  EXPECT_EQ(external, static_cast<int64_t>(charged));
  void* b = memory.Allocate(0);
  ASSERT_NE(b, nullptr);
  memory.Free(a);
  memory.Free(b);
  memory.Free(nullptr);
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(external, 0);
}

TEST(CodecMemory, CollectsBeforeARefusalStands) {
  int exhausted = 0;
  js::ByteBudget budget(64 * 1024, [&] { ++exhausted; });
  // Another holder of the budget (a stream left for the collector) that a collection frees.
  ASSERT_TRUE(budget.TryReserve(60 * 1024));
  int collections = 0;
  bool other_held = true;
  CodecMemory memory(&budget, {[&] {
                                 ++collections;
                                 if (other_held) budget.Release(60 * 1024);
                                 other_held = false;
                               },
                               nullptr});
  void* block = memory.Allocate(16 * 1024);
  ASSERT_NE(block, nullptr);
  EXPECT_EQ(collections, 1);
  EXPECT_EQ(exhausted, 0);
  // Nothing left to collect: refused, with the budget's on_exhausted.
  EXPECT_EQ(memory.Allocate(60 * 1024), nullptr);
  EXPECT_EQ(collections, 2);
  EXPECT_EQ(exhausted, 1);
  memory.Free(block);
  EXPECT_EQ(budget.used(), 0u);
}

TEST(CodecMemory, UnchargedBlocksReportWhatTheyTake) {
  js::ByteBudget budget(1024, nullptr);
  int64_t external = 0;
  CodecMemory memory(&budget, {nullptr, [&](int64_t change) { external += change; }});
  size_t taken = 0;
  void* block = memory.AllocateUncharged(1 << 20, &taken);  // past the budget: not refused
  ASSERT_NE(block, nullptr);
  EXPECT_GT(taken, size_t{1} << 20);
  EXPECT_EQ(budget.used(), 0u);
  EXPECT_EQ(external, static_cast<int64_t>(taken));
  EXPECT_EQ(memory.FreeUncharged(block), taken);
  EXPECT_EQ(external, 0);
}

TEST(CodecMemory, RefusesASizeThatOverflows) {
  js::ByteBudget budget(SIZE_MAX, nullptr);
  CodecMemory memory(&budget, {});
  EXPECT_EQ(memory.Allocate(SIZE_MAX - 1), nullptr);
  size_t taken = 0;
  EXPECT_EQ(memory.AllocateUncharged(SIZE_MAX - 1, &taken), nullptr);
  EXPECT_EQ(budget.used(), 0u);
}

}  // namespace
}  // namespace dorm::runtime
