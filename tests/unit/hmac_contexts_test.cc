// ComputeHmac: RFC 4231's vectors, the same answers whether a key's context is fresh, reused or
// evicted and keyed again, and contexts kept apart by owner and digest.
#include "runtime/hmac_contexts.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>

namespace dorm::runtime {
namespace {

std::string Hex(const unsigned char* bytes, size_t length) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < length; ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

std::string Hmac(const void* owner, const EVP_MD* md, const std::string& key,
                 const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  const size_t length = ComputeHmac(owner, md, key, data, out);
  return Hex(out, length);
}

// RFC 4231, test cases 1 and 2 (HMAC-SHA-256 and HMAC-SHA-512).
const std::string kKey1(20, '\x0b');
const char kData1[] = "Hi There";
const char kSha256Case1[] = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
const char kSha512Case2[] =
    "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6"
    "fd"
    "caeab1a34d4a6b4b636e070a38bce737";

TEST(HmacContexts, GivesRfc4231Answers) {
  int owner = 0;
  EXPECT_EQ(Hmac(&owner, EVP_sha256(), kKey1, kData1), kSha256Case1);
  EXPECT_EQ(Hmac(&owner, EVP_sha512(), "Jefe", "what do ya want for nothing?"), kSha512Case2);
  // Reused contexts start again from the key: the same answers, many times over.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Hmac(&owner, EVP_sha256(), kKey1, kData1), kSha256Case1);
    EXPECT_EQ(Hmac(&owner, EVP_sha512(), "Jefe", "what do ya want for nothing?"), kSha512Case2);
  }
}

TEST(HmacContexts, EvictedKeysAreKeyedAgain) {
  int owner = 0;
  std::string first;
  for (size_t round = 0; round < 2; ++round) {
    // More keys than the cache holds, so every key is evicted before it comes back.
    for (size_t i = 0; i < kHmacContextsPerThread * 2; ++i) {
      const std::string key = "key-" + std::to_string(i);
      const std::string got = Hmac(&owner, EVP_sha256(), key, "message");
      if (i != 0) continue;
      if (round == 0) {
        first = got;
      } else {
        EXPECT_EQ(got, first);
      }
    }
  }
  EXPECT_EQ(Hmac(&owner, EVP_sha256(), kKey1, kData1), kSha256Case1);
}

TEST(HmacContexts, OwnersDigestsAndEmptyInputsAreKeptApart) {
  int a = 0;
  int b = 0;
  EXPECT_EQ(Hmac(&a, EVP_sha256(), kKey1, kData1), Hmac(&b, EVP_sha256(), kKey1, kData1));
  EXPECT_NE(Hmac(&a, EVP_sha256(), kKey1, kData1), Hmac(&a, EVP_sha384(), kKey1, kData1));
  EXPECT_EQ(Hmac(&a, EVP_sha1(), kKey1, kData1).size(), 40u);
  // An empty key and an empty message (values from Python's hmac module).
  EXPECT_EQ(Hmac(&a, EVP_sha256(), "", ""),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  // A key longer than the block is hashed first (RFC 4231 test case 6's shape).
  const std::string long_key(131, '\xaa');
  EXPECT_EQ(
      Hmac(&a, EVP_sha256(), long_key, "Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

}  // namespace
}  // namespace dorm::runtime
