#include "runtime/class_catalog.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace dorm::runtime {
namespace {

std::vector<DeployedClass> OneClass(const std::string& name) {
  DeployedClass c;
  c.name = name;
  c.class_name = "Counter";
  return {c};
}

// Get() remembers the app a thread read last: every Set() must still be seen at once.
TEST(ClassCatalog, EveryDeployIsSeenByTheNextRead) {
  ClassCatalog catalog;
  EXPECT_EQ(catalog.Get("app"), nullptr);
  const uint64_t first = catalog.Set("app", OneClass("counter"));
  std::shared_ptr<const AppCode> code = catalog.Get("app");
  ASSERT_NE(code, nullptr);
  EXPECT_EQ(code->generation, first);
  EXPECT_EQ(catalog.Get("app"), code);  // read again: the same snapshot
  const uint64_t second = catalog.Set("app", OneClass("counter"));
  code = catalog.Get("app");
  ASSERT_NE(code, nullptr);
  EXPECT_EQ(code->generation, second);
  catalog.Set("app", {});  // removed
  EXPECT_EQ(catalog.Get("app"), nullptr);
  EXPECT_EQ(catalog.Get("other"), nullptr);
}

TEST(ClassCatalog, ADeployOnAnotherThreadIsSeenByThisOne) {
  ClassCatalog catalog;
  catalog.Set("app", OneClass("counter"));
  const uint64_t before = catalog.Get("app")->generation;
  uint64_t deployed = 0;
  std::thread([&] { deployed = catalog.Set("app", OneClass("counter")); }).join();
  EXPECT_NE(deployed, before);
  EXPECT_EQ(catalog.Get("app")->generation, deployed);
}

TEST(ClassCatalog, CatalogsAndAppsReadInTurnAreNotMixedUp) {
  ClassCatalog one;
  ClassCatalog two;
  one.Set("app", OneClass("first"));
  two.Set("app", OneClass("second"));
  one.Set("b", OneClass("third"));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(one.Get("app")->classes[0].name, "first");
    EXPECT_EQ(two.Get("app")->classes[0].name, "second");
    EXPECT_EQ(one.Get("b")->classes[0].name, "third");
    EXPECT_EQ(two.Get("b"), nullptr);
  }
}

TEST(ClassCatalog, ReplacedCodeIsNotKeptAliveByAReader) {
  ClassCatalog catalog;
  catalog.Set("app", OneClass("counter"));
  std::weak_ptr<const AppCode> old = catalog.Get("app");
  catalog.Set("app", OneClass("counter"));
  EXPECT_TRUE(old.expired());
}

}  // namespace
}  // namespace dorm::runtime
