// The project deploy endpoint of the admin API (what `dorm deploy DIR` sends once it has read the
// Wrangler configuration and bundled `main`):
//   POST /_admin/v1/apps/<app>/project
//   {"main": "src/index.ts", "module": "<bundled ES module>",
//    "classes": [{"class_name": "Counter", "binding": "COUNTER"}, ...],
//    "vars": {"KEY": "value", ...}, "access_mode": "authenticated",
//    "migrations": [{"tag", "new_sqlite_classes", "new_classes", "renamed_classes": [{"from",
//                    "to"}], "deleted_classes"}, ...]}
//   → 201 (new) / 200 {"app", "worker": bool, "classes": [summaries], "vars": [keys],
//                      "migrations_applied": [tags]}
// The bundle's classes and its Worker (the default export) share one module instance; the
// Worker serves the app's requests outside `/_do/`. Migrations run as on Cloudflare (see
// project_migrations.h); every class of the previous deploy must still be bound unless a
// migration renamed or deleted it.
#include <algorithm>
#include <boost/json.hpp>
#include <set>
#include <variant>

#include "control/admin_json.h"
#include "control/admin_service.h"
#include "control/class_storage.h"
#include "control/env_store.h"
#include "control/project_migrations.h"
#include "control/registry.h"
#include "runtime/app_isolate.h"
#include "runtime/class_catalog.h"
#include "runtime/crash_attribution.h"
#include "runtime/engine_pool.h"
#include "runtime/module_validator.h"
#include "runtime/object_address.h"
#include "runtime/runtime_shared.h"
#include "storage/storage_quota.h"
#include "util/log.h"
#include "util/names.h"

