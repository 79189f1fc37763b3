#include "runtime/object_id.h"

#include <gtest/gtest.h>

#include <cctype>

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

TEST(NewUniqueObjectId, IsFreshAndBelongsToItsNamespaceOnly) {
  const std::string key = NamespaceKey("default", "counter");
  std::string a = NewUniqueObjectId(key);
  std::string b = NewUniqueObjectId(key);
  EXPECT_NE(a, b);
  EXPECT_TRUE(IsObjectIdSyntax(a));
  EXPECT_TRUE(ObjectIdBelongsTo(key, a));
  EXPECT_FALSE(ObjectIdBelongsTo(NamespaceKey("default", "chat-room"), a));
  EXPECT_FALSE(ObjectIdBelongsTo(NamespaceKey("other", "counter"), a));
}

TEST(ObjectIdBelongsTo, ChecksSyntaxAndTheCheckHalf) {
  const std::string key = NamespaceKey("default", "counter");
  std::string id = ObjectIdFromName(key, "lobby");
  EXPECT_TRUE(ObjectIdBelongsTo(key, id));
  std::string upper = id;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(IsObjectIdSyntax(upper));
  EXPECT_TRUE(ObjectIdBelongsTo(key, upper));
  for (size_t i : {0u, 15u, 31u, 32u, 63u}) {
    std::string changed = id;
    changed[i] = changed[i] == '0' ? '1' : '0';
    EXPECT_FALSE(ObjectIdBelongsTo(key, changed)) << i;
  }
  EXPECT_FALSE(IsObjectIdSyntax(id.substr(1)));
  std::string longer = id;
  longer.push_back('0');
  EXPECT_FALSE(IsObjectIdSyntax(longer));
  std::string not_hex(63, 'a');
  not_hex.push_back('g');
  EXPECT_FALSE(IsObjectIdSyntax(not_hex));
  EXPECT_FALSE(IsObjectIdSyntax(""));
}

TEST(NamespaceKey, ATransferredClassKeepsTheKeyOfTheClassItWasCreatedAs) {
  EXPECT_EQ(NamespaceKey("shop", "cart"), "shop/cart");
  EXPECT_EQ(TransferredStorageName("cart", "shop"), "cart@shop");
  EXPECT_EQ(TransferredStorageName("cart@shop", "moved"), "cart@shop");
  EXPECT_EQ(NamespaceKey("store", TransferredStorageName("cart", "shop")), "shop/cart");
  EXPECT_EQ(ObjectIdForName("store", "cart@shop", "alice"),
            ObjectIdForName("shop", "cart", "alice"));
  EXPECT_NE(ObjectIdForName("store", "cart", "alice"), ObjectIdForName("shop", "cart", "alice"));
}

TEST(CompleteAddress, DerivesTheIdFromTheNameOnlyWhenMissing) {
  ObjectAddress named{"default", "counter", "lobby", ""};
  CompleteAddress(named);
  EXPECT_EQ(named.object_id, ObjectIdFromName(NamespaceKey("default", "counter"), "lobby"));
  ObjectAddress by_id{"default", "counter", "", std::string(64, 'b')};
  CompleteAddress(by_id);
  EXPECT_EQ(by_id.object_id, std::string(64, 'b'));
}

// The second naming of an object comes from the thread's cache, which keeps the id's bytes: it
// must give the same 64 lower-case digits as the derivation, for names of any shape.
TEST(ObjectIdForName, ACachedIdIsTheDerivedOne) {
  for (const char* name :
       {"lobby", "", "a\nb", "\xff\x00 long name with spaces and more than 32 bytes"}) {
    const std::string derived = ObjectIdFromName(NamespaceKey("default", "counter"), name);
    EXPECT_EQ(ObjectIdForName("default", "counter", name), derived);
    EXPECT_EQ(ObjectIdForName("default", "counter", name), derived);
    EXPECT_TRUE(IsObjectIdSyntax(derived));
  }
}

}  // namespace
}  // namespace dorm::runtime
