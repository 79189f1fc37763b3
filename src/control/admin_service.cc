#include "control/admin_service.h"

#include <boost/json.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>

#include "control/admin_json.h"
#include "control/admin_path.h"
#include "control/archive_jobs.h"
#include "control/class_storage.h"
#include "control/credentials_store.h"
#include "control/env_store.h"
#include "control/object_index.h"
#include "control/registry.h"
#include "control/transpiler.h"
#include "control/usage_recorder.h"
#include "control/usage_store.h"
#include "runtime/alarm_scheduler.h"
#include "runtime/crash_attribution.h"
#include "runtime/engine_pool.h"
#include "runtime/module_validator.h"
#include "runtime/object_address.h"
#include "runtime/runtime_shared.h"
#include "storage/alarm_index.h"
#include "storage/storage_quota.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/names.h"

namespace dorm::control {

namespace json = boost::json;
using runtime::HttpRequestData;
using runtime::HttpResponseData;

namespace {

std::string HeaderValue(const HttpRequestData& r, const char* name) {
  for (const auto& [k, v] : r.headers) {
    if (strcasecmp(k.c_str(), name) == 0) return v;
  }
  return "";
}

}  // namespace

AdminService::AdminService(AdminOptions options, Registry& registry, runtime::EnginePool& pool)
    : options_(std::move(options)),
      registry_(registry),
      pool_(pool),
      runtime_(pool.shared()),
      archive_jobs_(std::make_unique<ArchiveJobs>()) {
  // What an interrupted export, import or backup left behind.
  std::error_code ec;
  std::filesystem::remove_all(options_.data_dir + "/tmp", ec);
  worker_ = std::thread([this] { Work(); });
}

AdminService::~AdminService() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void AdminService::Work() {
  // The scratch isolates that validate deploys live on this thread.
  validator_ = pool_.NewModuleValidator();
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) break;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
  validator_.reset();
}

void AdminService::Handle(const std::string& path, HttpRequestData request,
                          std::function<void(HttpResponseData)> respond) {
  std::string auth = HeaderValue(request, "authorization");
  const std::string prefix = "Bearer ";
  bool authorized = auth.size() > prefix.size() && strncasecmp(auth.c_str(), "bearer ", 7) == 0 &&
                    ConstantTimeEquals(auth.substr(prefix.size()), options_.token);
  if (!authorized && credentials_ && auth.size() > prefix.size() &&
      strncasecmp(auth.c_str(), "bearer ", 7) == 0) {
    // A service key may list, browse, export and import its own app's objects, and nothing
    // else.
    if (auto app = ServiceKeyApp(path.substr(0, path.find('?')))) {
      if (auto key = credentials_->FindKey(auth.substr(prefix.size()))) {
        if (key->app != *app) {
          respond(ErrorResponse(403, "This service key belongs to app '" + key->app +
                                         "': it may list, browse, export and import that app's "
                                         "objects only."));
          return;
        }
        authorized = true;
      }
    }
  }
  if (!authorized) {
    HttpResponseData r =
        ErrorResponse(401, auth.empty() ? "Missing admin token." : "Invalid admin token.");
    r.headers.emplace_back("www-authenticate", "Bearer realm=\"dorm-admin\"");
    respond(std::move(r));
    return;
  }
  auto shared_request = std::make_shared<HttpRequestData>(std::move(request));
  std::lock_guard<std::mutex> lock(mu_);
  jobs_.push_back([this, path, shared_request, respond = std::move(respond)] {
    HttpResponseData response;
    try {
      if (RoutedThroughLog(path, *shared_request, &response)) {
        respond(std::move(response));
        return;
      }
      if (ServeObjects(path, *shared_request, respond)) return;
      if (auto archive = ServeArchive(path, *shared_request)) {
        response = std::move(*archive);
      } else {
        response = Serve(path, *shared_request);
      }
    } catch (const std::exception& e) {
      Log(LogLevel::kError, std::string("admin request failed: ") + e.what());
      response = ErrorResponse(500, e.what());
    }
    respond(std::move(response));
  });
  cv_.notify_one();
}

