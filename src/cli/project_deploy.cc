#include "cli/project_deploy.h"

#include <algorithm>

namespace dorm::cli {

namespace json = boost::json;

ProjectDeployPlan PlanProjectDeploy(const WranglerConfig& config, bool strict) {
  ProjectDeployPlan plan;
  const std::string& path = config.path;
  auto fail = [&](const std::string& key, const std::string& reason) {
    throw WranglerConfigError(path + ": " + key + ": " + reason);
  };
  // Left unbound with a warning, or refused with --strict.
  auto unbound = [&](const std::string& key, const std::string& what) {
    if (strict) fail(key, what + " (refused with --strict)");
    plan.warnings.push_back(path + ": " + key + ": " + what);
  };
  if (config.main.empty()) fail("main", "missing: the Worker's entry module");
  plan.main = config.main;
  for (const std::string& key : config.unsupported) {
    unbound(key, "not provided by Dorm; left unbound");
  }
  for (const std::string& key : config.unknown) {
    plan.warnings.push_back(path + ": " + key + ": unknown key, ignored");
  }
  for (size_t i = 0; i < config.services.size(); ++i) {
    unbound("services[" + std::to_string(i) + "]", "service binding " + config.services[i].binding +
                                                       " is not provided by Dorm yet; "
                                                       "left unbound");
  }
  json::array migrations;
  for (size_t i = 0; i < config.migrations.size(); ++i) {
    const Migration& m = config.migrations[i];
    if (!m.transferred_classes.empty()) {
      fail("migrations[" + std::to_string(i) + "].transferred_classes",
           "not supported by Dorm yet");
    }
    for (const std::string& name : m.new_classes) {
      plan.warnings.push_back(path + ": migrations[" + std::to_string(i) +
                              "].new_classes: " + name +
                              " is key-value backed on Cloudflare; Dorm stores every class in "
                              "SQLite, so ctx.storage.sql works for it too");
    }
    json::array renamed;
    for (const auto& [from, to] : m.renamed_classes) {
      renamed.push_back(json::object{{"from", from}, {"to", to}});
    }
    auto strings = [](const std::vector<std::string>& list) {
      json::array out;
      for (const std::string& s : list) out.push_back(json::string(s));
      return out;
    };
    migrations.push_back(json::object{{"tag", m.tag},
                                      {"new_classes", strings(m.new_classes)},
                                      {"new_sqlite_classes", strings(m.new_sqlite_classes)},
                                      {"renamed_classes", std::move(renamed)},
                                      {"deleted_classes", strings(m.deleted_classes)}});
  }
  std::vector<std::string> created = ClassesAfterMigrations(config.migrations);
  json::array classes;
  for (size_t i = 0; i < config.durable_objects.size(); ++i) {
    const DurableObjectBinding& b = config.durable_objects[i];
    std::string key = "durable_objects.bindings[" + std::to_string(i) + "]";
    if (!b.script_name.empty()) {
      unbound(key, "binding " + b.name + " to class " + b.class_name + " of Worker '" +
                       b.script_name + "': classes of other Workers are not bound by Dorm");
      continue;
    }
    if (std::find(created.begin(), created.end(), b.class_name) == created.end()) {
      // Cloudflare's refusal of the same deploy.
      fail(key, "Cannot create binding for class '" + b.class_name +
                    "' because it is not currently configured to implement Durable Objects. Did "
                    "you forget to apply a new_sqlite_classes migration?");
    }
    classes.push_back(json::object{{"class_name", b.class_name}, {"binding", b.name}});
  }
  plan.body["main"] = config.main;
  plan.body["classes"] = std::move(classes);
  plan.body["vars"] = config.vars;
  plan.body["migrations"] = std::move(migrations);
  return plan;
}

}  // namespace dorm::cli
