#include "storage/list_range.h"

#include <gtest/gtest.h>

namespace dorm::storage {
namespace {

TEST(CompileListRange, RejectsStartWithStartAfter) {
  ListOptions o;
  o.start = "a";
  o.start_after = "b";
  std::string error;
  EXPECT_FALSE(CompileListRange(o, &error));
  EXPECT_EQ(error, "list() cannot be called with both start and startAfter values.");
}

TEST(CompileListRange, RejectsNonPositiveLimit) {
  for (long long limit : {0LL, -1LL}) {
    ListOptions o;
    o.limit = limit;
    std::string error;
    EXPECT_FALSE(CompileListRange(o, &error));
    EXPECT_EQ(error, "List limit must be positive.");
  }
}

TEST(CompileListRange, StartAfterIsExclusive) {
  ListOptions o;
  o.start_after = "k";
  std::string error;
  auto r = CompileListRange(o, &error);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->begin, std::string("k\0", 2));
  EXPECT_GT(std::string("k\x01"), r->begin);
  EXPECT_LT(std::string("k"), r->begin);
}

TEST(CompileListRange, PrefixClampsRange) {
  ListOptions o;
  o.prefix = "user:";
  std::string error;
  auto r = CompileListRange(o, &error);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->begin, "user:");
  EXPECT_EQ(r->end.value(), "user;");
  o.start = "user:m";
  o.end = "zzz";
  r = CompileListRange(o, &error);
  EXPECT_EQ(r->begin, "user:m");
  EXPECT_EQ(r->end.value(), "user;");
}

TEST(CompileListRange, EndBeforeStartIsEmpty) {
  ListOptions o;
  o.start = "b";
  o.end = "a";
  std::string error;
  auto r = CompileListRange(o, &error);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->empty);
  o.end = "b";
  EXPECT_TRUE(CompileListRange(o, &error)->empty);
}

TEST(PrefixSuccessor, HandlesHighBytes) {
  EXPECT_EQ(PrefixSuccessor("ab").value(), "ac");
  EXPECT_EQ(PrefixSuccessor("a\xff").value(), "b");
  EXPECT_FALSE(PrefixSuccessor("\xff\xff"));
  EXPECT_FALSE(PrefixSuccessor(""));
}

}  // namespace
}  // namespace dorm::storage
