#include "runtime/reset_reason.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace dorm::runtime {
namespace {

const ResetReason kAll[] = {
    ResetReason::kEvicted,
    ResetReason::kShutdown,
    ResetReason::kCodeUpdated,
    ResetReason::kCpuLimit,
    ResetReason::kMemoryLimit,
    ResetReason::kEventTimeout,
    ResetReason::kStorageFailure,
    ResetReason::kStorageError,
    ResetReason::kConstructorFailed,
    ResetReason::kAborted,
    ResetReason::kBlockConcurrencyThrew,
};

TEST(ResetReason, CloseCodesFollowTheReason) {
  EXPECT_EQ(RuleOf(ResetReason::kEvicted).web_socket_close_code, 0);  // hibernation keeps them
  EXPECT_EQ(RuleOf(ResetReason::kShutdown).web_socket_close_code, 1001);
  EXPECT_EQ(RuleOf(ResetReason::kCodeUpdated).web_socket_close_code, 1012);
  for (ResetReason r :
       {ResetReason::kCpuLimit, ResetReason::kMemoryLimit, ResetReason::kEventTimeout,
        ResetReason::kStorageFailure, ResetReason::kStorageError, ResetReason::kConstructorFailed,
        ResetReason::kAborted, ResetReason::kBlockConcurrencyThrew}) {
    EXPECT_EQ(RuleOf(r).web_socket_close_code, 1011) << ResetReasonName(r);
  }
}

TEST(ResetReason, OnlyFailuresOfTheObjectCountAsFailedConstructions) {
  EXPECT_FALSE(RuleOf(ResetReason::kEvicted).fails_construction);
  EXPECT_FALSE(RuleOf(ResetReason::kShutdown).fails_construction);
  EXPECT_FALSE(RuleOf(ResetReason::kCodeUpdated).fails_construction);
  EXPECT_TRUE(RuleOf(ResetReason::kConstructorFailed).fails_construction);
  EXPECT_TRUE(RuleOf(ResetReason::kCpuLimit).fails_construction);
  EXPECT_TRUE(RuleOf(ResetReason::kBlockConcurrencyThrew).fails_construction);
}

TEST(ResetReason, CloudflaresMessagesAndGivenDetailsWin) {
  EXPECT_EQ(ResetMessage(ResetReason::kCpuLimit, ""),
            "Durable Object exceeded its CPU time limit and was reset.");
  EXPECT_EQ(ResetMessage(ResetReason::kMemoryLimit, ""),
            "Durable Object's isolate exceeded its memory limit and was reset.");
  EXPECT_EQ(ResetMessage(ResetReason::kCodeUpdated, ""),
            "Durable Object reset because its code was updated.");
  EXPECT_EQ(ResetMessage(ResetReason::kEventTimeout, ""),
            "Actor exceeded event execution time and was disconnected.");
  EXPECT_EQ(ResetMessage(ResetReason::kAborted, "custom"), "custom");
  // A message that looks like another reason's never changes the rule (it used to be matched by
  // text).
  EXPECT_EQ(RuleOf(ResetReason::kAborted).web_socket_close_code, 1011);
}

TEST(ResetReason, EveryReasonHasADistinctNameAndAMessage) {
  std::set<std::string> names;
  for (ResetReason r : kAll) {
    EXPECT_TRUE(names.insert(ResetReasonName(r)).second);
    EXPECT_FALSE(std::string(RuleOf(r).message).empty());
  }
}

}  // namespace
}  // namespace dorm::runtime