HttpResponseData AdminService::Serve(const std::string& path, const HttpRequestData& request) {
  std::vector<std::string> parts = AdminPathParts(path);
  const std::string& method = request.method;
  if (parts.size() == 2 && parts[0] == "v1" && parts[1] == "health") {
    return JsonResponse(200, json::object{{"ok", true}});
  }
  if (parts.size() == 2 && parts[0] == "v1" && parts[1] == "usage") return ServeUsage(request);
  if (parts.size() >= 2 && parts[0] == "v1" && parts[1] == "cluster") {
    return ServeCluster(parts, request);
  }
  if (parts.size() == 3 && parts[0] == "v1" && parts[1] == "usage" && parts[2] == "series") {
    return ServeUsageSeries(request);
  }
  if (parts.size() == 2 && parts[0] == "v1" && parts[1] == "apps") {
    if (method != "GET") return ErrorResponse(405, "Method not allowed.");
    json::array apps;
    for (const std::string& app : registry_.Apps()) apps.push_back(json::value(app));
    return JsonResponse(200, json::object{{"apps", std::move(apps)}});
  }
  if (parts.size() == 1 && parts[0] == "metrics") return ServeMetrics(request);
  if (parts.size() >= 4 && parts[0] == "v1" && parts[1] == "apps" && parts[3] == "env") {
    return ServeEnv(parts, request);
  }
  if (parts.size() >= 4 && parts[0] == "v1" && parts[1] == "apps" &&
      (parts[3] == "auth" || parts[3] == "keys")) {
    return ServeCredentials(parts, request);
  }
  if (parts.size() >= 4 && parts[0] == "v1" && parts[1] == "apps" &&
      parts[3] == "service-callers") {
    return ServeServiceCallers(parts, request);
  }
  if (parts.size() >= 4 && parts[0] == "v1" && parts[1] == "apps" && parts[3] == "tail") {
    return ServeTail(parts, request);
  }
  if (parts.size() >= 4 && parts[0] == "v1" && parts[1] == "apps" && parts[3] == "transfers") {
    return ServeTransfers(parts, request);
  }
  if (parts.size() == 4 && parts[0] == "v1" && parts[1] == "apps" && parts[3] == "project") {
    if (!IsValidKebabName(parts[2]))
      return ErrorResponse(400, "Invalid app name '" + parts[2] + "'.");
    if (method != "POST") return ErrorResponse(405, "Method not allowed.");
    return DeployProject(parts[2], request.body);
  }
  if (parts.size() < 4 || parts[0] != "v1" || parts[1] != "apps" || parts[3] != "classes") {
    return ErrorResponse(404, "Unknown admin endpoint.");
  }
  const std::string& app = parts[2];
  if (!IsValidKebabName(app)) return ErrorResponse(400, "Invalid app name '" + app + "'.");
  if (parts.size() == 4) {
    if (method == "POST") return Deploy(app, request.body);
    if (method == "GET") {
      json::array list;
      for (const auto& r : registry_.List(app)) {
        if (r.name != runtime::kWorkerClassName) list.push_back(ClassSummary(r));
      }
      return JsonResponse(200, json::object{{"classes", list}});
    }
    return ErrorResponse(405, "Method not allowed.");
  }
  if (parts.size() != 5) return ErrorResponse(404, "Unknown admin endpoint.");
  const std::string& name = parts[4];
  if (method == "GET") {
    auto record = registry_.Get(app, name);
    if (!record)
      return ErrorResponse(404,
                           "No Durable Object class named '" + name + "' in app '" + app + "'.");
    json::object o = ClassSummary(*record);
    o["filename"] = record->filename;
    o["source"] = record->source;
    std::string last_error = registry_.LastError(app, name);
    o["last_error"] = last_error.empty() ? json::value(nullptr) : json::value(last_error);
    return JsonResponse(200, o);
  }
  if (method == "DELETE") return Delete(app, name);
  return ErrorResponse(405, "Method not allowed.");
}

