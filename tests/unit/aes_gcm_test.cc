#include "util/aes_gcm.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "util/crypto.h"

namespace dorm {
namespace {

TEST(AesGcm, RoundTripsWithFreshNonces) {
  std::string key = RandomBytes(kAes256GcmKeyBytes);
  std::string first = SealAes256Gcm(key, "sk-secret", "app/KEY");
  std::string second = SealAes256Gcm(key, "sk-secret", "app/KEY");
  EXPECT_NE(first, second);
  EXPECT_EQ(first.find("sk-secret"), std::string::npos);
  EXPECT_EQ(first.size(), 12u + 9u + 16u);
  EXPECT_EQ(OpenAes256Gcm(key, first, "app/KEY").value(), "sk-secret");
  EXPECT_EQ(OpenAes256Gcm(key, second, "app/KEY").value(), "sk-secret");
  EXPECT_EQ(OpenAes256Gcm(key, SealAes256Gcm(key, "", "a"), "a").value(), "");
}

TEST(AesGcm, RejectsWrongKeyAssociatedDataAndTampering) {
  std::string key = RandomBytes(kAes256GcmKeyBytes);
  std::string sealed = SealAes256Gcm(key, "value", "app/KEY");
  EXPECT_FALSE(OpenAes256Gcm(RandomBytes(kAes256GcmKeyBytes), sealed, "app/KEY").has_value());
  EXPECT_FALSE(OpenAes256Gcm(key, sealed, "app/OTHER").has_value());
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string flipped = sealed;
    flipped[i] = static_cast<char>(flipped[i] ^ 1);
    EXPECT_FALSE(OpenAes256Gcm(key, flipped, "app/KEY").has_value()) << "byte " << i;
  }
  EXPECT_FALSE(OpenAes256Gcm(key, sealed.substr(0, sealed.size() - 1), "app/KEY").has_value());
  EXPECT_FALSE(OpenAes256Gcm(key, "short", "app/KEY").has_value());
}

TEST(AesGcm, NeedsA32ByteKey) {
  EXPECT_THROW(SealAes256Gcm("short key", "v", ""), std::invalid_argument);
  EXPECT_THROW(OpenAes256Gcm(std::string(31, 'k'), std::string(40, 'x'), ""),
               std::invalid_argument);
}

}  // namespace
}  // namespace dorm
