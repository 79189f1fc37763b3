// Reading Wrangler configurations (cli/wrangler_config.h) and deciding what a project deploy
// sends (cli/project_deploy.h).
#include "cli/wrangler_config.h"

#include <gtest/gtest.h>

#include "cli/env_types.h"
#include "cli/project_deploy.h"

namespace dorm::cli {
namespace {

// The message of the WranglerConfigError that `fn` throws, or "no error".
template <typename Fn>
std::string ErrorOf(Fn fn) {
  try {
    fn();
  } catch (const WranglerConfigError& e) {
    return e.what();
  }
  return "no error";
}

constexpr char kJsonc[] = R"({
  // comments and trailing commas, as Wrangler allows
  "name": "chat",
  "main": "src/index.ts",
  "compatibility_date": "2025-09-01",
  "compatibility_flags": ["nodejs_compat",],
  "vars": { "A": "x", "N": 3, "O": { "k": [1, 2] } },
  "durable_objects": { "bindings": [
    { "name": "ROOMS", "class_name": "Room" },
    { "name": "REMOTE", "class_name": "Elsewhere", "script_name": "other" },
  ] },
  "migrations": [
    { "tag": "v1", "new_sqlite_classes": ["Room"] },
  ],
  "kv_namespaces": [{ "binding": "KV", "id": "1" }],
  "observability": { "enabled": true },
  "surprise": 1,
})";

TEST(WranglerConfigTest, ReadsJsoncAsWranglerDoes) {
  WranglerConfig config = ParseWranglerConfig(kJsonc, ConfigFormat::kJson, "wrangler.jsonc");
  EXPECT_EQ(config.name, "chat");
  EXPECT_EQ(config.main, "src/index.ts");
  EXPECT_EQ(config.compatibility_date, "2025-09-01");
  EXPECT_EQ(config.compatibility_flags, std::vector<std::string>{"nodejs_compat"});
  ASSERT_EQ(config.durable_objects.size(), 2u);
  EXPECT_EQ(config.durable_objects[0].name, "ROOMS");
  EXPECT_EQ(config.durable_objects[0].class_name, "Room");
  EXPECT_EQ(config.durable_objects[1].script_name, "other");
  ASSERT_EQ(config.migrations.size(), 1u);
  EXPECT_EQ(config.migrations[0].new_sqlite_classes, std::vector<std::string>{"Room"});
  EXPECT_EQ(config.unsupported, std::vector<std::string>{"kv_namespaces"});
  EXPECT_EQ(config.unknown, std::vector<std::string>{"surprise"});  // observability is ignored
}

TEST(WranglerConfigTest, ReadsTomlIntoTheSameShape) {
  WranglerConfig config = ParseWranglerConfig(R"(
name = "chat"
main = "src/index.ts"
[vars]
A = "x"
N = 3
[[durable_objects.bindings]]
name = "ROOMS"
class_name = "Room"
[[migrations]]
tag = "v1"
new_classes = ["Room"]
[[migrations]]
tag = "v2"
renamed_classes = [{ from = "Room", to = "Hall" }]
[[r2_buckets]]
binding = "B"
)",
                                              ConfigFormat::kToml, "wrangler.toml");
  EXPECT_EQ(config.name, "chat");
  EXPECT_EQ(boost::json::serialize(config.vars), R"({"A":"x","N":3})");
  ASSERT_EQ(config.durable_objects.size(), 1u);
  ASSERT_EQ(config.migrations.size(), 2u);
  ASSERT_EQ(config.migrations[1].renamed_classes.size(), 1u);
  EXPECT_EQ(config.migrations[1].renamed_classes[0].second, "Hall");
  EXPECT_EQ(config.unsupported, std::vector<std::string>{"r2_buckets"});
}

TEST(WranglerConfigTest, RefusesMalformedFilesWithTheKeyAndTheReason) {
  auto parse = [](const char* text, ConfigFormat format = ConfigFormat::kJson) {
    return ErrorOf([&] { ParseWranglerConfig(text, format, "w.jsonc"); });
  };
  EXPECT_EQ(parse("[1]"), "w.jsonc: (top level): expected an object");
  EXPECT_EQ(parse(R"({"main": true})"), "w.jsonc: main: expected a string");
  EXPECT_EQ(parse(R"({"durable_objects": {"bindings": {}}})"),
            "w.jsonc: durable_objects.bindings: expected an array");
  EXPECT_EQ(parse(R"({"durable_objects": {"bindings": [{"class_name": "A"}]}})"),
            "w.jsonc: durable_objects.bindings[0].name: missing");
  EXPECT_EQ(parse(R"({"durable_objects": {"bindings": [{"name": "", "class_name": "A"}]}})"),
            "w.jsonc: durable_objects.bindings[0].name: must not be empty");
  EXPECT_EQ(parse(R"({"migrations": [{"tag": "v1", "new_classes": "A"}]})"),
            "w.jsonc: migrations[0].new_classes: expected an array");
  EXPECT_EQ(parse(R"({"migrations": [{"tag": "v1"}, {"tag": "v1"}]})"),
            "w.jsonc: migrations[1].tag: duplicate tag 'v1'");
  EXPECT_EQ(parse(R"({"migrations": [{"tag": "v1", "renamed_classes": [{"from": "A"}]}]})"),
            "w.jsonc: migrations[0].renamed_classes[0].to: missing");
  EXPECT_EQ(parse(R"({"services": [{"binding": "S"}]})"), "w.jsonc: services[0].service: missing");
  EXPECT_NE(parse("{ nope"), "no error");
  EXPECT_EQ(parse("name = \n", ConfigFormat::kToml).rfind("w.jsonc:1:", 0), 0u);
}

