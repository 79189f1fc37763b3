#include "util/names.h"

#include <gtest/gtest.h>

namespace dorm {
namespace {

TEST(KebabFromPascal, SplitsWordsAndAcronyms) {
  EXPECT_EQ(KebabFromPascal("ChatRoom"), "chat-room");
  EXPECT_EQ(KebabFromPascal("Counter"), "counter");
  EXPECT_EQ(KebabFromPascal("HTTPServer"), "http-server");
  EXPECT_EQ(KebabFromPascal("MyDO"), "my-do");
  EXPECT_EQ(KebabFromPascal("Counter2"), "counter2");
  EXPECT_EQ(KebabFromPascal("RateLimiter_V2"), "rate-limiter-v2");
}

TEST(IsValidKebabName, AcceptsOnlyKebabCase) {
  EXPECT_TRUE(IsValidKebabName("chat-room"));
  EXPECT_TRUE(IsValidKebabName("a1"));
  EXPECT_FALSE(IsValidKebabName(""));
  EXPECT_FALSE(IsValidKebabName("Chat"));
  EXPECT_FALSE(IsValidKebabName("1abc"));
  EXPECT_FALSE(IsValidKebabName("a--b"));
  EXPECT_FALSE(IsValidKebabName("a-"));
  EXPECT_FALSE(IsValidKebabName("a_b"));
  EXPECT_FALSE(IsValidKebabName(std::string(64, 'a')));
  EXPECT_TRUE(IsValidKebabName(std::string(63, 'a')));
}

TEST(BindingNameFromKebab, UpperSnake) {
  EXPECT_EQ(BindingNameFromKebab("chat-room"), "CHAT_ROOM");
  EXPECT_EQ(BindingNameFromKebab("counter"), "COUNTER");
}

TEST(PercentDecode, DecodesAndRejectsMalformed) {
  EXPECT_EQ(PercentDecode("a%20b").value(), "a b");
  EXPECT_EQ(PercentDecode("%E2%9C%93").value(), "\xE2\x9C\x93");
  EXPECT_EQ(PercentDecode("a+b").value(), "a+b");
  EXPECT_FALSE(PercentDecode("%").has_value());
  EXPECT_FALSE(PercentDecode("%2").has_value());
  EXPECT_FALSE(PercentDecode("%zz").has_value());
  EXPECT_EQ(PercentDecode("%00").value(), std::string(1, '\0'));
}

}  // namespace
}  // namespace dorm
