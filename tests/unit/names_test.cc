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

TEST(IsValidEnvKey, AcceptsOnlyUpperSnake) {
  EXPECT_TRUE(IsValidEnvKey("API_KEY"));
  EXPECT_TRUE(IsValidEnvKey("_PRIVATE"));
  EXPECT_TRUE(IsValidEnvKey("V2"));
  EXPECT_TRUE(IsValidEnvKey("_"));
  EXPECT_FALSE(IsValidEnvKey(""));
  EXPECT_FALSE(IsValidEnvKey("2FAST"));
  EXPECT_FALSE(IsValidEnvKey("api_key"));
  EXPECT_FALSE(IsValidEnvKey("API-KEY"));
  EXPECT_FALSE(IsValidEnvKey("API KEY"));
  EXPECT_FALSE(IsValidEnvKey("\xC3\x89T\xC3\x89"));
  EXPECT_TRUE(IsValidEnvKey(std::string(256, 'A')));
  EXPECT_FALSE(IsValidEnvKey(std::string(257, 'A')));
}

TEST(PercentEncodeSegment, RoundTripsThroughPercentDecode) {
  EXPECT_EQ(PercentEncodeSegment("API_KEY"), "API_KEY");
  EXPECT_EQ(PercentEncodeSegment("a b/c?d%"), "a%20b%2Fc%3Fd%25");
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
  EXPECT_EQ(PercentDecode(PercentEncodeSegment(every_byte)).value(), every_byte);
}

}  // namespace
}  // namespace dorm
