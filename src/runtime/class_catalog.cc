#include "runtime/class_catalog.h"

namespace dorm::runtime {

const DeployedClass* AppCode::Find(const std::string& name) const {
  for (const auto& c : classes) {
    if (c.name == name) return &c;
  }
  // "_worker:<Entrypoint>": a named entrypoint of the Worker's module.
  const std::string prefix = std::string(kWorkerClassName) + ":";
  if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0) {
    return Find(kWorkerClassName);
  }
  return nullptr;
}

const std::vector<ServiceBinding>& AppCode::Services() const {
  static const std::vector<ServiceBinding> kNone;
  const DeployedClass* worker = Find(kWorkerClassName);
  return worker ? worker->services : kNone;
}

const DeployedClass* AppCode::FindByUrlName(const std::string& url_name) const {
  for (const auto& c : classes) {
    if (c.UrlName() == url_name && c.name != kWorkerClassName) return &c;
  }
  return nullptr;
}

namespace {

std::atomic<uint64_t> next_catalog_id{1};

// The app a thread read last, from which catalog at which version. A weak pointer: a thread that
// goes quiet does not keep replaced code in memory.
struct LastRead {
  uint64_t catalog = 0;
  uint64_t version = 0;
  std::string app;
  std::weak_ptr<const AppCode> code;
};
thread_local LastRead last_read;

}  // namespace

ClassCatalog::ClassCatalog() : id_(next_catalog_id.fetch_add(1, std::memory_order_relaxed)) {}

std::shared_ptr<const AppCode> ClassCatalog::Get(const std::string& app) const {
  // Read before the map: a Set() after this read makes the version stale, so that what is
  // remembered below is read again next time.
  const uint64_t version = version_.load(std::memory_order_acquire);
  LastRead& last = last_read;
  if (last.catalog == id_ && last.version == version && last.app == app) {
    if (std::shared_ptr<const AppCode> code = last.code.lock()) return code;
  }
  std::shared_ptr<const AppCode> code;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = apps_.find(app);
    if (it != apps_.end()) code = it->second;
  }
  if (code) {  // an app without classes is not remembered: it is read under the mutex each time
    last.catalog = id_;
    last.version = version;
    last.app = app;
    last.code = code;
  }
  return code;
}

uint64_t ClassCatalog::Set(const std::string& app, std::vector<DeployedClass> classes, EnvVars env,
                           std::vector<std::string> service_callers) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t generation = next_generation_++;
  if (classes.empty()) {
    apps_.erase(app);
  } else {
    auto code = std::make_shared<AppCode>();
    code->app = app;
    code->generation = generation;
    code->classes = std::move(classes);
    code->env = std::move(env);
    code->service_callers = std::move(service_callers);
    apps_[app] = std::move(code);
  }
  app_count_.store(apps_.size(), std::memory_order_relaxed);
  version_.fetch_add(1, std::memory_order_release);
  return generation;
}

}  // namespace dorm::runtime
