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
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/access_mode.h"

namespace dorm::runtime {

// The URL-less name under which an app's Worker (its project module's default export) is
// deployed as a class: no kebab-case name starts with '_', so no `/_do/` URL reaches it.
inline constexpr char kWorkerClassName[] = "_worker";

// Whether `class_name` is the Worker's default entrypoint (kWorkerClassName) or a named one
// ("_worker:<Entrypoint>"): stateless, served wherever it is called. Pure.
inline bool IsWorkerEntrypoint(std::string_view class_name) {
  constexpr std::string_view worker = kWorkerClassName;
  return class_name.substr(0, worker.size()) == worker &&
         (class_name.size() == worker.size() || class_name[worker.size()] == ':');
}

// Cluster mode: the name of the instance `instance` ("thread-N", "service") of a Worker entrypoint
// on node `node`: "<instance>@<node>". A Worker runs on the node that calls it, so a stub of a
// function or RpcTarget it exports names the node whose instance holds it (net/peer_call.h). Pure.
inline std::string WorkerInstanceOnNode(std::string_view instance, std::string_view node) {
  std::string name(instance);
  name += '@';
  name += node;
  return name;
}

// The node a Worker entrypoint's instance name names (WorkerInstanceOnNode), or "" if none (a
// node-less name, as outside a cluster). Pure.
inline std::string_view WorkerInstanceNode(std::string_view instance) {
  const size_t at = instance.find('@');
  return at == std::string_view::npos ? std::string_view() : instance.substr(at + 1);
}

// A service binding of a project (`services` in Wrangler's configuration) to one of its own
// Worker's entrypoints or to another app's: `env[binding]` calls the entrypoint by fetch() and RPC.
struct ServiceBinding {
  std::string binding;
  std::string entrypoint;  // a named export; empty: the default export
  std::string app;         // the app whose Worker it reaches; empty: the binding's own
};

struct DeployedClass {
  // The class's name inside the runtime: its objects' addresses, ids and storage. The kebab-case
  // name it was created with (a rename changes url_name only), or kWorkerClassName.
  std::string name;
  std::string class_name;  // exported JS class name ("default" for the Worker)
  std::string module_js;   // the ES module, TypeScript already stripped
  // Checked by the network layer before a request reaches an object; fails closed by default.
  AccessMode access_mode = AccessMode::kAuthenticated;
  // Classes with the same non-empty module name share one instance of their module (a project's
  // bundle: its Worker and classes see the same module state); empty: the class has its own.
  std::string module_name;
  // The class's namespace in `env`; empty: the UPPER_SNAKE form of `name` (BindingNameFromKebab).
  std::string binding;
  // The name in `/_do/<url_name>/<id>` URLs; empty: `name`.
  std::string url_name;
  // For the Worker (kWorkerClassName): the project's service bindings to itself.
  std::vector<ServiceBinding> services;
  // False for a class created by a Wrangler `new_classes` migration: its objects have the
  // key-value API only (`ctx.storage.sql` and `.kv` fail with Cloudflare's messages).
  bool sql_enabled = true;

  const std::string& UrlName() const { return url_name.empty() ? name : url_name; }
};

// An app's env vars (key, plaintext value), sorted by key.
using EnvVars = std::vector<std::pair<std::string, std::string>>;

// A value of EnvVars that starts with this prefix is JSON text that `env` holds parsed (a
// Wrangler var that is a number, boolean, array or object); any other value is a string.
inline constexpr char kJsonEnvValuePrefix[] = "\0json\0";
inline constexpr size_t kJsonEnvValuePrefixSize = 6;

struct AppCode {
  std::string app;
  uint64_t generation = 0;
  std::vector<DeployedClass> classes;
  EnvVars env;  // what every class of the app reads as `env.KEY`
  // The other apps whose service bindings may call this app's Worker, sorted.
  std::vector<std::string> service_callers;
  // Whether the app's code may import the Node.js modules of the nodejs_compat flag (see
  // AppIsolate::IsNodeModule). Serving isolates leave it on: a module that imports them passed
  // the deploy check, which turns it off for a project deployed without the flag.
  bool node_modules_importable = true;

  const DeployedClass* Find(const std::string& name) const;
  // Find() also takes "_worker:<Entrypoint>": a named entrypoint of the project's module, which is
  // the Worker's record.
  // The class that `/_do/<url_name>/...` reaches, or nullptr.
  const DeployedClass* FindByUrlName(const std::string& url_name) const;
  // Whether the app has a Worker (kWorkerClassName with a default export) to serve requests
  // outside `/_do/`.
  bool HasWorker() const {
    const DeployedClass* worker = Find(kWorkerClassName);
    return worker && worker->class_name == "default";
  }
  // The project's service bindings (its Worker's), or nothing.
  const std::vector<ServiceBinding>& Services() const;
};

class ClassCatalog {
 public:
  ClassCatalog();

  // nullptr if the app has no classes. Each thread remembers the app it read last (not keeping
  // its code alive), which serves the next read of that app without the mutex until the next
  // Set(): a request reads its app's code several times, on the network front and the object's
  // thread.
  std::shared_ptr<const AppCode> Get(const std::string& app) const;
  // Replaces the app's classes and env vars; an empty class list removes the app. Returns the
  // new generation.
  uint64_t Set(const std::string& app, std::vector<DeployedClass> classes, EnvVars env = {},
               std::vector<std::string> service_callers = {});
  // How many apps have classes. Lock-free.
  size_t AppCount() const { return app_count_.load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mu_;
  uint64_t next_generation_ = 1;
  std::map<std::string, std::shared_ptr<const AppCode>> apps_;
  std::atomic<size_t> app_count_{0};  // apps_.size(), updated under mu_
  const uint64_t id_;                 // this catalog among the process's, for the threads' memory
  std::atomic<uint64_t> version_{0};  // raised under mu_ by every Set()
};

}  // namespace dorm::runtime