HttpResponseData AdminService::Deploy(const std::string& app, const std::string& body) {
  // Deploying runs the module's top-level code: a suspended app waits like its requests.
  if (auto suspended = Suspended(app)) return std::move(*suspended);
  json::value parsed;
  boost::system::error_code ec;
  parsed = json::parse(body, ec);
  if (ec || !parsed.is_object())
    return ErrorResponse(400, "The request body must be a JSON object.");
  const json::object& o = parsed.as_object();
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) return std::nullopt;
    if (!it->value().is_string()) return std::string("\x01");
    return std::string(it->value().as_string());
  };
  auto source = text("source");
  if (!source || *source == "\x01")
    return ErrorResponse(400, "Missing \"source\": the class's code.");
  if (source->size() > options_.max_source_bytes) {
    return ErrorResponse(413, "Source is too large: " + std::to_string(source->size()) +
                                  " bytes (the limit is 5 MB).");
  }
  std::string filename = text("filename").value_or("source.ts");
  // As on the seed platform, a class is `authenticated` unless the deploy says otherwise.
  std::string access = text("access_mode").value_or("authenticated");
  if (!runtime::ParseAccessMode(access)) {
    return ErrorResponse(
        400, "Invalid access mode '" + access + "': use public, authenticated or service_key.");
  }
  TranspileResult transpiled = Transpile(*source, filename);
  if (!transpiled.ok) return ErrorResponse(400, transpiled.error);
  std::string class_name;
  std::optional<std::string> problem;
  {
    // A crash of the runtime process while the module's top level runs is this app's.
    runtime::CrashAttribution::Scope running(app);
    problem = validator_->Validate(transpiled.module_js, filename, &class_name);
  }
  if (problem) return ErrorResponse(400, *problem);
  std::string name = text("name").value_or(KebabFromPascal(class_name));
  if (!IsValidKebabName(name)) {
    return ErrorResponse(400,
                         "Invalid name '" + name +
                             "': use kebab-case (lowercase letters, digits and single hyphens, "
                             "starting with a letter, at most 63 characters).");
  }
  if (env_store_ && env_store_->Has(app, BindingNameFromKebab(name))) {
    return ErrorResponse(409, "The binding name " + BindingNameFromKebab(name) + " of class '" +
                                  name + "' collides with an env var of app '" + app +
                                  "': unset the env var or deploy under another name.");
  }
  auto existing = registry_.List(app);
  bool replacing = false;
  for (const auto& r : existing) {
    if (r.name != name) continue;
    replacing = true;
    if (!r.module_name.empty()) {
      return ErrorResponse(409, "Class '" + name +
                                    "' belongs to the app's Wrangler project: deploy the "
                                    "project (dorm deploy DIR) to change it.");
    }
  }
  if (!replacing && existing.size() >= options_.max_classes_per_app) {
    return ErrorResponse(400, "Too many DO classes for one app (the limit is " +
                                  std::to_string(options_.max_classes_per_app) + ").");
  }
  if (existing.empty() && options_.max_apps > 0 && registry_.Apps().size() >= options_.max_apps) {
    return ErrorResponse(403, "Too many apps on this server (the limit is " +
                                  std::to_string(options_.max_apps) +
                                  "): delete an app's classes or deploy into an existing app.");
  }
  if (!replacing) {
    // A new class starts with no storage, whatever an earlier class of the same name (whose
    // deletion may have been interrupted) left behind.
    CloseRetiredDatabases(app, name);
    RemoveClassStorage(options_.data_dir, app, name);
    registry_.FinishDeletion(app, name);
    if (runtime_.storage_quota) runtime_.storage_quota->Forget(app);
  }
  ClassRecord record{app,    name,         class_name, filename, *source, transpiled.module_js,
                     access, NowIso8601(), "",         "",       "",      "",
                     ""};
  registry_.Upsert(record);
  PublishApp(app);
  Log(LogLevel::kInfo, "deployed " + app + "/" + name + " (class " + class_name + ")");
  return JsonResponse(replacing ? 200 : 201, ClassSummary(record));
}

