#include "util/base64.h"

#include <gtest/gtest.h>

#include "util/crypto.h"

namespace dorm {
namespace {

TEST(Base64, EncodesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
}

TEST(Base64, RoundTripsEveryLength) {
  for (size_t n = 0; n < 70; ++n) {
    std::string bytes = RandomBytes(n);
    EXPECT_EQ(Base64Decode(Base64Encode(bytes)).value(), bytes) << n;
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(bytes)).value(), bytes) << n;
  }
}

TEST(Base64, StandardDecodingRejectsMalformedText) {
  EXPECT_FALSE(Base64Decode("Zg").has_value());      // padding missing
  EXPECT_FALSE(Base64Decode("Zg=").has_value());     // length not a multiple of 4
  EXPECT_FALSE(Base64Decode("Z===").has_value());    // too much padding
  EXPECT_FALSE(Base64Decode("Z=g=").has_value());    // padding inside
  EXPECT_FALSE(Base64Decode("Zm9v\n").has_value());  // whitespace
  EXPECT_FALSE(Base64Decode("-_8=").has_value());    // URL alphabet
  EXPECT_FALSE(Base64Decode("Zm9*").has_value());
}

TEST(Base64, UrlDecodingRejectsPaddingAndTheStandardAlphabet) {
  EXPECT_EQ(Base64UrlDecode("Zg").value(), "f");
  EXPECT_EQ(Base64UrlDecode("-_8").value(), "\xfb\xff");
  EXPECT_FALSE(Base64UrlDecode("Zg==").has_value());
  EXPECT_FALSE(Base64UrlDecode("+/8").has_value());
  EXPECT_FALSE(Base64UrlDecode("Z").has_value());  // one leftover character encodes no byte
  EXPECT_FALSE(Base64UrlDecode("Zm 9").has_value());
  EXPECT_FALSE(Base64UrlDecode("Zm9.").has_value());
}

}  // namespace
}  // namespace dorm
