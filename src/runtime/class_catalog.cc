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

std::shared_ptr<const AppCode> ClassCatalog::Get(const std::string& app) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = apps_.find(app);
  return it == apps_.end() ? nullptr : it->second;
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
  return generation;
}

}  // namespace dorm::runtime