HttpResponseData AdminService::Delete(const std::string& app, const std::string& name) {
  std::optional<std::string> storage = registry_.Remove(app, name);
  if (!storage) {
    return ErrorResponse(404, "No Durable Object class named '" + name + "' in app '" + app + "'.");
  }
  PublishApp(app);
  DeleteClassStorage(app, *storage);
  Log(LogLevel::kInfo, "deleted " + app + "/" + name + " and its storage");
  return JsonResponse(200, json::object{{"deleted", true}, {"name", name}, {"app", app}});
}

std::optional<HttpResponseData> AdminService::Suspended(const std::string& app) const {
  // A change of the cluster's log was accepted where it was made.
  if (replaying_ || runtime_.quarantine.empty()) return std::nullopt;
  const int64_t now_ms = runtime::AppQuarantine::NowMs();
  int64_t until = runtime_.quarantine.Until(app, now_ms);
  if (!until) return std::nullopt;
  HttpResponseData suspended =
      ErrorResponse(503, runtime::AppQuarantine::Message(app, until, now_ms));
  suspended.headers.emplace_back(
      "retry-after", std::to_string(runtime::AppQuarantine::SecondsLeft(until, now_ms)));
  return suspended;
}

void AdminService::DeleteClassStorage(const std::string& app, const std::string& storage_name) {
  if (alarm_scheduler_) alarm_scheduler_->ForgetClass(app, storage_name);
  if (alarm_index_) alarm_index_->RemoveClass(app, storage_name);
  if (usage_ && usage_store_) {
    // The objects just closed report their last sizes; then the class has no storage left.
    usage_->Refresh();
    usage_store_->ForgetStorage(app, storage_name);
  }
  if (object_index_) object_index_->ForgetClass(app, storage_name);
  // Every instance is gone from memory now; its storage can go too. The registry recorded the
  // deletion with the removal, so a crash from here on is finished at the next start.
  CloseRetiredDatabases(app, storage_name);
  RemoveClassStorage(options_.data_dir, app, storage_name);
  registry_.FinishDeletion(app, storage_name);
  if (runtime_.storage_quota) runtime_.storage_quota->Forget(app);
}

void AdminService::CloseRetiredDatabases(const std::string& app, const std::string& storage_name) {
  if (!runtime_.database_closer) return;
  runtime_.database_closer->CloseNowUnder(
      runtime::ClassStoragePath(options_.data_dir, app, storage_name) + "/");
}

void AdminService::MoveTransferredClass(const ClassMove& move) {
  if (alarm_scheduler_) alarm_scheduler_->ForgetClass(move.from_app, move.from_storage);
  CloseRetiredDatabases(move.from_app, move.from_storage);
  CloseRetiredDatabases(move.to_app, move.to_storage);
  MoveClassStorage(options_.data_dir, move.from_app, move.from_storage, move.to_app,
                   move.to_storage);
  if (alarm_index_) {
    alarm_index_->MoveClass(move.from_app, move.from_storage, move.to_app, move.to_storage);
  }
  if (object_index_) {
    object_index_->MoveClass(move.from_app, move.from_storage, move.to_app, move.to_storage);
  }
  registry_.FinishMove(move.from_app, move.from_storage);
  if (alarm_scheduler_) alarm_scheduler_->ReloadSoon();
  if (runtime_.storage_quota) {
    runtime_.storage_quota->Forget(move.from_app);
    runtime_.storage_quota->Forget(move.to_app);
  }
}

void AdminService::PublishApp(const std::string& app) {
  runtime_.catalog.Set(
      app, registry_.CatalogEntries(app),
      WithNodeVars(env_store_ ? env_store_->Values(app) : runtime::EnvVars{}, options_.node_vars),
      registry_.ServiceCallers(app));
  pool_.RefreshApp(app);
}

}  // namespace dorm::control