namespace dorm::control {

namespace json = boost::json;
using runtime::HttpResponseData;

namespace {

// The name every project's shared module has (runtime::DeployedClass::module_name).
constexpr char kProjectModuleName[] = "project";

// The most service bindings one project may declare.
constexpr size_t kMaxServiceBindings = 1000;

}  // namespace

HttpResponseData AdminService::DeployProject(const std::string& app, const std::string& body) {
  // Deploying runs the module's top-level code: a suspended app waits like its requests.
  if (auto suspended = Suspended(app)) return std::move(*suspended);
  boost::system::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object())
    return ErrorResponse(400, "The request body must be a JSON object.");
  const json::object& o = parsed.as_object();
  auto text = [&](const char* key) -> std::optional<std::string> {
    const json::value* v = o.if_contains(key);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  std::optional<std::string> module_js = text("module");
  if (!module_js)
    return ErrorResponse(400, "Missing \"module\": the project's bundled main module.");
  if (module_js->size() > options_.max_source_bytes) {
    return ErrorResponse(413,
                         "The bundled module is too large: " + std::to_string(module_js->size()) +
                             " bytes (the limit is 5 MB).");
  }
  std::string main = text("main").value_or("index.js");
  // The module's name in the app's stack traces and errors: a path, not a payload (one of 40 MB
  // was accepted and kept in the registry with each class).
  if (main.size() > 4096 ||
      main.find_first_of(std::string_view("\0\n\r", 3)) != std::string::npos) {
    return ErrorResponse(400, "\"main\" must be a file path of at most 4096 bytes on one line.");
  }
  // Of the Wrangler config's compatibility flags, only nodejs_compat (or its older spelling
  // nodejs_compat_v2) changes anything: the project may import the Node.js modules, and Buffer
  // and process are globals, as on workerd from 2024-09-23 on.
  bool nodejs_compat = false;
  if (const json::value* flags = o.if_contains("compatibility_flags")) {
    if (!flags->is_array()) return ErrorResponse(400, "\"compatibility_flags\" must be an array.");
    for (const json::value& flag : flags->as_array()) {
      if (!flag.is_string()) {
        return ErrorResponse(400, "Each compatibility flag must be a string.");
      }
      nodejs_compat |=
          flag.as_string() == "nodejs_compat" || flag.as_string() == "nodejs_compat_v2";
    }
  }
  if (nodejs_compat) {
    // The globals are installed by a module imported before any of the project's code runs
    // (imports evaluate in order); on the first line, so that line numbers in errors stay true.
    *module_js = std::string("import \"") + runtime::AppIsolate::kNodeCompatGlobalsModule + "\";" +
                 *module_js;
  }
  std::string access = text("access_mode").value_or("authenticated");
  if (!runtime::ParseAccessMode(access)) {
    return ErrorResponse(
        400, "Invalid access mode '" + access + "': use public, authenticated or service_key.");
  }

  // The classes and their bindings.
  struct Bound {
    std::string class_name;
    std::string name;  // kebab-case URL name
    std::string binding;
  };
  std::vector<Bound> classes;
  std::set<std::string> seen_classes;
  std::set<std::string> seen_bindings;
  if (const json::value* list = o.if_contains("classes")) {
    if (!list->is_array()) return ErrorResponse(400, "\"classes\" must be an array.");
    for (const json::value& entry : list->as_array()) {
      const json::object* c = entry.if_object();
      const json::value* class_name = c ? c->if_contains("class_name") : nullptr;
      const json::value* binding = c ? c->if_contains("binding") : nullptr;
      if (!class_name || !class_name->is_string() || !binding || !binding->is_string()) {
        return ErrorResponse(400,
                             "Each entry of \"classes\" needs \"class_name\" and \"binding\".");
      }
      Bound bound{std::string(class_name->as_string()), "", std::string(binding->as_string())};
      if (!IsIdentifier(bound.class_name)) {
        return ErrorResponse(400, "Invalid class name '" + bound.class_name + "'.");
      }
      if (!IsIdentifier(bound.binding)) {
        return ErrorResponse(400, "Invalid binding name '" + bound.binding + "'.");
      }
      if (!seen_bindings.insert(bound.binding).second) {
        return ErrorResponse(400,
                             "The binding name '" + bound.binding + "' is used more than once.");
      }
      bound.name = KebabFromPascal(bound.class_name);
      if (!IsValidKebabName(bound.name)) {
        return ErrorResponse(
            400, "Class '" + bound.class_name + "' has no valid URL name ('" + bound.name + "').");
      }
      if (seen_classes.insert(bound.class_name).second) classes.push_back(std::move(bound));
      // Refused as soon as the bound is passed: each entry is looked up among the ones before it,
      // and a list of 60,000 classes compared pairwise held the control thread for a minute.
      if (classes.size() > options_.max_classes_per_app) {
        return ErrorResponse(400, "Too many DO classes for one app (the limit is " +
                                      std::to_string(options_.max_classes_per_app) + ").");
      }
    }
  }
  std::vector<std::pair<std::string, std::string>> vars;
  if (const json::value* v = o.if_contains("vars")) {
    if (!v->is_object()) return ErrorResponse(400, "\"vars\" must be an object.");
    for (const auto& [key, value] : v->as_object()) {
      std::string name(key);
      if (!IsIdentifier(name)) return ErrorResponse(400, "Invalid var name '" + name + "'.");
      if (seen_bindings.count(name) != 0) {
        return ErrorResponse(400,
                             "The var '" + name + "' has the name of a Durable Object binding.");
      }
      // As on Cloudflare, a var that is not a string is that JSON value in `env`. Its size is
      // that of its JSON text, as the user wrote it: the marker that tells the runtime to parse
      // it is Dorm's own and does not count.
      std::string text =
          value.is_string() ? std::string(value.as_string()) : json::serialize(value);
      if (text.size() > kMaxEnvValueBytes) {
        return ErrorResponse(413, "Env var value is too large: " + name + " has " +
                                      std::to_string(text.size()) + " bytes (the limit is 5 KiB).");
      }
      vars.emplace_back(name, value.is_string() ? std::move(text)
                                                : std::string(runtime::kJsonEnvValuePrefix,
                                                              runtime::kJsonEnvValuePrefixSize) +
                                                      text);
    }
    if (!vars.empty() && !env_store_) {
      return ErrorResponse(503, "Env vars are not available on this server.");
    }
    // The bounds of `dorm env set`: 200,000 vars once held the control thread for over a minute
    // (one write each) and gave every instance of the app an env of that size.
    std::set<std::string> keys;
    for (const auto& [name, value] : vars) {
      if (keys.size() <= kMaxEnvVarsPerApp) keys.insert(name);
    }
    if (!vars.empty()) {
      for (const std::string& key : env_store_->Keys(app)) {
        if (keys.size() > kMaxEnvVarsPerApp) break;
        keys.insert(key);
      }
    }
    if (keys.size() > kMaxEnvVarsPerApp) {
      return ErrorResponse(400, "Too many env vars for app '" + app + "' (the limit is " +
                                    std::to_string(kMaxEnvVarsPerApp) + ").");
    }
  }

  // Service bindings: to the project's own Worker (its default export or a named entrypoint), or
  // to another app's, which answers only once that app allows this one (service-callers).
  json::array services_json;
  if (const json::value* list = o.if_contains("services")) {
    if (!list->is_array()) return ErrorResponse(400, "\"services\" must be an array.");
    // Every isolate of the app builds each binding in its env: 1,000,000 of them were accepted
    // and no isolate of the app could start within its heap limit, after a gigabyte of native
    // memory. Far past what a project binds.
    if (list->as_array().size() > kMaxServiceBindings) {
      return ErrorResponse(400,
                           "Too many service bindings: " + std::to_string(list->as_array().size()) +
                               " (the limit is " + std::to_string(kMaxServiceBindings) + ").");
    }
    for (const json::value& entry : list->as_array()) {
      const json::object* svc = entry.if_object();
      const json::value* binding = svc ? svc->if_contains("binding") : nullptr;
      const json::value* service = svc ? svc->if_contains("service") : nullptr;
      const json::value* entrypoint = svc ? svc->if_contains("entrypoint") : nullptr;
      if (!binding || !binding->is_string() || !service || !service->is_string() ||
          (entrypoint && !entrypoint->is_string())) {
        return ErrorResponse(400, "Each service binding needs \"binding\" and \"service\".");
      }
      std::string name(binding->as_string());
      std::string target(service->as_string());
      std::string export_name = entrypoint ? std::string(entrypoint->as_string()) : "";
      if (!IsIdentifier(name)) return ErrorResponse(400, "Invalid binding name '" + name + "'.");
      if (!export_name.empty() && !IsIdentifier(export_name)) {
        return ErrorResponse(
            400, "Invalid entrypoint '" + export_name + "' of service binding " + name + ".");
      }
      if (!IsValidKebabName(target)) {
        return ErrorResponse(400, "Service binding " + name + " names the Worker '" + target +
                                      "', which is not a valid app name.");
      }
      if (!seen_bindings.insert(name).second) {
        return ErrorResponse(400, "The binding name '" + name + "' is used more than once.");
      }
      services_json.push_back(json::object{{"binding", name},
                                           {"entrypoint", export_name},
                                           {"service", target == app ? "" : target}});
    }
  }

  std::vector<MigrationStep> steps;
  if (const json::value* list = o.if_contains("migrations")) {
    if (!list->is_array()) return ErrorResponse(400, "\"migrations\" must be an array.");
    // Bounds far past what a project accumulates, so that one deploy's migrations cannot hold the
    // control thread (every applied tag is also kept, and read by each later deploy).
    constexpr size_t kMaxMigrations = 10000;
    constexpr size_t kMaxMigrationClasses = 10000;
    if (list->as_array().size() > kMaxMigrations) {
      return ErrorResponse(400, "Too many migrations: " + std::to_string(list->as_array().size()) +
                                    " (the limit is " + std::to_string(kMaxMigrations) + ").");
    }
    size_t migration_classes = 0;
    for (const json::value& entry : list->as_array()) {
      const json::object* m = entry.if_object();
      const json::value* tag = m ? m->if_contains("tag") : nullptr;
      if (!tag || !tag->is_string() || tag->as_string().empty()) {
        return ErrorResponse(400, "Each migration needs a \"tag\".");
      }
      MigrationStep step;
      step.tag = std::string(tag->as_string());
      std::string problem;
      auto names = [&](const char* key, std::vector<std::string>* out) {
        const json::value* v = m->if_contains(key);
        if (!v) return;
        if (!v->is_array()) {
          problem =
              std::string("\"") + key + "\" of migration '" + step.tag + "' must be an array.";
          return;
        }
        for (const json::value& name : v->as_array()) {
          if (!name.is_string() || !IsIdentifier(std::string(name.as_string()))) {
            problem = std::string("\"") + key + "\" of migration '" + step.tag +
                      "' must hold class names.";
            return;
          }
          out->emplace_back(name.as_string());
        }
      };
      names("new_classes", &step.key_value_classes);
      step.new_classes = step.key_value_classes;
      names("new_sqlite_classes", &step.new_classes);
      names("deleted_classes", &step.deleted_classes);
      if (const json::value* renamed = m->if_contains("renamed_classes")) {
        if (!renamed->is_array())
          return ErrorResponse(400, "\"renamed_classes\" must be an array.");
        for (const json::value& pair : renamed->as_array()) {
          const json::object* p = pair.if_object();
          const json::value* from = p ? p->if_contains("from") : nullptr;
          const json::value* to = p ? p->if_contains("to") : nullptr;
          if (!from || !to || !from->is_string() || !to->is_string() ||
              !IsIdentifier(std::string(from->as_string())) ||
              !IsIdentifier(std::string(to->as_string()))) {
            return ErrorResponse(400, "Each renamed class of migration '" + step.tag +
                                          "' needs \"from\" and \"to\" class names.");
          }
          step.renamed_classes.emplace_back(from->as_string(), to->as_string());
        }
      }
      if (const json::value* transferred = m->if_contains("transferred_classes")) {
        if (!transferred->is_array())
          return ErrorResponse(400, "\"transferred_classes\" must be an array.");
        for (const json::value& item : transferred->as_array()) {
          const json::object* t = item.if_object();
          auto text = [&](const char* key) -> std::string {
            const json::value* v = t ? t->if_contains(key) : nullptr;
            return v && v->is_string() ? std::string(v->as_string()) : std::string();
          };
          TransferredClass transfer{text("from"), text("from_script"), text("to")};
          if (!IsIdentifier(transfer.from) || !IsIdentifier(transfer.to) ||
              !IsValidKebabName(transfer.from_app)) {
            return ErrorResponse(400, "Each transferred class of migration '" + step.tag +
                                          "' needs \"from\" and \"to\" class names and the "
                                          "\"from_script\" app it comes from.");
          }
          if (transfer.from_app == app) {
            return ErrorResponse(400, "Migration '" + step.tag + "' transfers class '" +
                                          transfer.from +
                                          "' from the project itself: use renamed_classes.");
          }
          step.transferred_classes.push_back(std::move(transfer));
        }
      }
      if (!problem.empty()) return ErrorResponse(400, problem);
      migration_classes += step.new_classes.size() + step.deleted_classes.size() +
                           step.renamed_classes.size() + step.transferred_classes.size();
      if (migration_classes > kMaxMigrationClasses) {
        return ErrorResponse(400, "The migrations name too many classes: over " +
                                      std::to_string(kMaxMigrationClasses) + " in all.");
      }
      steps.push_back(std::move(step));
    }
  }

  // The migrations, from the classes the previous deploy left.
  std::vector<ClassRecord> existing = registry_.List(app);
  std::vector<ExistingProjectClass> project_classes;
  for (const ClassRecord& r : existing) {
    if (r.module_name == kProjectModuleName && r.name != runtime::kWorkerClassName) {
      project_classes.push_back({r.class_name, r.StorageName(), r.storage_backend == "kv"});
    }
  }
  if (const json::value* create = o.if_contains("create_missing_classes");
      create && create->is_bool() && create->as_bool()) {
    // A Cloudwerk objects folder: no migrations; a class is created when it first appears.
    MigrationStep creations;
    for (const Bound& c : classes) {
      bool exists = false;
      for (const ExistingProjectClass& e : project_classes) exists |= e.class_name == c.class_name;
      if (!exists) creations.new_classes.push_back(c.class_name);
    }
    if (!creations.new_classes.empty()) steps.push_back(std::move(creations));
  }
  // The other apps' classes that transfers name (those the migrations still have to apply are
  // checked for permission once planned).
  std::vector<TransferableClass> transferable;
  for (const MigrationStep& step : steps) {
    for (const TransferredClass& t : step.transferred_classes) {
      for (const ClassRecord& r : registry_.List(t.from_app)) {
        if (r.class_name == t.from && r.name != runtime::kWorkerClassName) {
          transferable.push_back(
              {t.from_app, {r.class_name, r.StorageName(), r.storage_backend == "kv"}});
        }
      }
    }
  }
  auto planned = PlanMigrations(project_classes, registry_.MigrationTags(app), steps, transferable);
  if (auto* problem = std::get_if<std::string>(&planned)) return ErrorResponse(400, *problem);
  const MigrationPlan& migrations = std::get<MigrationPlan>(planned);
  for (const PlannedTransfer& t : migrations.transfers) {
    if (registry_.TransferTarget(t.from_app, t.from_class) != app) {
      return ErrorResponse(403, "App '" + t.from_app + "' has not allowed class '" + t.from_class +
                                    "' to be transferred to app '" + app +
                                    "' (dorm transfers allow " + t.from_class + " --to " + app +
                                    " --app " + t.from_app + ").");
    }
  }
  for (const Bound& c : classes) {
    if (migrations.storage_of.count(c.class_name) == 0) {
      // Cloudflare's refusal of the same deploy.
      return ErrorResponse(400,
                           "Cannot create binding for class '" + c.class_name +
                               "' because it is not currently configured to implement Durable "
                               "Objects. Did you forget to apply a new_sqlite_classes migration?");
    }
  }
  for (const auto& [class_name, storage] : migrations.storage_of) {
    bool bound = false;
    for (const Bound& c : classes) bound |= c.class_name == class_name;
    bool existed = false;
    for (const ExistingProjectClass& e : project_classes) existed |= e.class_name == class_name;
    if (!bound && existed) {
      return ErrorResponse(400,
                           "New version of the project does not bind class '" + class_name +
                               "', which has Durable Objects. Bind it again, or delete it and its "
                               "storage with a deleted_classes migration.");
    }
  }
  // The registry names (URL names) of the classes the migrations renamed or deleted.
  auto record_names = [&](const std::vector<std::string>& class_names) {
    std::vector<std::string> out;
    for (const ClassRecord& r : existing) {
      if (r.module_name != kProjectModuleName) continue;
      for (const std::string& c : class_names) {
        if (r.class_name == c) out.push_back(r.name);
      }
    }
    return out;
  };
  std::vector<std::string> renamed_away = record_names(migrations.renamed_away);
  std::vector<std::string> deleted = record_names(migrations.deleted);
  for (const Bound& c : classes) {
    // A URL name still held by a class that this deploy renames or deletes is free again.
    bool freed =
        std::find(renamed_away.begin(), renamed_away.end(), c.name) != renamed_away.end() ||
        std::find(deleted.begin(), deleted.end(), c.name) != deleted.end();
    for (const ClassRecord& r : existing) {
      if (r.name == c.name && r.module_name != kProjectModuleName && !freed) {
        return ErrorResponse(409, "Class '" + c.class_name + "' would take the URL name '" +
                                      c.name +
                                      "' of a class deployed on its own; delete that class first.");
      }
    }
  }

  if (existing.empty() && options_.max_apps > 0 && registry_.Apps().size() >= options_.max_apps) {
    return ErrorResponse(403, "Too many apps on this server (the limit is " +
                                  std::to_string(options_.max_apps) +
                                  "): delete an app's classes or deploy into an existing app.");
  }

  // Planning only (cluster mode, before the change is appended): a deploy that deletes or moves
  // no objects needs no validation here (it runs when the change is applied).
  if (cluster_plan_ && migrations.transfers.empty() && deleted.empty()) {
    return JsonResponse(200, json::object{});
  }

  std::vector<std::string> class_names;
  for (const Bound& c : classes) class_names.push_back(c.class_name);
  bool has_worker = false;
  std::optional<std::string> problem;
  {
    runtime::CrashAttribution::Scope running(app);
    problem =
        validator_->ValidateProject(*module_js, main, class_names, &has_worker, nodejs_compat);
  }
  if (problem) return ErrorResponse(400, *problem);

  if (cluster_plan_) {
    // The objects' rows in PostgreSQL, in the order the deploy changes the local files below.
    for (const PlannedTransfer& t : migrations.transfers) {
      cluster_plan_->push_back({t.from_app, t.from_storage,
                                runtime::ClassKeyPrefix(t.from_app, t.from_storage),
                                runtime::ClassKeyPrefix(app, t.to_storage)});
    }
    for (const ClassRecord& r : existing) {
      if (std::find(deleted.begin(), deleted.end(), r.name) != deleted.end()) {
        cluster_plan_->push_back(
            {app, r.StorageName(), runtime::ClassKeyPrefix(app, r.StorageName()), std::nullopt});
      }
    }
    return JsonResponse(200, json::object{});
  }

  const std::string now = NowIso8601();
  std::vector<ClassRecord> records;
  json::array summaries;
  for (const Bound& c : classes) {
    const std::string& storage = migrations.storage_of.at(c.class_name);
    const ClassRecord* before = nullptr;
    for (const ClassRecord& r : existing) {
      if (r.module_name == kProjectModuleName && r.StorageName() == storage) before = &r;
    }
    if (!before) {
      // A new class starts with no storage, whatever an earlier class of the same name left.
      CloseRetiredDatabases(app, storage);
      RemoveClassStorage(options_.data_dir, app, storage);
      registry_.FinishDeletion(app, storage);
    }
    records.push_back(
        ClassRecord{app, c.name, c.class_name, main, *module_js, *module_js,
                    before && !o.contains("access_mode") ? before->access_mode : access, now,
                    kProjectModuleName, c.binding, storage == c.name ? std::string() : storage, "",
                    migrations.key_value.count(c.class_name) != 0 ? "kv" : ""});
    summaries.push_back(ClassSummary(records.back()));
  }
  // The Worker's record: the default export (class name "default"; none: "") and the named
  // entrypoints its service bindings reach share the project's module.
  records.push_back(ClassRecord{app, runtime::kWorkerClassName, has_worker ? "default" : "", main,
                                *module_js, *module_js, "public", now, kProjectModuleName, "", "",
                                json::serialize(services_json), ""});
  if (runtime_.storage_quota) runtime_.storage_quota->Forget(app);
  std::vector<std::string> tags;  // the implicit creations have no tag to record
  for (const std::string& tag : migrations.new_tags) {
    if (!tag.empty()) tags.push_back(tag);
  }
  std::vector<std::string> deleted_storage =
      registry_.ApplyProject(app, records, renamed_away, deleted, tags, migrations.transfers);
  json::array var_keys;
  for (const auto& [key, value] : vars) {
    env_store_->Set(app, key, value);
    var_keys.push_back(json::string(key));
  }
  // A transferred class's objects move once the source app's instances of it are dropped, and
  // before this app can open them. The registry recorded the moves as pending with the deploy, so
  // a crash from here on is finished at the next start.
  std::set<std::string> source_apps;
  for (const PlannedTransfer& t : migrations.transfers) source_apps.insert(t.from_app);
  for (const std::string& source : source_apps) PublishApp(source);
  for (const PlannedTransfer& t : migrations.transfers) {
    MoveTransferredClass({t.from_app, t.from_storage, app, t.to_storage});
  }
  PublishApp(app);
  for (const std::string& storage : deleted_storage) {
    DeleteClassStorage(app, storage);
  }
  json::array applied;
  for (const std::string& tag : tags) applied.push_back(json::string(tag));
  Log(LogLevel::kInfo, "deployed project " + app + " (" + std::to_string(classes.size()) +
                           " classes" + (has_worker ? ", a Worker" : "") + ")");
  return JsonResponse(
      existing.empty() ? 201 : 200,
      json::object{
          {"app", app}, {"worker", has_worker}, {"classes", summaries}, {"vars", var_keys}});
}

}  // namespace dorm::control
