#include "cli/project_deploy.h"

#include <algorithm>
#include <filesystem>

#include "cli/admin_client.h"
#include "control/transpiler.h"
#include "util/names.h"

namespace dorm::cli {

namespace json = boost::json;

namespace {

// Bundles `main` (or `entry_source`, named `main`) in `folder`, adds it to `body` and posts the
// project; `shown_source` names what was deployed in the outcome's lines.
ProjectDeployOutcome Send(ProjectDeployOutcome outcome, json::object body, const std::string& main,
                          const std::string& folder, const std::string& entry_source,
                          const ProjectDeployOptions& options, const std::string& server,
                          const std::string& token, const std::string& shown_source);

}  // namespace

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
  json::array services;
  for (size_t i = 0; i < config.services.size(); ++i) {
    const ServiceBinding& service = config.services[i];
    // The server knows the project by its app name (which --app may change): "" here stands for
    // it. Any other name is the app whose Worker the binding reaches.
    const bool self = service.service == config.name;
    services.push_back(json::object{{"binding", service.binding},
                                    {"service", self ? "" : service.service},
                                    {"entrypoint", service.entrypoint}});
  }
  json::array migrations;
  for (size_t i = 0; i < config.migrations.size(); ++i) {
    const Migration& m = config.migrations[i];
    json::array transferred;
    for (const auto& t : m.transferred_classes) {
      // Scripts are apps on Dorm: the source class's app, which must allow the transfer.
      transferred.push_back(
          json::object{{"from", t.from}, {"from_script", t.from_script}, {"to", t.to}});
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
                                      {"deleted_classes", strings(m.deleted_classes)},
                                      {"transferred_classes", std::move(transferred)}});
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
  json::array flags;
  for (const std::string& flag : config.compatibility_flags) flags.emplace_back(flag);
  plan.body["compatibility_flags"] = std::move(flags);
  plan.body["migrations"] = std::move(migrations);
  plan.body["services"] = std::move(services);
  return plan;
}

ProjectDeployOutcome DeployProject(const std::string& config_path,
                                   const ProjectDeployOptions& options, const std::string& server,
                                   const std::string& token) {
  ProjectDeployOutcome outcome;
  ProjectDeployPlan plan;
  WranglerConfig config;
  try {
    config = ReadWranglerConfig(config_path);
    plan = PlanProjectDeploy(config, options.strict);
  } catch (const WranglerConfigError& e) {
    outcome.error = e.what();
    return outcome;
  }
  outcome.warnings = plan.warnings;
  outcome.app = !options.app.empty() ? options.app : config.name.empty() ? "default" : config.name;
  if (!IsValidKebabName(outcome.app)) {
    outcome.error =
        "the app name '" + outcome.app + "' is not kebab-case: set \"name\" or use --app";
    return outcome;
  }
  size_t slash = config_path.find_last_of('/');
  std::string folder = slash == std::string::npos ? "." : config_path.substr(0, slash);
  if (folder.empty()) folder = "/";
  return Send(std::move(outcome), std::move(plan.body), plan.main, folder, "", options, server,
              token, config_path);
}