TEST(WranglerConfigTest, ClassesAfterMigrationsFollowsCreatesRenamesAndDeletes) {
  std::vector<Migration> migrations(3);
  migrations[0].new_sqlite_classes = {"A", "B"};
  migrations[0].new_classes = {"K"};
  migrations[1].renamed_classes = {{"A", "A2"}};
  migrations[1].transferred_classes = {{"X", "other", "T"}};
  migrations[2].deleted_classes = {"B"};
  EXPECT_EQ(ClassesAfterMigrations(migrations), (std::vector<std::string>{"K", "A2", "T"}));
}

TEST(ProjectDeployTest, PlansBindingsAndVarsAndWarnsAboutWhatStaysUnbound) {
  WranglerConfig config = ParseWranglerConfig(kJsonc, ConfigFormat::kJson, "wrangler.jsonc");
  ProjectDeployPlan plan = PlanProjectDeploy(config, false);
  EXPECT_EQ(plan.main, "src/index.ts");
  EXPECT_EQ(boost::json::serialize(plan.body.at("classes")),
            R"([{"class_name":"Room","binding":"ROOMS"}])");
  EXPECT_EQ(boost::json::serialize(plan.body.at("vars")), R"({"A":"x","N":3,"O":{"k":[1,2]}})");
  ASSERT_EQ(plan.warnings.size(), 3u);
  EXPECT_EQ(plan.warnings[0], "wrangler.jsonc: kv_namespaces: not provided by Dorm; left unbound");
  EXPECT_EQ(plan.warnings[1], "wrangler.jsonc: surprise: unknown key, ignored");
  EXPECT_NE(plan.warnings[2].find("classes of other Workers are not bound by Dorm"),
            std::string::npos);
  EXPECT_EQ(ErrorOf([&] { PlanProjectDeploy(config, true); }),
            "wrangler.jsonc: kv_namespaces: not provided by Dorm; left unbound (refused with "
            "--strict)");
}

TEST(ProjectDeployTest, RefusesBindingsNoMigrationCreatedAndTransfers) {
  WranglerConfig config = ParseWranglerConfig(
      R"({"main": "i.js", "durable_objects": {"bindings": [{"name": "C", "class_name": "C"}]}})",
      ConfigFormat::kJson, "w.json");
  EXPECT_EQ(ErrorOf([&] { PlanProjectDeploy(config, false); }),
            "w.json: durable_objects.bindings[0]: Cannot create binding for class 'C' because it "
            "is not currently configured to implement Durable Objects. Did you forget to apply a "
            "new_sqlite_classes migration?");
  config.migrations.resize(1);
  config.migrations[0].tag = "v1";
  config.migrations[0].new_sqlite_classes = {"C"};
  EXPECT_EQ(ErrorOf([&] { PlanProjectDeploy(config, false); }), "no error");
  // A transfer goes to the server, which checks the source app's class and permission.
  config.migrations[0].transferred_classes = {{"Old", "other", "C2"}};
  EXPECT_EQ(ErrorOf([&] { PlanProjectDeploy(config, false); }), "no error");
  EXPECT_EQ(boost::json::serialize(PlanProjectDeploy(config, false)
                                       .body.at("migrations")
                                       .as_array()[0]
                                       .at("transferred_classes")),
            R"([{"from":"Old","from_script":"other","to":"C2"}])");
  config.main.clear();
  EXPECT_EQ(ErrorOf([&] { PlanProjectDeploy(config, false); }),
            "w.json: main: missing: the Worker's entry module");
}

}  // namespace
}  // namespace dorm::cli

namespace dorm::cli {
namespace {

TEST(EnvTypesTest, WritesTheEnvInterfaceAsWranglerTypesDoes) {
  WranglerConfig config = ParseWranglerConfig(R"({
    "main": "src/index.ts",
    "vars": { "WELCOME": "hi \"you\"", "MAX": 50, "ON": true, "LIST": [1, "a"], "OBJ": {"k": null} },
    "durable_objects": { "bindings": [
      { "name": "ROOMS", "class_name": "ChatRoom" },
      { "name": "AWAY", "class_name": "Remote", "script_name": "other" }
    ] }
  })",
                                              ConfigFormat::kJson, "/p/wrangler.jsonc");
  EXPECT_EQ(EnvTypes(config),
            "// Generated by `dorm types` from wrangler.jsonc (as `wrangler types` generates it). "
            "Run it again after changing wrangler.jsonc.\n"
            "interface Env {\n"
            "\tAWAY: DurableObjectNamespace /* Remote of Worker other, not bound by Dorm */;\n"
            "\tLIST: [1, \"a\"];\n"
            "\tMAX: 50;\n"
            "\tOBJ: { \"k\": null };\n"
            "\tON: true;\n"
            "\tROOMS: DurableObjectNamespace<import(\"./src/index\").ChatRoom>;\n"
            "\tWELCOME: \"hi \\\"you\\\"\";\n"
            "}\n");
}

}  // namespace
}  // namespace dorm::cli
