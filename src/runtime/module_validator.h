// Checks a class module before it is deployed: compiles it and runs its top-level code in a
// scratch isolate of its own, under the server's CPU and heap limits, then applies the deploy
// rules (AppIsolate::InspectModule). The scratch isolate has no engine behind it: there are no
// objects, storage or sockets for its code to reach, timers it starts never fire, and it is
// disposed before Validate() returns, so nothing of the module reaches the serving isolates.
//
// Threading: a validator belongs to the thread that constructs it (the watchdog measures that
// thread's CPU time); Validate() must be called on that thread, one call at a time, outside any
// JavaScript turn.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "js/watchdog.h"

namespace dorm::runtime {

class AppIsolate;

class ModuleValidator {
 public:
  // Registers the calling thread with `watchdog`, whose CPU limit then bounds each module's
  // top-level code. An isolate gets `heap_limit_bytes` of heap (and as much again for
  // ArrayBuffers), as a serving isolate does. `watchdog` must outlive the validator.
  ModuleValidator(js::Watchdog& watchdog, size_t heap_limit_bytes);
  ModuleValidator(const ModuleValidator&) = delete;
  ModuleValidator& operator=(const ModuleValidator&) = delete;

  // Returns nullopt and sets `class_name` when the module may be deployed; otherwise the error to
  // show the deployer (a syntax error with its place in `filename`, a forbidden import, a throw
  // while loading, "Source must export exactly one class", or one of the limit messages below).
  // Unhandled promise rejections of the top-level code are logged, not refused. Throws
  // std::runtime_error only if the runtime's own JavaScript fails to load (a build defect).
  std::optional<std::string> Validate(const std::string& module_js, const std::string& filename,
                                      std::string* class_name);

  // The same for a project's bundled main module (AppIsolate::InspectProject). Its imports of
  // Node.js modules are refused unless `nodejs_compat` (the project's compatibility flag).
  std::optional<std::string> ValidateProject(const std::string& module_js,
                                             const std::string& filename,
                                             const std::vector<std::string>& class_names,
                                             bool* has_worker, bool nodejs_compat);

  static const char kCpuLimitMessage[];     // the top-level code ran past the CPU limit
  static const char kMemoryLimitMessage[];  // it filled the heap (or the ArrayBuffer budget)

 private:
  // Runs `inspect` on a scratch isolate under the limits, as described for Validate().
  std::optional<std::string> Check(
      const std::function<std::optional<std::string>(AppIsolate&)>& inspect,
      bool node_modules_importable);

  js::Watchdog::Slot* watchdog_slot_;
  size_t heap_limit_bytes_;
};

}  // namespace dorm::runtime
