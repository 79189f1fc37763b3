// The code deployed for every app, as the runtime threads see it.
//
// Thread-safe: the control plane replaces an app's code; runtime threads take snapshots. A
// snapshot never changes; a new deploy makes a new snapshot with a higher generation, which tells
// runtime threads to reload the app.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "runtime/access_mode.h"

namespace dorm::runtime {

struct DeployedClass {
  std::string name;        // kebab-case URL name
  std::string class_name;  // exported JS class name
  std::string module_js;   // the ES module, TypeScript already stripped
  // Checked by the network layer before a request reaches an object; fails closed by default.
  AccessMode access_mode = AccessMode::kAuthenticated;
};

// An app's env vars (key, plaintext value), sorted by key.
using EnvVars = std::vector<std::pair<std::string, std::string>>;

struct AppCode {
  std::string app;
  uint64_t generation = 0;
  std::vector<DeployedClass> classes;
  EnvVars env;  // what every class of the app reads as `env.KEY`

  const DeployedClass* Find(const std::string& name) const;
};

class ClassCatalog {
 public:
  // nullptr if the app has no classes.
  std::shared_ptr<const AppCode> Get(const std::string& app) const;
  // Replaces the app's classes and env vars; an empty class list removes the app. Returns the
  // new generation.
  uint64_t Set(const std::string& app, std::vector<DeployedClass> classes, EnvVars env = {});
  // How many apps have classes. Lock-free.
  size_t AppCount() const { return app_count_.load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mu_;
  uint64_t next_generation_ = 1;
  std::map<std::string, std::shared_ptr<const AppCode>> apps_;
  std::atomic<size_t> app_count_{0};  // apps_.size(), updated under mu_
};

}  // namespace dorm::runtime
