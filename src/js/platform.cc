#include "js/platform.h"

#include <libplatform/libplatform.h>
#include <v8.h>

#include <cstdlib>
#include <memory>

namespace dorm::js {
namespace {
std::unique_ptr<v8::Platform> g_platform;
}

void InitializeV8(const char* argv0) {
  if (g_platform) return;
  v8::V8::InitializeICUDefaultLocation(argv0);
  // Two background threads suffice for GC and compilation on small machines; user code cannot
  // create threads, so more would only compete with the event loops.
  g_platform = v8::platform::NewDefaultPlatform(2);
  v8::V8::InitializePlatform(g_platform.get());
  // For diagnosis only (e.g. DORM_V8_FLAGS=--perf-basic-prof to name JIT code in `perf`).
  if (const char* flags = std::getenv("DORM_V8_FLAGS")) v8::V8::SetFlagsFromString(flags);
  v8::V8::Initialize();
}

int RunForegroundTasks(v8::Isolate* isolate, int max_tasks) {
  int ran = 0;
  while (ran < max_tasks && !isolate->IsExecutionTerminating() &&
         v8::platform::PumpMessageLoop(g_platform.get(), isolate,
                                       v8::platform::MessageLoopBehavior::kDoNotWait)) {
    ++ran;
  }
  return ran;
}

void ForgetIsolate(v8::Isolate* isolate) {
  if (g_platform) v8::platform::NotifyIsolateShutdown(g_platform.get(), isolate);
}

void ShutdownV8() {
  if (!g_platform) return;
  v8::V8::Dispose();
  v8::V8::DisposePlatform();
  g_platform.reset();
}

}  // namespace dorm::js
