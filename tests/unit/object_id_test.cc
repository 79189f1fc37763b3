#include "runtime/object_id.h"

#include <gtest/gtest.h>

#include "util/crypto.h"

namespace dorm::runtime {
namespace {

TEST(ObjectIdFromName, IsDeterministicHexPerNamespace) {
  std::string a = ObjectIdFromName(NamespaceKey("default", "counter"), "lobby");
  EXPECT_EQ(a.size(), 64u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(a, ObjectIdFromName(NamespaceKey("default", "counter"), "lobby"));
  EXPECT_NE(a, ObjectIdFromName(NamespaceKey("default", "counter"), "lobby2"));
  EXPECT_NE(a, ObjectIdFromName(NamespaceKey("default", "chat-room"), "lobby"));
  EXPECT_NE(a, ObjectIdFromName(NamespaceKey("other", "counter"), "lobby"));
}

TEST(ObjectIdFromName, SecondHalfAuthenticatesFirst) {
  std::string key = NamespaceKey("default", "counter");
  std::string id = ObjectIdFromName(key, "x");
  Sha256Digest k = Sha256(key);
  std::string first_half_bytes;
  for (size_t i = 0; i < 32; i += 2) {
    first_half_bytes += static_cast<char>(std::stoi(id.substr(i, 2), nullptr, 16));
  }
  Sha256Digest mac =
      HmacSha256(std::string_view(reinterpret_cast<const char*>(k.data()), 32), first_half_bytes);
  EXPECT_EQ(id.substr(32), ToHex(mac).substr(0, 32));
}

}  // namespace
}  // namespace dorm::runtime
