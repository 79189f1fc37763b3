// Fuzzes the deploy-time check of a class module (ThreadEngine::ValidateModule, which runs
// AppIsolate::InspectModule in a scratch isolate under the CPU and memory limits): the input is
// the module's source, as a deploy hands it over after transpiling. The module's top-level code
// runs, so the input is hostile JavaScript as much as it is a hostile parse.
//
// Every input must end in a verdict: "" with a class name, or an error for the deployer. The
// engine is made as a runtime thread makes it, with a shorter CPU limit so that a module that
// spins is cut off well inside libFuzzer's timeout.
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "js/platform.h"
#include "js/watchdog.h"
#include "runtime/thread_engine.h"
#include "storage/sync_pool.h"

namespace {

constexpr std::chrono::milliseconds kCpuLimit{2000};

struct World {
  boost::asio::io_context io;
  dorm::runtime::RuntimeShared shared;
  std::unique_ptr<dorm::runtime::ThreadEngine> engine;
  std::string data_dir;
};
World* g;

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "module_validation_fuzzer: %s\n", what.c_str());
  std::abort();
}

void RemoveDataDir() {
  if (g && !g->data_dir.empty()) std::filesystem::remove_all(g->data_dir);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char*** argv) {
  dorm::js::InitializeV8((*argv)[0]);
  g = new World;
  char tmpl[] = "/tmp/dorm-module-fuzz-XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    std::abort();
  }
  g->data_dir = tmpl;
  std::atexit(RemoveDataDir);
  g->shared.options.data_dir = g->data_dir;
  g->shared.options.cpu_limit = kCpuLimit;
  g->shared.sync_pool = std::make_unique<dorm::storage::SyncPool>(1);
  g->shared.watchdog = std::make_unique<dorm::js::Watchdog>(kCpuLimit);
  g->engine = std::make_unique<dorm::runtime::ThreadEngine>(g->io, g->shared);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string source(reinterpret_cast<const char*>(data), size);
  std::string class_name;
  std::string verdict = g->engine->ValidateModule(source, "fuzz.js", &class_name);
  if (verdict.empty() && class_name.empty()) Fail("a module passed without a class name");
  // What the module's top level scheduled (timers, microtasks) belongs to the scratch isolate,
  // which is gone: running the loop must find nothing of it.
  g->io.poll();
  g->io.restart();
  return 0;
}
