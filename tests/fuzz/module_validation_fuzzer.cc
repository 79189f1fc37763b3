// Fuzzes the deploy-time check of a class module (runtime::ModuleValidator, which runs
// AppIsolate::InspectModule in a scratch isolate under the CPU and memory limits): the input is
// the module's source, as a deploy hands it over after transpiling. The module's top-level code
// runs, so the input is hostile JavaScript as much as it is a hostile parse.
//
// Every input must end in a verdict: "" with a class name, or an error for the deployer. The
// validator is made as the admin service makes it, with a shorter CPU limit so that a module that
// spins is cut off well inside libFuzzer's timeout.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "js/platform.h"
#include "js/watchdog.h"
#include "runtime/module_validator.h"
#include "runtime/options.h"

namespace {

constexpr std::chrono::milliseconds kCpuLimit{2000};

struct World {
  std::unique_ptr<dorm::js::Watchdog> watchdog;
  std::unique_ptr<dorm::runtime::ModuleValidator> validator;
};
World* g;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "module_validation_fuzzer: %s\n", what.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char*** argv) {
  dorm::js::InitializeV8((*argv)[0]);
  g = new World;
  g->watchdog = std::make_unique<dorm::js::Watchdog>(kCpuLimit);
  g->validator = std::make_unique<dorm::runtime::ModuleValidator>(
      *g->watchdog, dorm::runtime::RuntimeOptions().heap_limit_bytes);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string source(reinterpret_cast<const char*>(data), size);
  std::string class_name;
  std::optional<std::string> verdict = g->validator->Validate(source, "fuzz.js", &class_name);
  if (!verdict && class_name.empty()) Fail("a module passed without a class name");
  return 0;
}
