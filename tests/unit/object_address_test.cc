#include "runtime/object_address.h"

#include <gtest/gtest.h>

namespace dorm::runtime {
namespace {

TEST(ObjectAddress, KeyJoinsAppClassAndObjectIdNotTheName) {
  EXPECT_EQ(ObjectKey("app", "chat-room", "00ff"), std::string("app\nchat-room\n00ff"));
  ObjectAddress address{"app", "chat-room", "lobby", "00ff"};
  EXPECT_EQ(ObjectKey(address), ObjectKey("app", "chat-room", "00ff"));
  // The same object reached by id alone (idFromString) has the same key.
  ObjectAddress by_id{"app", "chat-room", "", "00ff"};
  EXPECT_EQ(ObjectKey(by_id), ObjectKey(address));
}

TEST(ObjectAddress, InstanceLabelIsTheNameOrElseTheId) {
  EXPECT_EQ(InstanceLabel(ObjectAddress{"app", "c", "lobby", "00ff"}), "lobby");
  EXPECT_EQ(InstanceLabel(ObjectAddress{"app", "c", "", "00ff"}), "00ff");
  EXPECT_EQ(LogTag(ObjectAddress{"app", "c", "", "00ff"}), "[app/c/00ff]");
}

TEST(ObjectAddress, PrefixesSelectAnAppOrOneOfItsClasses) {
  std::string key = ObjectKey("shop", "cart", "u-1");
  EXPECT_EQ(key.rfind(AppKeyPrefix("shop"), 0), 0u);
  EXPECT_EQ(key.rfind(ClassKeyPrefix("shop", "cart"), 0), 0u);
  // Not another app whose name starts the same, nor another class.
  EXPECT_NE(ObjectKey("shopping", "cart", "u-1").rfind(AppKeyPrefix("shop"), 0), 0u);
  EXPECT_NE(ObjectKey("shop", "carts", "u-1").rfind(ClassKeyPrefix("shop", "cart"), 0), 0u);
}

TEST(ObjectAddress, ParseGivesBackAppClassAndId) {
  const std::string id(64, 'a');
  auto parsed = ParseObjectKey(ObjectKey("app", "cls", id));
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->app, "app");
  EXPECT_EQ(parsed->class_name, "cls");
  EXPECT_EQ(parsed->object_id, id);
  EXPECT_TRUE(parsed->instance_name.empty());
}

TEST(ObjectAddress, ParseRefusesWhatIsNotAKey) {
  EXPECT_FALSE(ParseObjectKey("").has_value());
  EXPECT_FALSE(ParseObjectKey("app").has_value());
  EXPECT_FALSE(ParseObjectKey("app\ncls").has_value());
  EXPECT_TRUE(ParseObjectKey("app\ncls\n").has_value());
}

}  // namespace
}  // namespace dorm::runtime
