#include "cluster/forward_auth.h"

#include <gtest/gtest.h>

namespace dorm::cluster {
namespace {

constexpr int64_t kNow = 1796000000;

ForwardFacts Facts(int hops = 1, int64_t at = kNow) {
  ForwardFacts facts;
  facts.hops = hops;
  facts.unix_seconds = at;
  facts.node = "node-a";
  facts.client = "192.0.2.7";
  return facts;
}

TEST(ForwardAuthTest, ASignedForwardVerifies) {
  const std::string forwarded = FormatForwarded(Facts());
  EXPECT_EQ(forwarded, "1 1796000000 node-a 192.0.2.7");
  const std::string signature = SignForward("secret", "GET", "/_do/c/x/get", forwarded);
  EXPECT_EQ(signature.size(), 64u);
  auto facts = VerifyForward("secret", "GET", "/_do/c/x/get", forwarded, signature, kNow + 5);
  ASSERT_TRUE(facts.has_value());
  EXPECT_EQ(facts->hops, 1);
  EXPECT_EQ(facts->unix_seconds, kNow);
  EXPECT_EQ(facts->node, "node-a");
  EXPECT_EQ(facts->client, "192.0.2.7");
}

TEST(ForwardAuthTest, AnythingChangedFails) {
  const std::string forwarded = FormatForwarded(Facts());
  const std::string signature = SignForward("secret", "GET", "/t", forwarded);
  EXPECT_FALSE(VerifyForward("other", "GET", "/t", forwarded, signature, kNow));
  EXPECT_FALSE(VerifyForward("secret", "POST", "/t", forwarded, signature, kNow));
  EXPECT_FALSE(VerifyForward("secret", "GET", "/u", forwarded, signature, kNow));
  EXPECT_FALSE(VerifyForward("secret", "GET", "/t", FormatForwarded(Facts(2)), signature, kNow));
  EXPECT_FALSE(VerifyForward("secret", "GET", "/t", forwarded, signature.substr(1), kNow));
  std::string flipped = signature;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  EXPECT_FALSE(VerifyForward("secret", "GET", "/t", forwarded, flipped, kNow));
  EXPECT_FALSE(
      VerifyForward("", "GET", "/t", forwarded, SignForward("", "GET", "/t", forwarded), kNow));
}

TEST(ForwardAuthTest, FieldBoundariesAreSigned) {
  // The same concatenated bytes split differently between method and target sign differently.
  const std::string forwarded = FormatForwarded(Facts());
  EXPECT_NE(SignForward("s", "GE", "T/x", forwarded), SignForward("s", "GET", "/x", forwarded));
}

TEST(ForwardAuthTest, StaleOrFutureTimesFail) {
  const std::string forwarded = FormatForwarded(Facts());
  const std::string signature = SignForward("secret", "GET", "/t", forwarded);
  EXPECT_TRUE(VerifyForward("secret", "GET", "/t", forwarded, signature, kNow + 60));
  EXPECT_TRUE(VerifyForward("secret", "GET", "/t", forwarded, signature, kNow - 60));
  EXPECT_FALSE(VerifyForward("secret", "GET", "/t", forwarded, signature, kNow + 61));
  EXPECT_FALSE(VerifyForward("secret", "GET", "/t", forwarded, signature, kNow - 61));
}

TEST(ForwardAuthTest, MalformedValuesFailEvenWhenSigned) {
  for (std::string bad : {"", "1 2 3", "x 1796000000 a b", "0 1796000000 a b", "1 1796000000 a b c",
                          "1 17960000x0 a b", "-1 1796000000 a b"}) {
    EXPECT_FALSE(VerifyForward("s", "GET", "/t", bad, SignForward("s", "GET", "/t", bad), kNow))
        << bad;
  }
}

}  // namespace
}  // namespace dorm::cluster
