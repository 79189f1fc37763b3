#include "runtime/module_validator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>

#include "js/platform.h"
#include "js/watchdog.h"

namespace dorm::runtime {
namespace {

class ModuleValidatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static std::once_flag once;
    std::call_once(once, [] { js::InitializeV8("dorm_unit_tests"); });
  }

  // The verdict on `module_js` (nullopt: deployable); `class_name_` holds the class it names.
  std::optional<std::string> Check(const std::string& module_js) {
    class_name_.clear();
    return validator_.Validate(module_js, "module.js", &class_name_);
  }

  js::Watchdog watchdog_{std::chrono::milliseconds(500)};
  ModuleValidator validator_{watchdog_, 64u << 20};
  std::string class_name_;
};

TEST_F(ModuleValidatorTest, AValidModuleNamesItsClass) {
  EXPECT_EQ(Check("export class Counter { fetch() { return new Response('ok'); } }"), std::nullopt);
  EXPECT_EQ(class_name_, "Counter");
  EXPECT_EQ(Check("import { DurableObject } from 'cloudflare:workers';\n"
                  "export default class ChatRoom extends DurableObject {}"),
            std::nullopt);
  EXPECT_EQ(class_name_, "ChatRoom");
}

TEST_F(ModuleValidatorTest, ASyntaxErrorNamesTheFileLineAndColumn) {
  std::string verdict =
      Check("export class Counter {\n  fetch() { return 1 +; }\n}").value_or("(deployable)");
  EXPECT_NE(verdict.find("SyntaxError"), std::string::npos) << verdict;
  EXPECT_NE(verdict.find("(module.js:2:"), std::string::npos) << verdict;
  EXPECT_EQ(class_name_, "");
}

TEST_F(ModuleValidatorTest, TheDeployRulesApply) {
  EXPECT_EQ(Check("import fs from 'node:fs'; export class A {}"),
            "Import 'node:fs' is not allowed");
  EXPECT_EQ(Check("export class A {} export class B {}"), "Source must export exactly one class");
  EXPECT_EQ(Check("export function f() {}"), "Source must export exactly one class");
  EXPECT_EQ(Check("throw new Error('boom'); export class A {}"),
            "The module threw while loading: boom");
}

TEST_F(ModuleValidatorTest, TopLevelCodeRunsUnderTheCpuLimit) {
  EXPECT_EQ(Check("for (;;) {} export class A {}"),
            "The module's top-level code exceeded the CPU time limit.");
  // The validator (and its thread's watchdog slot) stays usable.
  EXPECT_EQ(Check("export class A {}"), std::nullopt);
  EXPECT_EQ(class_name_, "A");
}

TEST_F(ModuleValidatorTest, TopLevelCodeRunsUnderTheHeapLimit) {
  EXPECT_EQ(Check("const keep = []; for (;;) keep.push(new Array(1 << 16).fill(0.5));\n"
                  "export class A {}"),
            "The module's top-level code exceeded the memory limit.");
  EXPECT_EQ(Check("export class A {}"), std::nullopt);
}

TEST_F(ModuleValidatorTest, TimersStartedAtTheTopLevelNeverFire) {
  // Timers are accepted (with distinct ids) but the scratch isolate is gone before any could
  // fire; an unhandled rejection is logged, not refused.
  EXPECT_EQ(Check("const a = setTimeout(() => { throw new Error('late'); }, 0);\n"
                  "const b = setInterval(() => {}, 1);\n"
                  "if (a === b) throw new Error('same id');\n"
                  "clearTimeout(a); clearInterval(b);\n"
                  "Promise.reject(new Error('unhandled'));\n"
                  "export class A {}"),
            std::nullopt);
  EXPECT_EQ(class_name_, "A");
}

}  // namespace
}  // namespace dorm::runtime
