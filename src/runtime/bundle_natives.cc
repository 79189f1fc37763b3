// The native behind the bundles compiled only when an app first needs them (see CMakeLists.txt's
// dorm_js_lazy_bundle): HTMLRewriter's engine (js/prelude/html_rewriter.js) and the node:stream
// modules (js/runtime/node/modules.js). Every isolate compiles the prelude and the runtime; these
// cost nothing until asked for, and then only in the isolate that asked.
// Contracts: docs/contracts.md.
#include <cstring>
#include <string_view>

#include "js/strings.h"
#include "runtime/embedded_source.h"
#include "runtime/native_module.h"

namespace dorm::runtime {

extern const unsigned char kHtmlRewriterEngineSource[];
extern const std::size_t kHtmlRewriterEngineSourceSize;
extern const unsigned char kNodeStreamSource[];
extern const std::size_t kNodeStreamSourceSize;

namespace {

struct LazyBundle {
  const char* name;
  const unsigned char* source;
  const std::size_t* size;
};

const LazyBundle kLazyBundles[] = {
    {"html_rewriter_engine", kHtmlRewriterEngineSource, &kHtmlRewriterEngineSourceSize},
    {"node_stream", kNodeStreamSource, &kNodeStreamSourceSize},
};

class BundleCallbacks {
 public:
  // compileBundle(name) → function (module, exports, require): the bundle's CommonJS code compiled
  // as a function of the calling context, not yet run. Each call compiles anew: the callers keep
  // what they built. An unknown name is a TypeError.
  static void CompileBundle(const v8::FunctionCallbackInfo<v8::Value>& info) {
    v8::Isolate* isolate = info.GetIsolate();
    const LazyBundle* bundle = nullptr;
    if (info[0]->IsString()) {
      const std::string name = js::ToUtf8(isolate, info[0]);
      for (const LazyBundle& candidate : kLazyBundles) {
        if (name == candidate.name) bundle = &candidate;
      }
    }
    if (bundle == nullptr) {
      js::ThrowTypeError(isolate, "compileBundle: unknown bundle");
      return;
    }
    v8::Local<v8::Context> context = isolate->GetCurrentContext();
    const std::string origin_name = std::string("dorm:") + bundle->name;
    v8::ScriptOrigin origin(isolate, js::FromUtf8(isolate, origin_name));
    v8::ScriptCompiler::Source source(
        EmbeddedSource(isolate, reinterpret_cast<const char*>(bundle->source), *bundle->size),
        origin);
    v8::Local<v8::String> parameters[] = {js::FromUtf8(isolate, "module"),
                                          js::FromUtf8(isolate, "exports"),
                                          js::FromUtf8(isolate, "require")};
    v8::Local<v8::Function> function;
    // A syntax error here is a build defect; it propagates to the caller as the exception.
    if (!v8::ScriptCompiler::CompileFunction(context, &source, 3, parameters).ToLocal(&function)) {
      return;
    }
    info.GetReturnValue().Set(function);
  }
};

const NativeFunction kBundleNatives[] = {
    {"compileBundle", &BundleCallbacks::CompileBundle},
};

}  // namespace

std::span<const NativeFunction> BundleNatives() { return kBundleNatives; }

}  // namespace dorm::runtime
