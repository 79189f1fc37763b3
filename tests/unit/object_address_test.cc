#include "runtime/object_address.h"

#include <gtest/gtest.h>

namespace dorm::runtime {
namespace {

TEST(ObjectAddress, KeyJoinsAppClassAndInstance) {
  EXPECT_EQ(ObjectKey("app", "chat-room", "lobby"), std::string("app\nchat-room\nlobby"));
  ObjectAddress address{"app", "chat-room", "lobby", "ignored"};
  EXPECT_EQ(ObjectKey(address), ObjectKey("app", "chat-room", "lobby"));
}

TEST(ObjectAddress, PrefixesSelectAnAppOrOneOfItsClasses) {
  std::string key = ObjectKey("shop", "cart", "u-1");
  EXPECT_EQ(key.rfind(AppKeyPrefix("shop"), 0), 0u);
  EXPECT_EQ(key.rfind(ClassKeyPrefix("shop", "cart"), 0), 0u);
  // Not another app whose name starts the same, nor another class.
  EXPECT_NE(ObjectKey("shopping", "cart", "u-1").rfind(AppKeyPrefix("shop"), 0), 0u);
  EXPECT_NE(ObjectKey("shop", "carts", "u-1").rfind(ClassKeyPrefix("shop", "cart"), 0), 0u);
}

TEST(ObjectAddress, ParseGivesBackTheAddressWhateverBytesTheInstanceNameHolds) {
  for (std::string instance : {std::string("lobby"), std::string("a\nb\nc"), std::string(),
                               std::string("\0x\r\n", 4), std::string(1024, '\n')}) {
    auto parsed = ParseObjectKey(ObjectKey("app", "cls", instance));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->app, "app");
    EXPECT_EQ(parsed->class_name, "cls");
    EXPECT_EQ(parsed->instance_name, instance);
    EXPECT_TRUE(parsed->object_id.empty());
  }
}

TEST(ObjectAddress, ParseRefusesWhatIsNotAKey) {
  EXPECT_FALSE(ParseObjectKey("").has_value());
  EXPECT_FALSE(ParseObjectKey("app").has_value());
  EXPECT_FALSE(ParseObjectKey("app\ncls").has_value());
  EXPECT_TRUE(ParseObjectKey("app\ncls\n").has_value());
}

}  // namespace
}  // namespace dorm::runtime