namespace {

ProjectDeployOutcome Send(ProjectDeployOutcome outcome, json::object body, const std::string& main,
                          const std::string& folder, const std::string& entry_source,
                          const ProjectDeployOptions& options, const std::string& server,
                          const std::string& token, const std::string& shown_source) {
  bool nodejs_compat = false;
  if (const json::value* flags = body.if_contains("compatibility_flags"); flags && flags->is_array()) {
    for (const json::value& flag : flags->as_array()) {
      nodejs_compat |= flag == "nodejs_compat" || flag == "nodejs_compat_v2";
    }
  }
  control::TranspileResult bundle =
      control::BundleProject(main, folder, entry_source, nodejs_compat);
  if (!bundle.ok) {
    outcome.error = bundle.error;
    return outcome;
  }
  body["module"] = std::move(bundle.module_js);
  if (json::value* services = body.if_contains("services"); services && services->is_array()) {
    for (json::value& service : services->as_array()) {
      json::object* fields = service.if_object();
      if (fields && fields->contains("service") && fields->at("service") == "") {
        (*fields)["service"] = outcome.app;
      }
    }
  }
  if (!options.access.empty()) body["access_mode"] = options.access;
  AdminResponse response;
  try {
    response = AdminRequest(server, token, "POST", "/_admin/v1/apps/" + outcome.app + "/project",
                            json::serialize(body));
  } catch (const std::exception& e) {
    outcome.error = e.what();
    return outcome;
  }
  boost::system::error_code ec;
  json::value answer = json::parse(response.body, ec);
  const json::object* o = ec ? nullptr : answer.if_object();
  if (response.status >= 400 || !o) {
    const json::value* error = o ? o->if_contains("error") : nullptr;
    outcome.error =
        error && error->is_string()
            ? std::string(error->as_string())
            : "server answered " + std::to_string(response.status) + ": " + response.body;
    return outcome;
  }
  auto text = [](const json::object& from, const char* key) {
    const json::value* v = from.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  outcome.ok = true;
  outcome.lines.push_back("deployed project " + outcome.app + " from " + shown_source);
  if (const json::value* worker = o->if_contains("worker");
      worker && worker->is_bool() && worker->as_bool()) {
    outcome.lines.push_back("  Worker: " + server + "/ (Host: " + outcome.app + ".<domain>)");
  }
  if (const json::value* classes = o->if_contains("classes"); classes && classes->is_array()) {
    for (const json::value& entry : classes->as_array()) {
      if (!entry.is_object()) continue;
      const json::object& k = entry.as_object();
      outcome.lines.push_back("  class " + text(k, "class_name") + ": " + server + "/_do/" +
                              text(k, "name") + "/<instance-id> (access " + text(k, "access_mode") +
                              ")");
    }
  }
  if (const json::value* applied = o->if_contains("migrations_applied");
      applied && applied->is_array() && !applied->as_array().empty()) {
    std::string tags;
    for (const json::value& tag : applied->as_array()) {
      if (tag.is_string()) tags += (tags.empty() ? "" : ", ") + std::string(tag.as_string());
    }
    outcome.lines.push_back("  migrations applied: " + tags);
  }
  return outcome;
}

}  // namespace

std::string PlanCloudwerkObjects(const std::vector<std::string>& file_names, json::object* body) {
  std::vector<std::string> sorted = file_names;
  std::sort(sorted.begin(), sorted.end());
  std::string entry;
  json::array classes;
  for (const std::string& file : sorted) {
    size_t dot = file.find('.');
    if (dot == std::string::npos || dot == 0) continue;
    std::string extension = file.substr(dot);
    if (extension != ".ts" && extension != ".js" && extension != ".mts" && extension != ".mjs") {
      continue;  // .d.ts, .test.ts, README.md...
    }
    std::string kebab = file.substr(0, dot);
    if (!IsValidKebabName(kebab)) {
      throw WranglerConfigError(file + ": an object file's name must be kebab-case (chat-room.ts)");
    }
    std::string class_name;
    bool upper = true;
    for (char c : kebab) {
      if (c == '-') {
        upper = true;
        continue;
      }
      class_name += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
      upper = false;
    }
    entry += "export { default as " + class_name + " } from './" + file + "';\n";
    classes.push_back(
        json::object{{"class_name", class_name}, {"binding", BindingNameFromKebab(kebab)}});
  }
  if (classes.empty()) {
    throw WranglerConfigError("no Cloudwerk object files (kebab-case .ts or .js) here");
  }
  (*body)["classes"] = std::move(classes);
  (*body)["vars"] = json::object{};
  (*body)["migrations"] = json::array{};
  // Cloudwerk writes no migrations: each object class is created when it first appears.
  (*body)["create_missing_classes"] = true;
  return entry;
}

ProjectDeployOutcome DeployCloudwerkObjects(const std::string& folder,
                                            const ProjectDeployOptions& options,
                                            const std::string& server, const std::string& token) {
  ProjectDeployOutcome outcome;
  outcome.app = options.app.empty() ? "default" : options.app;
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(folder, ec)) {
    if (entry.is_regular_file(ec)) files.push_back(entry.path().filename().string());
  }
  if (ec) {
    outcome.error = "cannot read " + folder + ": " + ec.message();
    return outcome;
  }
  json::object body;
  std::string entry;
  try {
    entry = PlanCloudwerkObjects(files, &body);
  } catch (const WranglerConfigError& e) {
    outcome.error = folder + ": " + e.what();
    return outcome;
  }
  body["main"] = "objects.ts";
  return Send(std::move(outcome), std::move(body), "objects.ts", folder, entry, options, server,
              token, folder);
}

}  // namespace dorm::cli
