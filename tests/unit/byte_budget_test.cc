// ByteBudget: final refusals (Reserve) and refusals left pending for a caller that collects
// garbage and asks again (ReserveOrDefer), as the isolates' ArrayBuffer allocator does.
#include "js/byte_budget.h"

#include <gtest/gtest.h>

namespace dorm::js {
namespace {

TEST(ByteBudgetTest, ReserveRefusesPastTheLimitAndRunsOnExhausted) {
  int exhausted = 0;
  ByteBudget budget(100, [&] { ++exhausted; });
  EXPECT_TRUE(budget.Reserve(60));
  EXPECT_FALSE(budget.Reserve(41));
  EXPECT_EQ(exhausted, 1);
  EXPECT_EQ(budget.used(), 60u);  // nothing counted for the refusal
  EXPECT_TRUE(budget.Reserve(40));
  budget.Release(100);
  EXPECT_EQ(budget.used(), 0u);
}

TEST(ByteBudgetTest, DeferredRefusalStaysPendingUntilTaken) {
  int exhausted = 0;
  int deferred = 0;
  ByteBudget budget(
      100, [&] { ++exhausted; }, [&] { ++deferred; });
  EXPECT_TRUE(budget.ReserveOrDefer(90));
  EXPECT_FALSE(budget.ReserveOrDefer(20));
  EXPECT_EQ(deferred, 1);
  EXPECT_EQ(exhausted, 0);  // not final: the caller may free memory and ask again
  EXPECT_TRUE(budget.TakePendingRefusal());
  EXPECT_FALSE(budget.TakePendingRefusal());  // taken once
}

TEST(ByteBudgetTest, AGrantAfterADeferredRefusalClearsIt) {
  int deferred = 0;
  ByteBudget budget(100, nullptr, [&] { ++deferred; });
  EXPECT_TRUE(budget.ReserveOrDefer(90));
  EXPECT_FALSE(budget.ReserveOrDefer(20));
  // What was held is freed (garbage collected) and the same request is asked again.
  budget.Release(90);
  EXPECT_TRUE(budget.ReserveOrDefer(20));
  EXPECT_FALSE(budget.TakePendingRefusal());
  EXPECT_EQ(deferred, 1);
  EXPECT_EQ(budget.used(), 20u);
}

TEST(ByteBudgetTest, AnOverflowingRequestIsRefused) {
  ByteBudget budget(100, nullptr);
  EXPECT_TRUE(budget.TryReserve(10));
  EXPECT_FALSE(budget.TryReserve(SIZE_MAX - 5));
  EXPECT_FALSE(budget.ReserveOrDefer(SIZE_MAX));
  EXPECT_EQ(budget.used(), 10u);
  EXPECT_TRUE(budget.TakePendingRefusal());
}

}  // namespace
}  // namespace dorm::js
